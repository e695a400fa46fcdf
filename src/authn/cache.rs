//! A short-lived cache of verified identities, keyed by a salted hash of user and password.
//!
//! It holds identities (or, for the backend chain, its outcomes), never tokens, and never the
//! password itself: the key is an HMAC-SHA256 (under a random per-process key) of the user, the
//! password and a context string. The htpasswd backend passes the user's stored hash as the
//! context, so a changed entry misses by construction; the chain passes its backends' data
//! generations.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;

use crate::authn::Identity;
use crate::secret::Secret;

/// An HMAC-SHA256 tag: the cache key.
pub(crate) type CacheKey = [u8; 32];

/// A bounded cache of identities (or other values `V`) whose password was verified recently.
pub struct CredentialCache<V = Identity> {
    /// The per-process HMAC key; `None` when the random generator failed (caching disabled).
    key: Option<hmac::Key>,
    /// How long an entry stays valid after it was inserted.
    ttl: Duration,
    /// The most entries held at once.
    capacity: usize,
    /// The entries by key.
    entries: Mutex<HashMap<CacheKey, CachedEntry<V>>>,
}

/// One cached verification.
struct CachedEntry<V> {
    /// The user name it was verified for (checked on lookup, used by `remove_user`).
    user: String,
    /// What the backend said.
    value: V,
    /// When it was inserted.
    inserted: Instant,
}

impl<V: Clone> CredentialCache<V> {
    /// Whether anything is ever cached (a capacity above zero).
    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// A cache keeping at most `capacity` identities for `ttl` each.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new());
        if key.is_err() {
            tracing::error!("no randomness for the credential cache key: caching disabled");
        }
        Self { key: key.ok(), ttl, capacity, entries: Mutex::new(HashMap::new()) }
    }

    /// The identity cached for this user, password and context, if inserted less than the TTL
    /// before `now`.
    pub fn get(&self, user: &str, password: &Secret, extra: &str, now: Instant) -> Option<V> {
        self.get_with_age(user, password, extra, now).map(|(value, _age)| value)
    }

    /// Like [`CredentialCache::get`], also returning how old the entry is; a backend that keeps
    /// entries past its freshness limit (for `max_stale`) decides itself what age it accepts.
    pub fn get_with_age(
        &self,
        user: &str,
        password: &Secret,
        extra: &str,
        now: Instant,
    ) -> Option<(V, Duration)> {
        let key = self.key_for(user, password, extra)?;
        let mut entries = self.lock();
        let entry = entries.get(&key)?;
        if entry.user != user {
            return None;
        }
        if self.is_expired(entry, now) {
            entries.remove(&key);
            return None;
        }
        Some((entry.value.clone(), now.saturating_duration_since(entry.inserted)))
    }

    /// Caches `identity` for this user, password and context from `now` on.
    pub fn insert(&self, user: &str, password: &Secret, extra: &str, value: V, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        let Some(key) = self.key_for(user, password, extra) else {
            return;
        };
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, entry| !self.is_expired(entry, now));
        }
        while entries.len() >= self.capacity && !entries.contains_key(&key) {
            let oldest = entries.iter().min_by_key(|(_, entry)| entry.inserted).map(|(key, _)| *key);
            match oldest {
                Some(oldest) => entries.remove(&oldest),
                None => break,
            };
        }
        let entry = CachedEntry { user: user.to_owned(), value, inserted: now };
        entries.insert(key, entry);
    }

    /// Forgets the entry for this user, password and context (the backend now refuses them).
    pub fn remove(&self, user: &str, password: &Secret, extra: &str) {
        if let Some(key) = self.key_for(user, password, extra) {
            self.lock().remove(&key);
        }
    }

    /// Forgets every entry for `user` (e.g. after its password was changed).
    pub fn remove_user(&self, user: &str) {
        self.lock().retain(|_, entry| entry.user != user);
    }

    /// How many entries are held (expired ones included until evicted).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How long an entry stays valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The HMAC of this user, password and context under the per-process key (`None` when
    /// caching is disabled for want of randomness): the key of an entry, never the password.
    pub(crate) fn key_for(&self, user: &str, password: &Secret, extra: &str) -> Option<CacheKey> {
        let mut context = hmac::Context::with_key(self.key.as_ref()?);
        context.update(user.as_bytes());
        context.update(&[0]);
        context.update(password.expose().as_bytes());
        context.update(&[0]);
        context.update(extra.as_bytes());
        context.sign().as_ref().try_into().ok()
    }

    fn is_expired(&self, entry: &CachedEntry<V>, now: Instant) -> bool {
        now.saturating_duration_since(entry.inserted) >= self.ttl
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, CachedEntry<V>>> {
        // The map is consistent after any panic (single inserts and removes): keep using it.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<V: Clone> std::fmt::Debug for CredentialCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str) -> Identity {
        Identity::person("file", name, vec![])
    }

    fn pw(s: &str) -> Secret {
        Secret::new(s)
    }

    #[test]
    fn hit_after_insert() {
        let cache = CredentialCache::new(Duration::from_secs(30), 10);
        let now = Instant::now();
        cache.insert("alice", &pw("s3cret"), "$2y$hash", identity("alice"), now);
        assert_eq!(cache.get("alice", &pw("s3cret"), "$2y$hash", now), Some(identity("alice")));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn misses() {
        let cache = CredentialCache::new(Duration::from_secs(30), 10);
        let now = Instant::now();
        cache.insert("alice", &pw("s3cret"), "h1", identity("alice"), now);
        let cases = [
            ("alice", "wrong", "h1", "wrong password"),
            ("alice", "s3cret", "h2", "changed entry"),
            ("bob", "s3cret", "h1", "other user"),
            ("alice", "s3cre", "th1", "separator shift"),
        ];
        for (user, password, extra, why) in cases {
            assert_eq!(cache.get(user, &pw(password), extra, now), None, "{why}");
        }
    }

    #[test]
    fn get_with_age_reports_the_age_until_expiry() {
        let cache = CredentialCache::new(Duration::from_secs(30), 10);
        let t0 = Instant::now();
        cache.insert("alice", &pw("p"), "", identity("alice"), t0);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(
            cache.get_with_age("alice", &pw("p"), "", at(0)),
            Some((identity("alice"), Duration::ZERO))
        );
        assert_eq!(
            cache.get_with_age("alice", &pw("p"), "", at(29)),
            Some((identity("alice"), Duration::from_secs(29)))
        );
        assert_eq!(cache.get_with_age("alice", &pw("wrong"), "", at(1)), None);
        assert_eq!(cache.get_with_age("alice", &pw("p"), "", at(30)), None);
        assert!(cache.is_empty(), "an expired entry is dropped when found");
    }

    #[test]
    fn entries_expire() {
        let cache = CredentialCache::new(Duration::from_secs(30), 10);
        let t0 = Instant::now();
        cache.insert("alice", &pw("p"), "h", identity("alice"), t0);
        assert!(cache.get("alice", &pw("p"), "h", t0 + Duration::from_secs(29)).is_some());
        assert!(cache.get("alice", &pw("p"), "h", t0 + Duration::from_secs(30)).is_none());
        assert_eq!(cache.len(), 0, "an expired entry is dropped when found");
    }

    #[test]
    fn capacity_is_bounded_evicting_expired_then_oldest() {
        let cache = CredentialCache::new(Duration::from_secs(30), 3);
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        cache.insert("a", &pw("p"), "h", identity("a"), at(0));
        cache.insert("b", &pw("p"), "h", identity("b"), at(10));
        cache.insert("c", &pw("p"), "h", identity("c"), at(15));
        // Full: the oldest ("a") goes.
        cache.insert("d", &pw("p"), "h", identity("d"), at(21));
        assert_eq!(cache.len(), 3);
        assert!(cache.get("a", &pw("p"), "h", at(21)).is_none());
        assert!(cache.get("b", &pw("p"), "h", at(21)).is_some());
        // At 46 "b" (10) and "c" (15) have expired: both go, "d" (21) stays.
        cache.insert("e", &pw("p"), "h", identity("e"), at(46));
        assert_eq!(cache.len(), 2);
        assert!(cache.get("d", &pw("p"), "h", at(46)).is_some());
        assert!(cache.get("e", &pw("p"), "h", at(46)).is_some());
        // Re-inserting an existing key does not evict anything.
        cache.insert("e", &pw("p"), "h", identity("e"), at(47));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let cache = CredentialCache::new(Duration::from_secs(30), 0);
        let now = Instant::now();
        cache.insert("a", &pw("p"), "h", identity("a"), now);
        assert!(cache.is_empty());
        assert!(cache.get("a", &pw("p"), "h", now).is_none());
    }

    #[test]
    fn remove_user_forgets_only_that_user() {
        let cache = CredentialCache::new(Duration::from_secs(30), 10);
        let now = Instant::now();
        cache.insert("alice", &pw("p1"), "h", identity("alice"), now);
        cache.insert("alice", &pw("p2"), "h", identity("alice"), now);
        cache.insert("bob", &pw("p"), "h", identity("bob"), now);
        cache.remove_user("alice");
        assert_eq!(cache.len(), 1);
        assert!(cache.get("bob", &pw("p"), "h", now).is_some());
    }

    #[test]
    fn remove_forgets_only_that_password() {
        let cache = CredentialCache::new(Duration::from_secs(30), 10);
        let now = Instant::now();
        cache.insert("alice", &pw("old"), "", identity("alice"), now);
        cache.insert("alice", &pw("new"), "", identity("alice"), now);
        cache.remove("alice", &pw("old"), "");
        assert!(cache.get("alice", &pw("old"), "", now).is_none());
        assert!(cache.get("alice", &pw("new"), "", now).is_some());
        cache.remove("bob", &pw("new"), "");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn debug_does_not_show_entries() {
        let cache = CredentialCache::new(Duration::from_secs(30), 10);
        cache.insert("alice", &pw("hunter2"), "h", identity("alice"), Instant::now());
        let printed = format!("{cache:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("alice"), "{printed}");
    }
}
