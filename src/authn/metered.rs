//! [`Metered`]: a backend wrapped so that every call's latency and result are counted, and its
//! last state kept for `/readyz`. The chain wraps each of its backends in one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Authenticator, AuthnError, Lookup, Outcome, Trace};
use crate::metrics::{BackendResult, Metrics};
use crate::secret::Secret;

/// A backend whose calls are recorded in [`Metrics`].
pub struct Metered {
    /// The backend.
    inner: Arc<dyn Authenticator>,
    /// Where its calls are recorded.
    metrics: Arc<Metrics>,
}

impl Metered {
    /// Wraps `inner`, registering it with `metrics` (state unknown until its first call).
    pub fn new(inner: Arc<dyn Authenticator>, metrics: Arc<Metrics>) -> Self {
        metrics.register_backend(inner.name());
        Self { inner, metrics }
    }

    fn record(&self, outcome: &Result<Outcome, AuthnError>, elapsed: Duration) {
        let result = match outcome {
            Ok(Outcome::Authenticated(_)) => BackendResult::Authenticated,
            Ok(Outcome::Denied) => BackendResult::Denied,
            Ok(Outcome::UnknownUser) => BackendResult::UnknownUser,
            Err(_) => BackendResult::Unavailable,
        };
        self.metrics.record_backend_call(self.inner.name(), result, elapsed);
    }
}

#[async_trait]
impl Authenticator for Metered {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        let started = Instant::now();
        let outcome = self.inner.authenticate(user, password).await;
        self.record(&outcome, started.elapsed());
        outcome
    }

    fn supports_lookup(&self) -> bool {
        self.inner.supports_lookup()
    }

    /// The re-check of a refresh token, counted like a login: found as `authenticated`, gone
    /// as `unknown_user`, an outage as `unavailable` (a backend without lookups is not called).
    async fn lookup(&self, name: &str) -> Result<Lookup, AuthnError> {
        let started = Instant::now();
        let lookup = self.inner.lookup(name).await;
        let outcome = match &lookup {
            Ok(Lookup::NotSupported) => return lookup,
            Ok(Lookup::Found(identity)) => Ok(Outcome::Authenticated(identity.clone())),
            Ok(Lookup::Gone) => Ok(Outcome::UnknownUser),
            Err(error) => Err(error.clone()),
        };
        self.record(&outcome, started.elapsed());
        lookup
    }

    fn cache_ttl(&self) -> Duration {
        self.inner.cache_ttl()
    }

    fn generation(&self) -> u64 {
        self.inner.generation()
    }

    async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<Outcome, AuthnError> {
        let started = Instant::now();
        let outcome = self.inner.authenticate_traced(user, password, trace).await;
        self.record(&outcome, started.elapsed());
        outcome
    }
}
