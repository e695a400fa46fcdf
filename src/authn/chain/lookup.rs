//! [`Chain::lookup`]: re-checking a user without a password, for a refresh token.
//!
//! The backend that authenticated the user is asked whether the name is still there (groups
//! re-read). Ownership is re-checked the way a login proves it: the name stays owned only if
//! the login proved it and every earlier backend still says "no such user" (a backend that
//! cannot look names up keeps the answer it gave at login). Answers are cached per backend and
//! name for that backend's `cache_ttl`, keyed with its data generation, so a refresh normally
//! costs no backend round trip and a reloaded file applies at once.

use std::time::Duration;

use tokio::time::Instant;

use super::{Chain, Inner, Verified};
use crate::authn::cache::CredentialCache;
use crate::authn::{Authenticator, AuthnError, Lookup, Trace};
use crate::secret::Secret;

/// The most lookups cached at once.
pub(super) const LOOKUP_CACHE_CAPACITY: usize = 10_000;

/// What the chain concluded about a refresh token's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainLookup {
    /// Still there: the identity as it is now, and whether the backend still owns the name.
    Found(Verified),
    /// Deleted, disabled, or the backend is no longer configured.
    Gone,
    /// The backend cannot re-check users without a password.
    NotSupported,
}

/// A cache of backend lookups (the password slot of the key is empty).
pub(super) type LookupCache = CredentialCache<Lookup>;

/// A new lookup cache holding answers up to `longest`.
pub(super) fn lookup_cache(longest: Duration) -> LookupCache {
    let capacity = if longest.is_zero() { 0 } else { LOOKUP_CACHE_CAPACITY };
    CredentialCache::new(longest, capacity)
}

impl Chain {
    /// Whether the backend named `backend` can re-check users (so refresh tokens may be issued
    /// to its users).
    pub fn supports_lookup(&self, backend: &str) -> bool {
        self.inner.backends.iter().any(|b| b.name() == backend && b.supports_lookup())
    }

    /// Re-checks `name` in `backend` (see the module documentation); `owned` is whether the
    /// login proved the backend owns the name. An outage of `backend` is an error.
    pub async fn lookup(&self, backend: &str, name: &str, owned: bool) -> Result<ChainLookup, AuthnError> {
        let Some(index) = self.inner.backends.iter().position(|b| b.name() == backend) else {
            return Ok(ChainLookup::Gone);
        };
        let identity = match self.inner.lookup_cached(index, name).await? {
            Lookup::Found(identity) => identity,
            Lookup::Gone => return Ok(ChainLookup::Gone),
            Lookup::NotSupported => return Ok(ChainLookup::NotSupported),
        };
        let mut owns_name = owned;
        for earlier in 0..index {
            if !owns_name {
                break;
            }
            owns_name = match self.inner.lookup_cached(earlier, name).await {
                Ok(Lookup::Gone | Lookup::NotSupported) => true,
                Ok(Lookup::Found(_)) => false,
                Err(error) => {
                    tracing::warn!(%error, "authentication backend unavailable during a refresh");
                    false
                }
            };
        }
        Ok(ChainLookup::Found(Verified { identity, owns_name }))
    }
}

impl Chain {
    /// Finds the backend `name` belongs to without a password (for `regent policy explain
    /// --user`): each backend in turn is asked to look the name up, as a login asks them in
    /// turn; the first that knows it wins, owning the name unless an earlier backend was
    /// unavailable. Every answer is a step in `trace`; none when no backend knows the name.
    pub async fn find_user(&self, name: &str, trace: &mut Trace) -> Option<Verified> {
        let mut owns_name = true;
        for backend in &self.inner.backends {
            let backend_name = backend.name();
            match backend.lookup(name).await {
                Ok(Lookup::Found(identity)) => {
                    trace.step(format!(
                        "{backend_name}: found {:?}, groups {:?}",
                        identity.name, identity.groups
                    ));
                    return Some(Verified { identity, owns_name });
                }
                Ok(Lookup::Gone) => trace.step(format!("{backend_name}: no such user")),
                Ok(Lookup::NotSupported) => {
                    trace.step(format!("{backend_name}: cannot look users up without a password (skipped)"));
                }
                Err(error) => {
                    trace.step(format!("{backend_name}: unavailable: {error}"));
                    owns_name = false;
                }
            }
        }
        None
    }
}

impl Inner {
    /// Backend `index`'s answer for `name`, from the cache when younger than its `cache_ttl`.
    async fn lookup_cached(&self, index: usize, name: &str) -> Result<Lookup, AuthnError> {
        let backend: &dyn Authenticator = self.backends[index].as_ref();
        let context = format!("{index}.{}", backend.generation());
        let empty = Secret::new("");
        let now = Instant::now().into_std();
        if let Some((cached, age)) = self.lookups.get_with_age(name, &empty, &context, now)
            && age < backend.cache_ttl()
        {
            return Ok(cached);
        }
        let generation = backend.generation();
        let answer = backend.lookup(name).await?;
        // An answer read while the data changed (or from a stale cache) is not kept.
        if generation == backend.generation() && !backend.cache_ttl().is_zero() {
            self.lookups.insert(name, &empty, &context, answer.clone(), now);
        }
        Ok(answer)
    }
}
