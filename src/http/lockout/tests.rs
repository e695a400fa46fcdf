//! The counters with time passed in, and the guard around real futures (tokio's paused clock
//! for the delays).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::counters::{FailureCounters, MAX_ENTRIES, client_key};
use super::*;
use crate::authn::{Identity, Verified};
use crate::metrics::LockoutScope;
use crate::secret::Secret;

/// A fresh guess fingerprint for every call (distinct wrong passwords).
fn guess() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A fresh wrong password for every call.
fn wrong() -> Secret {
    Secret::new(format!("guess-{}", guess()))
}

fn config() -> LockoutConfig {
    LockoutConfig::default()
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn authenticated() -> Result<ChainOutcome, AuthnError> {
    let identity = Identity::person("local", "alice", vec![]);
    Ok(ChainOutcome::Authenticated(Verified { identity, owns_name: true }))
}

fn outage() -> Result<ChainOutcome, AuthnError> {
    Err(AuthnError::Unavailable { backend: "corp".into(), reason: "connection refused".into() })
}

#[test]
fn wrong_passwords_lock_the_pair_then_it_ends() {
    let mut counters = FailureCounters::new(config());
    let now = Instant::now();
    for n in 1..10 {
        assert_eq!(counters.fail("alice", ip(1), guess(), now).started, vec![], "failure {n}");
        assert_eq!(counters.check("alice", ip(1), now), None);
    }
    assert_eq!(counters.fail("alice", ip(1), guess(), now).started, vec![LockoutScope::UserClient]);
    let locked = counters.check("alice", ip(1), now).unwrap();
    assert_eq!((locked.scope, locked.retry_after), (LockoutScope::UserClient, Duration::from_secs(300)));
    assert_eq!(counters.check("alice", ip(2), now), None, "alice from another address is not locked");
    assert_eq!(counters.check("bob", ip(1), now), None, "nor bob from this one");
    assert_eq!(counters.check("alice", ip(1), now + Duration::from_secs(301)), None, "it ends");
}

#[test]
fn success_resets_the_users_counters_but_not_the_addresss() {
    let mut counters = FailureCounters::new(LockoutConfig { max_failures_per_client: 12, ..config() });
    let now = Instant::now();
    for _ in 0..9 {
        counters.fail("alice", ip(1), guess(), now);
    }
    counters.succeed("alice", ip(1), now);
    for _ in 0..2 {
        assert_eq!(
            counters.fail("alice", ip(1), guess(), now).started,
            vec![],
            "the pair starts again from zero"
        );
    }
    assert_eq!(
        counters.fail("bob", ip(1), guess(), now).started,
        vec![LockoutScope::Client],
        "9 + 2 + 1 from one address"
    );
    assert_eq!(counters.check("alice", ip(1), now).map(|l| l.scope), Some(LockoutScope::Client));
}

#[test]
fn failures_are_forgotten_after_a_while() {
    let mut counters = FailureCounters::new(config());
    let start = Instant::now();
    for _ in 0..9 {
        counters.fail("alice", ip(1), guess(), start);
    }
    let later = start + Duration::from_secs(901);
    assert_eq!(counters.fail("alice", ip(1), guess(), later).started, vec![], "the old nine are forgotten");
}

#[test]
fn a_distributed_guess_spares_the_addresses_the_user_logged_in_from() {
    let mut counters = FailureCounters::new(LockoutConfig { max_failures_per_user: 20, ..config() });
    let now = Instant::now();
    counters.succeed("alice", ip(200), now);
    for attacker in 0..20 {
        counters.fail("alice", ip(attacker), guess(), now);
    }
    let locked = counters.check("alice", ip(99), now).unwrap();
    assert_eq!(locked.scope, LockoutScope::User, "a new address is refused");
    assert_eq!(counters.check("alice", ip(200), now), None, "alice's own address is not");
}

#[test]
fn the_delay_grows_from_delay_after_and_is_capped() {
    let mut counters = FailureCounters::new(LockoutConfig { max_failures: 100, ..config() });
    let now = Instant::now();
    let delays: Vec<Duration> = (0..9).map(|_| counters.fail("alice", ip(1), guess(), now).delay).collect();
    let ms = |ms| Duration::from_millis(ms);
    let expected = [0, 0, 0, 250, 500, 1000, 2000, 4000, 4000].map(ms);
    assert_eq!(delays, expected);
}

#[test]
fn ipv6_clients_count_by_their_64() {
    let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
    let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(client_key(a), client_key(b));
    assert_ne!(client_key(a), client_key(other));
    let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
    assert_eq!(client_key(mapped), ip(1));
}

#[test]
fn memory_is_bounded() {
    let mut counters = FailureCounters::new(LockoutConfig { max_failures_per_client: u32::MAX, ..config() });
    let now = Instant::now();
    for n in 0..(MAX_ENTRIES + 5_000) {
        counters.fail(&format!("user{n}"), ip(1), guess(), now + Duration::from_micros(n as u64));
    }
    assert!(counters.len() <= 2 * MAX_ENTRIES + 1, "{}", counters.len());
}

#[tokio::test(start_paused = true)]
async fn parallel_correct_logins_are_never_refused_even_after_failures() {
    let lockout = Arc::new(Lockout::new(config(), Arc::new(Metrics::new())));
    for _ in 0..9 {
        let result = lockout.guard(Some(ip(1)), "alice", &wrong(), async { Ok(ChainOutcome::Denied) }).await;
        assert!(result.is_ok());
    }
    let logins = (0..50).map(|_| {
        let lockout = Arc::clone(&lockout);
        tokio::spawn(async move {
            lockout.guard(Some(ip(1)), "alice", &Secret::new("alice-pw"), async { authenticated() }).await
        })
    });
    for login in logins {
        assert!(matches!(login.await.unwrap(), Ok(Ok(ChainOutcome::Authenticated(_)))));
    }
    let next = lockout.guard(Some(ip(1)), "alice", &wrong(), async { Ok(ChainOutcome::Denied) }).await;
    assert!(next.is_ok(), "the success reset the counter: one failure is not a lockout");
}

#[tokio::test(start_paused = true)]
async fn an_outage_never_counts_and_a_lockout_answers_429_without_asking() {
    let metrics = Arc::new(Metrics::new());
    let lockout = Lockout::new(LockoutConfig { max_failures: 3, ..config() }, Arc::clone(&metrics));
    for _ in 0..50 {
        assert!(matches!(
            lockout.guard(Some(ip(1)), "alice", &wrong(), async { outage() }).await,
            Ok(Err(_))
        ));
    }
    for _ in 0..3 {
        let started = tokio::time::Instant::now();
        assert!(
            lockout.guard(Some(ip(1)), "alice", &wrong(), async { Ok(ChainOutcome::Denied) }).await.is_ok()
        );
        assert!(started.elapsed() < Duration::from_millis(10), "no delay within delay_after");
    }
    let asked = std::sync::atomic::AtomicBool::new(false);
    let refused = lockout
        .guard(Some(ip(1)), "alice", &Secret::new("alice-pw"), async {
            asked.store(true, std::sync::atomic::Ordering::SeqCst);
            authenticated()
        })
        .await;
    assert!(matches!(refused, Err(ApiError::TooManyRequests { retry_after: 300 })), "{refused:?}");
    assert!(!asked.load(std::sync::atomic::Ordering::SeqCst), "the password was not checked");
    let text = metrics.encode().unwrap();
    assert!(text.contains("regent_lockouts_total{scope=\"user_client\"} 1\n"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn disabled_or_without_an_address_nothing_is_counted() {
    let off =
        Lockout::new(LockoutConfig { enabled: false, max_failures: 1, ..config() }, Arc::new(Metrics::new()));
    let anonymous = Lockout::new(LockoutConfig { max_failures: 1, ..config() }, Arc::new(Metrics::new()));
    for _ in 0..5 {
        assert!(off.guard(Some(ip(1)), "alice", &wrong(), async { Ok(ChainOutcome::Denied) }).await.is_ok());
        assert!(anonymous.guard(None, "alice", &wrong(), async { Ok(ChainOutcome::Denied) }).await.is_ok());
    }
}

#[test]
fn a_repeated_wrong_password_is_not_a_new_guess() {
    let mut counters = FailureCounters::new(config());
    let now = Instant::now();
    let stale = guess();
    for _ in 0..100 {
        assert_eq!(counters.fail("alice", ip(1), stale, now).started, vec![]);
    }
    assert_eq!(counters.check("alice", ip(1), now), None, "one stale password, retried, is one failure");
    for _ in 0..8 {
        counters.fail("alice", ip(1), guess(), now);
    }
    assert_eq!(
        counters.fail("alice", ip(1), guess(), now).started,
        vec![LockoutScope::UserClient],
        "1 + 9 distinct"
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_with_a_stale_password_then_the_right_one_is_not_locked_out() {
    let lockout = Arc::new(Lockout::new(config(), Arc::new(Metrics::new())));
    let stale = Secret::new("last-years-password");
    let burst = (0..30).map(|_| {
        let (lockout, stale) = (Arc::clone(&lockout), stale.clone());
        tokio::spawn(async move {
            lockout.guard(Some(ip(1)), "alice", &stale, async { Ok(ChainOutcome::Denied) }).await
        })
    });
    for pull in burst {
        assert!(matches!(pull.await.unwrap(), Ok(Ok(ChainOutcome::Denied))), "401, never 429");
    }
    let fixed =
        lockout.guard(Some(ip(1)), "alice", &Secret::new("alice-pw"), async { authenticated() }).await;
    assert!(matches!(fixed, Ok(Ok(ChainOutcome::Authenticated(_)))));
}

#[tokio::test(start_paused = true)]
async fn a_reconfigure_keeps_the_counts_under_new_thresholds_and_off_forgets_them() {
    let lockout = Lockout::new(LockoutConfig { max_failures: 10, ..config() }, Arc::new(Metrics::new()));
    let fail = || async {
        let wrong = wrong();
        lockout.guard(Some(ip(1)), "alice", &wrong, async { Ok(ChainOutcome::Denied) }).await
    };
    for _ in 0..3 {
        assert!(fail().await.is_ok());
    }
    lockout.reconfigure(LockoutConfig { max_failures: 4, ..config() });
    assert!(fail().await.is_ok(), "the 4th failure (counted on from 3) starts the lockout");
    assert!(matches!(fail().await, Err(ApiError::TooManyRequests { .. })), "locked under the new threshold");
    lockout.reconfigure(LockoutConfig { enabled: false, ..config() });
    assert!(fail().await.is_ok(), "off: nothing is refused");
    lockout.reconfigure(LockoutConfig { max_failures: 4, ..config() });
    assert!(fail().await.is_ok(), "on again: the earlier failures were forgotten");
}
