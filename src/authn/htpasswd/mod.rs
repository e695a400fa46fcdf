//! The htpasswd backend: Apache htpasswd users (bcrypt; legacy `{SHA}`/`$apr1$` with a warning)
//! and an optional `AuthGroupFile` for groups. Both files reload when they change on disk.
//!
//! Verified passwords are remembered for a short while ([`CredentialCache`], keyed with the
//! user's stored hash so a changed entry misses); groups are looked up on every request, so a
//! group file change applies at once. bcrypt runs on the blocking pool, a bounded number at a
//! time with a bounded wait for a slot ([`BcryptLimits`]), and an unknown user costs the same
//! bcrypt work as a known one. A file holding a bcrypt cost above the limit does not load.

mod error;
mod file;
mod groups;
mod hash;
pub(crate) mod replace;
mod slots;
mod write;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_refusals;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

pub use self::error::HtpasswdError;
use self::file::UserFile;
pub use self::file::parse_htpasswd;
use self::groups::GroupFile;
pub use self::groups::parse_groups;
use self::hash::StoredHash;
use self::slots::{BcryptSlots, SlotError};
pub use self::write::{delete_user, set_password, with_entry, without_user};
use crate::authn::cache::CredentialCache;
use crate::authn::{Authenticator, AuthnError, Identity, Lookup, Outcome};
use crate::config::{DEFAULT_MAX_BCRYPT_COST, DEFAULT_VERIFY_QUEUE_TIMEOUT};
use crate::reload::Reloadable;
use crate::secret::Secret;

/// The most verified identities the backend remembers at once.
const CACHE_CAPACITY: usize = 10_000;

/// Bounds on the bcrypt work logins can cause (`max_bcrypt_cost`, `verify_queue_timeout`).
///
/// A running bcrypt cannot be stopped, even when its client has gone: `max_cost` is what bounds
/// how long it holds its slot (cost 14 is about a second of one core, cost 31 about a day and a
/// half). `queue_timeout` bounds the wait for a slot; a request dropped while waiting never runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BcryptLimits {
    /// The highest bcrypt cost the file may hold; a user above it fails the load (`file:line`).
    pub max_cost: u32,
    /// How long a login waits for a free verification slot before it is an outage (503).
    pub queue_timeout: Duration,
}

impl Default for BcryptLimits {
    fn default() -> Self {
        Self { max_cost: DEFAULT_MAX_BCRYPT_COST, queue_timeout: DEFAULT_VERIFY_QUEUE_TIMEOUT }
    }
}

/// Users from an htpasswd file, groups from an optional group file.
#[derive(Debug)]
pub struct HtpasswdBackend {
    /// The configured backend name (reported in [`Identity::backend`]).
    name: String,
    /// The users, reloaded when the file changes.
    users: Arc<Reloadable<UserFile>>,
    /// The groups, reloaded when the file changes.
    groups: Option<Arc<Reloadable<GroupFile>>>,
    /// Recently verified passwords.
    cache: CredentialCache,
    /// Runs bcrypt verifications, a bounded number at once.
    bcrypt: BcryptSlots,
    /// Bumped on every successful load of either file ([`Authenticator::generation`]).
    generation: Arc<AtomicU64>,
}

impl HtpasswdBackend {
    /// Loads the htpasswd file and the optional group file; errors name `file:line`. Verified
    /// passwords are cached for `cache_ttl` (zero disables the cache).
    pub fn open(
        name: &str,
        file: PathBuf,
        groups: Option<PathBuf>,
        cache_ttl: Duration,
        limits: BcryptLimits,
    ) -> Result<Self, HtpasswdError> {
        let generation = Arc::new(AtomicU64::new(0));
        let users_path = file.clone();
        let loaded = Arc::clone(&generation);
        let users = Reloadable::new(&format!("htpasswd {}", file.display()), vec![file], move || {
            UserFile::load(&users_path, limits.max_cost).inspect(|_| bump(&loaded))
        })?;
        let groups = match groups {
            Some(path) => {
                let groups_path = path.clone();
                let label = format!("groups {}", path.display());
                let loaded = Arc::clone(&generation);
                let load = move || GroupFile::load(&groups_path).inspect(|_| bump(&loaded));
                Some(Reloadable::new(&label, vec![path], load)?)
            }
            None => None,
        };
        let parallelism = std::thread::available_parallelism().map_or(1, usize::from);
        let capacity = if cache_ttl.is_zero() { 0 } else { CACHE_CAPACITY };
        Ok(Self {
            name: name.to_owned(),
            users,
            groups,
            cache: CredentialCache::new(cache_ttl, capacity),
            bcrypt: BcryptSlots::new(parallelism, limits.queue_timeout),
            generation,
        })
    }

    /// Starts the tasks polling both files every `interval` (call inside the tokio runtime);
    /// they end when the backend is dropped.
    pub fn spawn_watchers(&self, interval: Duration) {
        self.users.spawn_watcher(interval);
        if let Some(groups) = &self.groups {
            groups.spawn_watcher(interval);
        }
    }

    /// Tells `observer` of every reload of either file.
    pub fn set_reload_observer(&self, observer: crate::reload::ReloadObserver) {
        self.users.set_observer(observer.clone());
        if let Some(groups) = &self.groups {
            groups.set_observer(observer);
        }
    }

    /// Reloads whichever file changed on disk now; returns whether anything was swapped in.
    pub fn reload_now(&self) -> bool {
        let users = self.users.reload_now();
        let groups = self.groups.as_ref().is_some_and(|groups| groups.reload_now());
        users || groups
    }

    /// The users whose hash is a legacy scheme (`{SHA}`, `$apr1$`), sorted.
    pub fn weak_hash_users(&self) -> Vec<String> {
        self.users.get().weak_hash_users()
    }

    /// How many bcrypt verifications started so far (dummy ones for unknown users included;
    /// logins dropped before their bcrypt started are not counted: they never ran one).
    pub fn bcrypt_verifications(&self) -> u64 {
        self.bcrypt.runs()
    }

    /// `identity` with the user's groups from the current group file.
    fn with_groups(&self, mut identity: Identity) -> Identity {
        identity.groups = match &self.groups {
            Some(groups) => groups.get().groups_of(&identity.name),
            None => Vec::new(),
        };
        identity
    }

    /// Checks `password` against `hash`; bcrypt runs on the blocking pool, bounded.
    async fn verify(&self, hash: &StoredHash, password: &Secret) -> Result<bool, AuthnError> {
        if !hash.can_match(password.expose().as_bytes()) {
            // Over 72 bytes against bcrypt: refused, not verified by its first 72 bytes.
            return Ok(false);
        }
        if hash.bcrypt_cost().is_none() {
            // The legacy schemes are cheap (one SHA-1, or 1000 MD5 rounds).
            return Ok(hash.verify(password.expose().as_bytes()));
        }
        self.bcrypt.verify(hash, password).await.map_err(|error: SlotError| {
            tracing::warn!(backend = %self.name, "{error}: answering as an outage");
            AuthnError::Unavailable { backend: self.name.clone(), reason: error.to_string() }
        })
    }
}

/// Counts one more load of a backend file.
fn bump(generation: &AtomicU64) {
    generation.fetch_add(1, Ordering::Relaxed);
}

#[async_trait]
impl Authenticator for HtpasswdBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn cache_ttl(&self) -> Duration {
        self.cache.ttl()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    fn supports_lookup(&self) -> bool {
        true
    }

    /// The user is found while the current file has them; groups from the current group file.
    async fn lookup(&self, name: &str) -> Result<Lookup, AuthnError> {
        if self.users.get().get(name).is_none() {
            return Ok(Lookup::Gone);
        }
        let identity = Identity::person(self.name.clone(), name, Vec::new());
        Ok(Lookup::Found(self.with_groups(identity)))
    }

    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        if password.is_empty() {
            // Refused before any hashing, even when the stored hash is of "".
            return Ok(Outcome::Denied);
        }
        let users = self.users.get();
        let Some(stored) = users.get(user) else {
            // Spend the same bcrypt work as for a known user, so timing does not tell.
            self.verify(users.dummy(), password).await?;
            return Ok(Outcome::UnknownUser);
        };
        let context = stored.fingerprint();
        let now = Instant::now();
        if let Some(identity) = self.cache.get(user, password, &context, now) {
            return Ok(Outcome::Authenticated(self.with_groups(identity)));
        }
        if !self.verify(stored, password).await? {
            return Ok(Outcome::Denied);
        }
        let identity = Identity::person(self.name.clone(), user, Vec::new());
        self.cache.insert(user, password, &context, identity.clone(), now);
        Ok(Outcome::Authenticated(self.with_groups(identity)))
    }
}
