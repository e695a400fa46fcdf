//! The htpasswd backend: Apache htpasswd users (bcrypt; legacy `{SHA}`/`$apr1$` with a warning)
//! and an optional `AuthGroupFile` for groups. Both files reload when they change on disk.
//!
//! Verified passwords are remembered for a short while ([`CredentialCache`], keyed with the
//! user's stored hash so a changed entry misses); groups are looked up on every request, so a
//! group file change applies at once. bcrypt runs on the blocking pool, a bounded number at a
//! time, and an unknown user costs the same bcrypt work as a known one.

mod error;
mod file;
mod groups;
mod hash;
mod write;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Semaphore;

pub use self::error::HtpasswdError;
use self::file::UserFile;
use self::groups::GroupFile;
use self::hash::StoredHash;
pub use self::write::{delete_user, set_password};
use crate::authn::cache::CredentialCache;
use crate::authn::{Authenticator, AuthnError, Identity, Outcome};
use crate::reload::Reloadable;
use crate::secret::Secret;

/// The most verified identities the backend remembers at once.
const CACHE_CAPACITY: usize = 10_000;

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
    /// Bounds how many bcrypt verifications run at once.
    bcrypt_slots: Arc<Semaphore>,
    /// How many bcrypt verifications ran (dummy ones included).
    bcrypt_runs: AtomicU64,
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
    ) -> Result<Self, HtpasswdError> {
        let generation = Arc::new(AtomicU64::new(0));
        let users_path = file.clone();
        let loaded = Arc::clone(&generation);
        let users = Reloadable::new(&format!("htpasswd {}", file.display()), vec![file], move || {
            UserFile::load(&users_path).inspect(|_| bump(&loaded))
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
            bcrypt_slots: Arc::new(Semaphore::new(parallelism)),
            bcrypt_runs: AtomicU64::new(0),
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

    /// How many bcrypt verifications ran so far (dummy ones for unknown users included).
    pub fn bcrypt_verifications(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
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
        if hash.bcrypt_cost().is_none() {
            // The legacy schemes are cheap (one SHA-1, or 1000 MD5 rounds).
            return Ok(hash.verify(password.expose().as_bytes()));
        }
        let permit =
            Arc::clone(&self.bcrypt_slots).acquire_owned().await.map_err(|err| self.unavailable(&err))?;
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        let (hash, password) = (hash.clone(), password.clone());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash.verify(password.expose().as_bytes())
        })
        .await
        .map_err(|err| self.unavailable(&err))
    }

    fn unavailable(&self, err: &dyn std::fmt::Display) -> AuthnError {
        AuthnError::Unavailable {
            backend: self.name.clone(),
            reason: format!("password verification failed: {err}"),
        }
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

    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
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
        let identity = Identity { backend: self.name.clone(), name: user.to_owned(), groups: Vec::new() };
        self.cache.insert(user, password, &context, identity.clone(), now);
        Ok(Outcome::Authenticated(self.with_groups(identity)))
    }
}
