//! Brute-force protection of the token endpoint: failed logins are counted per user and client
//! address, per address and per user ([`counters`] has the scheme); answers to repeated failures
//! are slowed, and beyond the thresholds logins are refused with `429` and `Retry-After` before
//! any password is checked.
//!
//! Only wrong passwords and unknown users count: a backend outage never does, and correct
//! passwords never do however many arrive at once (a compose file pulling 20 images). A correct
//! password is refused only while its user and address pair, or its address, is locked out, or
//! while its user is locked out and the address never logged in as the user. The growing delay
//! replaces the chain's failure floor rather than adding to it: a failed answer takes the longer
//! of the two, counted from the start of the login.

pub mod counters;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use tokio::time::Instant;

use self::counters::{FailureCounters, client_key};
use super::ApiError;
use crate::authn::{AuthnError, ChainOutcome};
use crate::config::LockoutConfig;
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::untrusted::Escaped;

/// The failure counters of the process, and where lockouts are counted.
pub struct Lockout {
    /// The counters; `None` while `[lockout] enabled = false`.
    counters: Mutex<Option<FailureCounters>>,
    /// The per-process key of the guesses' fingerprints (HMAC-SHA256 of user and password).
    key: Option<hmac::Key>,
    /// Where started lockouts are counted.
    metrics: Arc<Metrics>,
}

impl Lockout {
    /// Counters with `config`'s thresholds (none when it is disabled).
    pub fn new(config: LockoutConfig, metrics: Arc<Metrics>) -> Self {
        let counters = Mutex::new(config.enabled.then(|| FailureCounters::new(config)));
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).ok();
        Self { counters, key, metrics }
    }

    /// Applies a changed `[lockout]`: new thresholds count on from what is counted (no lockout
    /// under way is lifted or started by it); turning it off forgets everything.
    pub fn reconfigure(&self, config: LockoutConfig) {
        let mut counters = lock(&self.counters);
        match (config.enabled, counters.as_mut()) {
            (false, _) => *counters = None,
            (true, Some(counting)) => counting.set_config(config),
            (true, None) => *counters = Some(FailureCounters::new(config)),
        }
    }

    /// A fingerprint of `user`'s `password` under the per-process key; never zero. Without
    /// randomness every password of a user shares one (each failure then counts).
    fn guess(&self, user: &str, password: &Secret) -> u64 {
        let Some(key) = &self.key else {
            return 1;
        };
        let mut context = hmac::Context::with_key(key);
        context.update(user.as_bytes());
        context.update(&[0]);
        context.update(password.expose().as_bytes());
        let tag = context.sign();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&tag.as_ref()[..8]);
        u64::from_le_bytes(bytes).max(1)
    }

    /// Runs `login` (the chain's authentication of `user` with `password`) unless `user` or `client` is locked
    /// out, then counts its outcome and slows a failure's answer as the counters say. Logins
    /// without a client address (in-process calls) are not counted. The inner result is the
    /// chain's; the outer error is the `429`.
    pub async fn guard<F>(
        &self,
        client: Option<IpAddr>,
        user: &str,
        password: &Secret,
        login: F,
    ) -> Result<Result<ChainOutcome, AuthnError>, ApiError>
    where
        F: Future<Output = Result<ChainOutcome, AuthnError>>,
    {
        let Some(client) = client.map(client_key) else {
            return Ok(login.await);
        };
        let started = Instant::now();
        let checked =
            lock(&self.counters).as_ref().map(|counters| counters.check(user, client, started.into_std()));
        let Some(locked) = checked else {
            return Ok(login.await);
        };
        if let Some(locked) = locked {
            let retry_after =
                locked.retry_after.as_secs().max(1) + u64::from(locked.retry_after.subsec_nanos() > 0);
            let scope = locked.scope.as_str();
            tracing::info!(%client, user = %Escaped(user), scope, retry_after, "login refused: locked out");
            return Err(ApiError::TooManyRequests { retry_after });
        }
        let result = login.await;
        match &result {
            Ok(ChainOutcome::Authenticated(_)) => {
                if let Some(counters) = lock(&self.counters).as_mut() {
                    counters.succeed(user, client, Instant::now().into_std());
                }
            }
            Ok(_) => {
                let guess = self.guess(user, password);
                let now = Instant::now().into_std();
                let failure = lock(&self.counters)
                    .as_mut()
                    .map(|counters| counters.fail(user, client, guess, now))
                    .unwrap_or_default();
                for scope in &failure.started {
                    let scope_name = scope.as_str();
                    tracing::warn!(%client, user = %Escaped(user), scope = scope_name, "lockout: too many failed logins");
                    self.metrics.record_lockout(*scope);
                }
                tokio::time::sleep_until(started + failure.delay).await;
            }
            // An outage says nothing about the password: never counted.
            Err(_) => {}
        }
        Ok(result)
    }
}

impl std::fmt::Debug for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lockout").field("enabled", &lock(&self.counters).is_some()).finish_non_exhaustive()
    }
}

fn lock(counters: &Mutex<Option<FailureCounters>>) -> MutexGuard<'_, Option<FailureCounters>> {
    counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
