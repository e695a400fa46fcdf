//! The failure counters behind brute-force protection: pure and synchronous, time passed in.
//!
//! Three counters of failed logins (wrong password or unknown user; never an outage), each
//! forgotten `forget_after` after its last failure:
//!
//! - per user and client address: at `max_failures` that user is locked out from that address;
//! - per client address (all users): at `max_failures_per_client` the address is locked out;
//! - per user (all addresses): at `max_failures_per_user` the user is locked out from every
//!   address that has not logged in as the user before (a distributed guess at one password
//!   cannot lock its owner out of the addresses the owner uses).
//!
//! A wrong password repeated (one of the last [`REMEMBERED_GUESSES`] of that user from that
//! address) is not a new guess: it moves no counter, so a client retrying a stale password, or
//! a compose file pulling 20 images at once with it, does not lock its user out. Guesses are
//! remembered as keyed hashes ([`super::Lockout`] computes them), never as passwords.
//!
//! A lockout lasts `lockout_time`; the next failure after it locks again at once until the
//! failures are forgotten. A success resets the user's counters (not the address's: one good
//! account must not let an address keep guessing others). Each map holds at most
//! [`MAX_ENTRIES`]; when full, forgotten entries go first, then the oldest eighth. User names
//! are kept as 64-bit hashes under a per-process random key (SipHash), never as text, so an
//! entry costs about a hundred bytes whatever the name's length.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::LockoutConfig;
use crate::metrics::LockoutScope;

/// The most entries one counter map (or the known-good map) holds.
pub const MAX_ENTRIES: usize = 100_000;

/// How many distinct wrong passwords one (user, address) entry remembers.
pub const REMEMBERED_GUESSES: usize = 4;

/// How long a successful (user, address) pair is remembered as known-good.
const KNOWN_GOOD_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// The address a client is counted by: IPv4 as is, IPv6 by its /64 (one host usually has a
/// whole /64 to pick addresses from).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        v4 => v4,
    }
}

/// Why a login is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// What the lockout is keyed by.
    pub scope: LockoutScope,
    /// How long until it ends.
    pub retry_after: Duration,
}

/// One counter.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failures not yet forgotten.
    failures: u32,
    /// When the last one happened.
    last_failure: Instant,
    /// When the current lockout ends.
    locked_until: Option<Instant>,
    /// The latest distinct guesses' fingerprints (zero: none).
    guesses: [u64; REMEMBERED_GUESSES],
}

impl Entry {
    fn new(now: Instant) -> Self {
        Self { failures: 0, last_failure: now, locked_until: None, guesses: [0; REMEMBERED_GUESSES] }
    }
}

/// A bounded map of counters.
#[derive(Debug)]
struct Counters<K> {
    /// The counters.
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Counters<K> {
    fn new() -> Self {
        Self { entries: HashMap::new() }
    }

    /// The lockout in force for `key` at `now`.
    fn locked(&self, key: &K, now: Instant) -> Option<Duration> {
        let until = self.entries.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure; true when it starts a lockout.
    fn fail(&mut self, key: &K, threshold: u32, config: &LockoutConfig, now: Instant) -> (u32, bool) {
        if !self.entries.contains_key(key) {
            make_room(
                &mut self.entries,
                now,
                |entry| forgotten(entry, config, now),
                |entry| entry.last_failure,
            );
        }
        let entry = self.entries.entry(key.clone()).or_insert(Entry::new(now));
        if forgotten(entry, config, now) {
            *entry = Entry::new(now);
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        let locked = entry.locked_until.is_some_and(|until| until > now);
        let starts = entry.failures >= threshold && !locked;
        if starts {
            entry.locked_until = Some(now + config.lockout_time);
        }
        (entry.failures, starts)
    }

    /// Whether `guess` is one `key` already failed with (not forgotten); else remembers it.
    fn repeated(&mut self, key: &K, guess: u64, config: &LockoutConfig, now: Instant) -> bool {
        let Some(entry) = self.entries.get_mut(key).filter(|entry| !forgotten(entry, config, now)) else {
            return false;
        };
        if entry.guesses.contains(&guess) {
            return true;
        }
        entry.guesses.rotate_right(1);
        entry.guesses[0] = guess;
        false
    }

    /// The failures counted for `key`.
    fn failures(&self, key: &K) -> u32 {
        self.entries.get(key).map_or(0, |entry| entry.failures)
    }

    fn reset(&mut self, key: &K) {
        self.entries.remove(key);
    }
}

/// Whether `entry`'s failures are forgotten at `now` (and no lockout is in force).
fn forgotten(entry: &Entry, config: &LockoutConfig, now: Instant) -> bool {
    now.saturating_duration_since(entry.last_failure) >= config.forget_after
        && entry.locked_until.is_none_or(|until| until <= now)
}

/// Before inserting into a full map: removes what `expired` names, then the oldest eighth.
fn make_room<K: Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    now: Instant,
    expired: impl Fn(&V) -> bool,
    age: impl Fn(&V) -> Instant,
) {
    if map.len() < MAX_ENTRIES {
        return;
    }
    map.retain(|_, value| !expired(value));
    if map.len() < MAX_ENTRIES {
        return;
    }
    let mut times: Vec<Instant> = map.values().map(&age).collect();
    let cut = times.len() / 8;
    let (_, cutoff, _) = times.select_nth_unstable(cut);
    let cutoff = (*cutoff).min(now);
    map.retain(|_, value| age(value) > cutoff);
}

/// What a failure did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Failure {
    /// How long the answer should take at least (the growing delay).
    pub delay: Duration,
    /// The lockouts it started.
    pub started: Vec<LockoutScope>,
}

/// Every counter, and the known-good (user, address) pairs.
#[derive(Debug)]
pub struct FailureCounters {
    /// The settings.
    config: LockoutConfig,
    /// Per user and client address.
    user_client: Counters<(UserKey, IpAddr)>,
    /// Per client address.
    client: Counters<IpAddr>,
    /// Per user.
    user: Counters<UserKey>,
    /// (user, address) pairs that logged in, and when last.
    known_good: HashMap<(UserKey, IpAddr), Instant>,
    /// Keys the user names' hashes.
    hasher: RandomState,
}

/// A user name's keyed hash.
type UserKey = u64;

impl FailureCounters {
    /// Empty counters with `config`'s thresholds.
    pub fn new(config: LockoutConfig) -> Self {
        Self {
            config,
            user_client: Counters::new(),
            client: Counters::new(),
            user: Counters::new(),
            known_good: HashMap::new(),
            hasher: RandomState::new(),
        }
    }

    /// Counts on with `config`'s thresholds (a reload of `[lockout]`); what is counted stays.
    pub fn set_config(&mut self, config: LockoutConfig) {
        self.config = config;
    }

    fn user_key(&self, user: &str) -> UserKey {
        self.hasher.hash_one(user)
    }

    /// The lockout refusing `user` from `client` at `now`, if any.
    pub fn check(&self, user: &str, client: IpAddr, now: Instant) -> Option<Locked> {
        let pair = (self.user_key(user), client);
        let locked = |scope, retry_after: Option<Duration>| {
            retry_after.map(|retry_after| Locked { scope, retry_after })
        };
        locked(LockoutScope::Client, self.client.locked(&client, now))
            .or_else(|| locked(LockoutScope::UserClient, self.user_client.locked(&pair, now)))
            .or_else(|| {
                let known = self
                    .known_good
                    .get(&pair)
                    .is_some_and(|at| now.saturating_duration_since(*at) < KNOWN_GOOD_FOR);
                if known { None } else { locked(LockoutScope::User, self.user.locked(&pair.0, now)) }
            })
    }

    /// Counts a failed login of `user` from `client` at `now` with the password whose keyed
    /// hash is `guess` (non-zero): a guess the pair already failed with is not counted again.
    pub fn fail(&mut self, user: &str, client: IpAddr, guess: u64, now: Instant) -> Failure {
        let config = self.config;
        let pair = (self.user_key(user), client);
        if self.user_client.repeated(&pair, guess, &config, now) {
            return Failure { delay: self.delay(self.user_client.failures(&pair)), started: Vec::new() };
        }
        let (failures, pair_started) = self.user_client.fail(&pair, config.max_failures, &config, now);
        self.user_client.repeated(&pair, guess, &config, now);
        let (_, client_started) = self.client.fail(&client, config.max_failures_per_client, &config, now);
        let (_, user_started) = self.user.fail(&pair.0, config.max_failures_per_user, &config, now);
        let started = [
            (pair_started, LockoutScope::UserClient),
            (client_started, LockoutScope::Client),
            (user_started, LockoutScope::User),
        ];
        let started = started.into_iter().filter_map(|(started, scope)| started.then_some(scope)).collect();
        Failure { delay: self.delay(failures), started }
    }

    /// A successful login: resets the user's counters and remembers the address as known-good.
    pub fn succeed(&mut self, user: &str, client: IpAddr, now: Instant) {
        let pair = (self.user_key(user), client);
        self.user_client.reset(&pair);
        self.user.reset(&pair.0);
        if !self.known_good.contains_key(&pair) {
            make_room(
                &mut self.known_good,
                now,
                |at| now.saturating_duration_since(*at) >= KNOWN_GOOD_FOR,
                |at| *at,
            );
        }
        self.known_good.insert(pair, now);
    }

    /// The growing delay after `failures` (per user and address): none up to `delay_after`,
    /// then `base_delay` doubling with each further failure, at most `max_delay`.
    fn delay(&self, failures: u32) -> Duration {
        let Some(over) = failures.checked_sub(self.config.delay_after + 1) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(over.min(16)).unwrap_or(u32::MAX);
        self.config.base_delay.saturating_mul(factor).min(self.config.max_delay)
    }

    /// How many entries the maps hold (for the memory bound's test).
    pub fn len(&self) -> usize {
        self.user_client.entries.len()
            + self.client.entries.len()
            + self.user.entries.len()
            + self.known_good.len()
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
