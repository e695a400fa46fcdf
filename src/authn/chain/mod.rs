//! The ordered backend chain: ownership of names, coalesced and cached outcomes, and an even
//! answer time for failed logins.
//!
//! - **Order and outages.** An unknown user falls through to the next backend, a wrong password
//!   stops the chain, an unavailable backend is skipped. When no backend authenticates the user
//!   and one was unavailable, the outage is the answer (503): the password may not be wrong.
//! - **Ownership.** A backend owns a name when every backend before it answered "no such user".
//!   A user authenticated after an earlier backend was unavailable is that backend's user but not
//!   proven to own the name ([`Verified::owns_name`] is false): policies give it `user:BACKEND/NAME`
//!   grants, never `user:NAME` or `${user}` ones (which belong to the owner, who may be the user
//!   of the unavailable backend).
//! - **Coalescing.** Simultaneous logins with the same user and password share one run of the
//!   chain (one bcrypt, one LDAP bind); the run goes on while any of them waits.
//! - **Outcome cache.** A successful run in which no backend was unavailable is cached under an
//!   HMAC of user, password and the asked backends' data generations, for the smallest
//!   [`Authenticator::cache_ttl`] of the backends asked (zero: not cached). Failures never are.
//! - **Timing.** A failed login (wrong password or unknown user) answers no sooner than the
//!   chain's failure floor after the request started: a running average of how long failures
//!   that went through every backend took, so which backend knew the user does not show.

mod floor;
mod inflight;
mod lookup;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::time::Instant;

use self::floor::FailureFloor;
use self::inflight::InFlight;
pub use self::lookup::ChainLookup;
use self::lookup::{LookupCache, lookup_cache};
use super::cache::CredentialCache;
use super::{Authenticator, AuthnError, Identity, Metered, Outcome, Trace};
use crate::metrics::{CacheResult, Metrics};
use crate::secret::Secret;

/// The most chain outcomes cached at once.
const CACHE_CAPACITY: usize = 10_000;

/// A user the chain authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who the backend says the user is ([`Identity::backend`] names the backend).
    pub identity: Identity,
    /// True when every earlier backend answered "no such user" (none was unavailable), so the
    /// name is proven to be this backend's.
    pub owns_name: bool,
}

/// What the chain concluded about a username and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainOutcome {
    /// A backend accepted the password.
    Authenticated(Verified),
    /// The first backend knowing the user refused the password.
    Denied {
        /// That backend's name.
        backend: String,
    },
    /// No backend knows the user.
    UnknownUser,
}

impl ChainOutcome {
    /// True for a wrong password or an unknown user.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Denied { .. } | Self::UnknownUser)
    }
}

/// The result of one run of the chain.
type RunResult = Result<ChainOutcome, AuthnError>;

/// A cached successful run.
#[derive(Debug, Clone)]
struct CachedOutcome {
    /// What the run concluded.
    verified: Verified,
    /// How long it may be used: the smallest cache TTL of the backends asked.
    ttl: Duration,
}

/// The configured backends, asked in order.
#[derive(Clone)]
pub struct Chain {
    /// The backends and the chain's shared state.
    inner: Arc<Inner>,
}

/// What every clone of a [`Chain`] shares.
struct Inner {
    /// The backends, in order.
    backends: Vec<Arc<dyn Authenticator>>,
    /// Recent successful outcomes.
    cache: CredentialCache<CachedOutcome>,
    /// The runs in progress, by credentials.
    inflight: InFlight<RunResult>,
    /// How long a failed login takes at least.
    floor: FailureFloor,
    /// Recent answers of [`Authenticator::lookup`], for refresh tokens.
    lookups: LookupCache,
    /// Where cache hits and misses are counted, when metered.
    metrics: Option<Arc<Metrics>>,
}

impl Chain {
    /// A chain asking `backends` in order.
    pub fn new(backends: Vec<Arc<dyn Authenticator>>) -> Self {
        Self::build(backends, None)
    }

    /// Like [`Chain::new`], each backend wrapped in a [`Metered`] and the outcome cache's hits
    /// and misses counted in `metrics`.
    pub fn metered(backends: Vec<Arc<dyn Authenticator>>, metrics: Arc<Metrics>) -> Self {
        let backends = backends
            .into_iter()
            .map(|backend| Arc::new(Metered::new(backend, metrics.clone())) as Arc<dyn Authenticator>)
            .collect();
        Self::build(backends, Some(metrics))
    }

    fn build(backends: Vec<Arc<dyn Authenticator>>, metrics: Option<Arc<Metrics>>) -> Self {
        let longest = backends.iter().map(|backend| backend.cache_ttl()).max().unwrap_or_default();
        let capacity = if longest.is_zero() { 0 } else { CACHE_CAPACITY };
        let inner = Inner {
            backends,
            cache: CredentialCache::new(longest, capacity),
            inflight: InFlight::default(),
            floor: FailureFloor::default(),
            lookups: lookup_cache(longest),
            metrics,
        };
        Self { inner: Arc::new(inner) }
    }

    /// Authenticates `user`: from the outcome cache, by joining a run with the same credentials
    /// in progress, or by asking each backend in turn (see the module documentation). A failure
    /// answers no sooner than the failure floor after the call.
    pub async fn authenticate(&self, user: &str, password: &Secret) -> Result<ChainOutcome, AuthnError> {
        let started = Instant::now();
        let generations = self.inner.generations();
        let cached = self.inner.cached(user, password, &generations, started);
        self.inner.record_cache(cached.is_some());
        if let Some(verified) = cached {
            return Ok(ChainOutcome::Authenticated(verified));
        }
        let result = match self.inner.cache.key_for(user, password, &generations) {
            Some(key) => {
                let inner = Arc::clone(&self.inner);
                let (user, password) = (user.to_owned(), password.clone());
                let run = async move {
                    let result = inner.run_and_remember(&user, &password, &generations).await;
                    inner.inflight.finish(&key);
                    result
                };
                self.inner.inflight.join(key, || run.boxed()).await
            }
            None => self.inner.run_and_remember(user, password, &generations).await,
        };
        if matches!(&result, Ok(outcome) if outcome.is_failure()) {
            tokio::time::sleep_until(started + self.inner.floor.current()).await;
        }
        result
    }

    /// Like [`Chain::authenticate`] without the cache, coalescing or failure floor, recording
    /// every backend's steps in `trace` (for `regent authn test`).
    pub async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<ChainOutcome, AuthnError> {
        self.inner.run(user, password, Some(trace)).await.result
    }

    /// The backends' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.inner.backends.iter().map(|b| b.name()).collect()
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// One run of the chain and what it tells about caching and timing.
struct RunReport {
    /// What the chain concluded.
    result: RunResult,
    /// How many backends were asked.
    asked: usize,
    /// Whether some backend was unavailable.
    outage: bool,
}

impl Inner {
    /// Every backend's data generation, as the cache key's context.
    fn generations(&self) -> String {
        let generations: Vec<String> = self.backends.iter().map(|b| b.generation().to_string()).collect();
        generations.join(".")
    }

    /// Counts a lookup in the outcome cache (none when the cache is off).
    fn record_cache(&self, hit: bool) {
        if let Some(metrics) = self.metrics.as_ref().filter(|_| self.cache.is_enabled()) {
            metrics.record_cache(if hit { CacheResult::Hit } else { CacheResult::Miss });
        }
    }

    /// The cached outcome for these credentials, if younger than its TTL.
    fn cached(&self, user: &str, password: &Secret, generations: &str, now: Instant) -> Option<Verified> {
        let (cached, age) = self.cache.get_with_age(user, password, generations, now.into_std())?;
        (age < cached.ttl).then_some(cached.verified)
    }

    /// Runs the chain, caches a clean success and feeds the failure floor.
    async fn run_and_remember(&self, user: &str, password: &Secret, generations: &str) -> RunResult {
        let started = Instant::now();
        let report = self.run(user, password, None).await;
        match &report.result {
            Ok(ChainOutcome::Authenticated(verified)) if !report.outage => {
                let ttl = self.backends[..report.asked].iter().map(|b| b.cache_ttl()).min();
                if let Some(ttl) = ttl.filter(|ttl| !ttl.is_zero()) {
                    let cached = CachedOutcome { verified: verified.clone(), ttl };
                    self.cache.insert(user, password, generations, cached, started.into_std());
                }
            }
            Ok(outcome) if outcome.is_failure() && report.asked == self.backends.len() => {
                self.floor.observe(started.elapsed());
            }
            _ => {}
        }
        report.result
    }

    /// Asks each backend in turn (see the module documentation).
    async fn run(&self, user: &str, password: &Secret, mut trace: Option<&mut Trace>) -> RunReport {
        let mut outage = None;
        for (index, backend) in self.backends.iter().enumerate() {
            let outcome = match trace.as_deref_mut() {
                Some(trace) => backend.authenticate_traced(user, password, trace).await,
                None => backend.authenticate(user, password).await,
            };
            let result = match outcome {
                Ok(Outcome::UnknownUser) => continue,
                Ok(Outcome::Authenticated(identity)) => {
                    Ok(ChainOutcome::Authenticated(Verified { identity, owns_name: outage.is_none() }))
                }
                // A wrong password stops the chain, unless an earlier backend that might know
                // the user could not be asked: then the password may not be wrong at all.
                Ok(Outcome::Denied) => outage
                    .clone()
                    .map_or_else(|| Ok(ChainOutcome::Denied { backend: backend.name().to_owned() }), Err),
                Err(err) => {
                    tracing::warn!(backend = backend.name(), error = %err, "authentication backend unavailable");
                    outage.get_or_insert(err);
                    continue;
                }
            };
            return RunReport { result, asked: index + 1, outage: outage.is_some() };
        }
        let result = outage.clone().map_or(Ok(ChainOutcome::UnknownUser), Err);
        RunReport { result, asked: self.backends.len(), outage: outage.is_some() }
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("backends", &self.names()).finish_non_exhaustive()
    }
}
