//! [`IdentityCache`]: the [`CredentialCache`] of fresh identities plus, with `max_stale`, a
//! longer-lived one consulted only while the backend is unreachable.

use std::time::{Duration, Instant};

use crate::authn::Identity;
use crate::authn::cache::CredentialCache;
use crate::secret::Secret;

/// The most identities held by each cache.
const CAPACITY: usize = 10_000;

/// Fresh identities for `cache_ttl`, and stale ones for `max_stale` during outages.
#[derive(Debug)]
pub(super) struct IdentityCache {
    /// Identities verified less than `cache_ttl` ago (answered without asking the backend).
    fresh: CredentialCache,
    /// Identities verified less than `max_stale` ago (answered only when the backend is down).
    stale: Option<CredentialCache>,
}

impl IdentityCache {
    /// Caches for `cache_ttl` (zero: no fresh cache) and `max_stale` (`None`: no stale use).
    pub(super) fn new(cache_ttl: Duration, max_stale: Option<Duration>) -> Self {
        let fresh_capacity = if cache_ttl.is_zero() { 0 } else { CAPACITY };
        let stale = max_stale.filter(|age| !age.is_zero()).map(|age| CredentialCache::new(age, CAPACITY));
        Self { fresh: CredentialCache::new(cache_ttl, fresh_capacity), stale }
    }

    /// The identity verified for this user and password less than `cache_ttl` before `now`.
    pub(super) fn fresh(
        &self,
        user: &str,
        password: &Secret,
        context: &str,
        now: Instant,
    ) -> Option<Identity> {
        self.fresh.get(user, password, context, now)
    }

    /// The identity verified less than `max_stale` before `now` (for use during an outage).
    pub(super) fn stale(
        &self,
        user: &str,
        password: &Secret,
        context: &str,
        now: Instant,
    ) -> Option<Identity> {
        self.stale.as_ref()?.get(user, password, context, now)
    }

    /// Remembers a successful verification (failures are never cached).
    pub(super) fn insert(
        &self,
        user: &str,
        password: &Secret,
        context: &str,
        identity: &Identity,
        now: Instant,
    ) {
        self.fresh.insert(user, password, context, identity.clone(), now);
        if let Some(stale) = &self.stale {
            stale.insert(user, password, context, identity.clone(), now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::person("api", "alice", vec!["dev".into()])
    }

    #[test]
    fn fresh_then_stale_then_gone() {
        let cache = IdentityCache::new(Duration::from_secs(60), Some(Duration::from_secs(600)));
        let t0 = Instant::now();
        let pw = Secret::new("pw");
        cache.insert("alice", &pw, "u", &identity(), t0);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(cache.fresh("alice", &pw, "u", at(59)), Some(identity()));
        assert_eq!(cache.fresh("alice", &pw, "u", at(60)), None);
        assert_eq!(cache.stale("alice", &pw, "u", at(599)), Some(identity()));
        assert_eq!(cache.stale("alice", &pw, "u", at(600)), None);
        assert_eq!(cache.stale("alice", &Secret::new("other"), "u", at(1)), None);
    }

    #[test]
    fn without_max_stale_nothing_is_served_stale() {
        let cache = IdentityCache::new(Duration::from_secs(60), None);
        let now = Instant::now();
        let pw = Secret::new("pw");
        cache.insert("alice", &pw, "u", &identity(), now);
        assert_eq!(cache.stale("alice", &pw, "u", now), None);
        let off = IdentityCache::new(Duration::ZERO, Some(Duration::from_secs(60)));
        off.insert("alice", &pw, "u", &identity(), now);
        assert_eq!(off.fresh("alice", &pw, "u", now), None, "cache_ttl 0 disables the fresh cache");
        assert_eq!(off.stale("alice", &pw, "u", now), Some(identity()));
    }
}
