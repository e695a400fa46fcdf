//! The access-token backend (`kind = "tokens"`): personal tokens and robot accounts, used
//! wherever a password is (Basic on `/token`, the password grant, `docker login`, kubelet
//! pull secrets).
//!
//! A password that does not look like an access token ([`credential::parse`]) is "no such user"
//! at once, so password logins go on to the next backends. A token is found by the id it
//! carries and checked by its SHA-256 in constant time; a missing id is compared with a dummy
//! hash, so both take the same few microseconds. The user name must be the owner's (personal)
//! or the robot's name. A personal token speaks for its owner as the owner's backend knows
//! them now ([`Authenticator::lookup`] of the other backends, in order): an owner gone from
//! every backend makes it fail; a backend that cannot look users up leaves the token working
//! until it expires or is revoked. Every token's grant is at most its scopes ([`Ceiling`]).

pub mod credential;
mod error;
pub mod last_used;
pub mod store;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

pub use self::error::TokensError;
use self::last_used::{FLUSH_INTERVAL, LastUsed, sidecar_path};
use self::store::{LoadedToken, TokenFile, TokenSubject};
use crate::authn::{Authenticator, AuthnError, Identity, Lookup, Outcome};
use crate::clock::Clock;
use crate::reload::Reloadable;
use crate::secret::Secret;
use crate::subject::Ceiling;

/// What a missing id is compared with (the hash of nothing a token can be).
const DUMMY_HASH: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Access tokens from the tokens file, owners re-checked in the other backends.
pub struct TokensBackend {
    /// The configured backend name.
    name: String,
    /// The tokens file.
    path: PathBuf,
    /// The tokens, reloaded when the file changes.
    tokens: Arc<Reloadable<TokenFile>>,
    /// The backends personal tokens' owners are looked up in, in order.
    owners: Vec<Arc<dyn Authenticator>>,
    /// Reads the time (expiry, last use).
    clock: Arc<dyn Clock>,
    /// Last-used times not yet written out.
    last_used: Arc<LastUsed>,
    /// Bumped on every load of the file.
    generation: Arc<AtomicU64>,
}

impl TokensBackend {
    /// Loads the tokens file at `path` (missing: no tokens yet); personal tokens' owners are
    /// looked up in `owners`.
    pub fn open(
        name: &str,
        path: PathBuf,
        owners: Vec<Arc<dyn Authenticator>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, TokensError> {
        let generation = Arc::new(AtomicU64::new(0));
        let (file, loaded) = (path.clone(), Arc::clone(&generation));
        let load = move || {
            TokenFile::load(&file).inspect(|_| {
                loaded.fetch_add(1, Ordering::Relaxed);
            })
        };
        let tokens = Reloadable::new(&format!("tokens {}", path.display()), vec![path.clone()], load)?;
        let last_used = Arc::default();
        Ok(Self { name: name.to_owned(), path, tokens, owners, clock, last_used, generation })
    }

    /// Starts the file watcher and the task writing last-used times (inside the tokio
    /// runtime); both end when the backend is dropped.
    pub fn spawn_watchers(&self, interval: Duration) {
        self.tokens.spawn_watcher(interval);
        let last_used = Arc::downgrade(&self.last_used);
        let sidecar = sidecar_path(&self.path);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FLUSH_INTERVAL);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(last_used) = last_used.upgrade() else { break };
                let sidecar = sidecar.clone();
                let _ = tokio::task::spawn_blocking(move || last_used.flush(&sidecar)).await;
            }
        });
    }

    /// Tells `observer` of every reload of the file.
    pub fn set_reload_observer(&self, observer: crate::reload::ReloadObserver) {
        self.tokens.set_observer(observer);
    }

    /// Reloads the file now if it changed; returns whether it was swapped in.
    pub fn reload_now(&self) -> bool {
        self.tokens.reload_now()
    }

    /// Writes the pending last-used times now.
    pub fn flush_last_used(&self) {
        self.last_used.flush(&sidecar_path(&self.path));
    }

    /// Who a verified token speaks for, or `None` when it must be refused (logged).
    async fn identity(&self, user: &str, token: &LoadedToken) -> Result<Option<Identity>, AuthnError> {
        let id = &token.record.id;
        let now = self.clock.now().unix_timestamp();
        if token.record.expires.is_some_and(|expires| now >= expires) {
            tracing::info!(backend = %self.name, token = %id, "access token expired");
            return Ok(None);
        }
        if user != token.subject.name() {
            tracing::info!(backend = %self.name, token = %id, "user name does not match the access token's {}", token.subject);
            return Ok(None);
        }
        let ceiling: Ceiling = token.ceiling.clone();
        let identity = match &token.subject {
            TokenSubject::Robot(name) => Identity::robot(self.name.clone(), name, Vec::new()),
            TokenSubject::Owner(name) => match self.owner(name).await? {
                Some(identity) => identity,
                None => {
                    tracing::info!(backend = %self.name, token = %id, "the access token's owner is gone");
                    return Ok(None);
                }
            },
        };
        self.last_used.touch(id, now);
        Ok(Some(identity.with_ceiling(ceiling)))
    }

    /// The owner `name` as the first backend knowing them says (groups as they are now);
    /// `None` when every backend says gone; a person of this backend when none can look up.
    async fn owner(&self, name: &str) -> Result<Option<Identity>, AuthnError> {
        let mut unsupported = false;
        for backend in &self.owners {
            match backend.lookup(name).await? {
                Lookup::Found(identity) => return Ok(Some(identity)),
                Lookup::Gone => {}
                Lookup::NotSupported => unsupported = true,
            }
        }
        Ok(unsupported.then(|| Identity::person(self.name.clone(), name, Vec::new())))
    }
}

impl std::fmt::Debug for TokensBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokensBackend")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authenticator for TokensBackend {
    fn name(&self) -> &str {
        &self.name
    }

    /// The smallest cache TTL of the owners' backends: an owner removed there, or a token
    /// revoked here (a new generation), stops working within it.
    fn cache_ttl(&self) -> Duration {
        self.owners.iter().map(|backend| backend.cache_ttl()).min().unwrap_or_default()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        let Some(parsed) = credential::parse(password.expose()) else {
            return Ok(Outcome::UnknownUser);
        };
        let tokens = self.tokens.get();
        let found = tokens.get(parsed.id).filter(|token| token.subject.kind() == parsed.kind);
        let stored = found.map_or(DUMMY_HASH, |token| token.record.hash.as_str());
        let matched = credential::matches(password.expose(), stored);
        let Some(token) = found else {
            return Ok(Outcome::UnknownUser);
        };
        if !matched {
            return Ok(Outcome::Denied);
        }
        Ok(match self.identity(user, token).await? {
            Some(identity) => Outcome::Authenticated(identity),
            None => Outcome::Denied,
        })
    }
}
