//! Failover with real slapd: the first of two URLs is a SIGSTOPped slapd (hung), a killed one,
//! or a socket that accepts and never answers (plain, and as a TLS black hole). An uncached login succeeds through the second
//! URL within about one `timeout` the first time and without that delay afterwards; the first
//! server is marked down, re-probed in the background and used again once it answers; pooled
//! connections to it are dropped, not tried one by one; and 32 concurrent logins with the hung
//! server first all succeed within about two timeouts.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use regent::authn::ldap::LdapBackend;
use regent::authn::{Authenticator, Outcome};
use regent::config::{LdapConfig, LdapMode};
use regent::secret::Secret;

use super::{backend, dn_of, identity, search_config};
use crate::fixtures::Slapd;

/// `timeout` (and `connect_timeout`) of these tests.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The slack allowed on top of a bound made of timeouts (timing is noisy; the point is that
/// it is one timeout, not one per operation or per queued login).
const SLACK: Duration = Duration::from_secs(2);
/// How long a login may take once the failed server is known to be down.
const FAST: Duration = Duration::from_secs(1);
/// The longest wait for the background probe to find a server back (10 s backoff at most).
const PROBE_BOUND: Duration = Duration::from_secs(30);

/// A TCP server that accepts every connection and never sends a byte; stops on drop.
struct Silent {
    url: String,
    stop: Arc<AtomicBool>,
}

impl Silent {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self { url, stop }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Search mode over `first` then `second`, uncached (every login asks the directory).
fn two_urls(first: &str, second: &Slapd) -> LdapConfig {
    let mut config = search_config(second);
    config.urls = vec![first.to_owned(), second.url()];
    config.timeout = TIMEOUT;
    config.connect_timeout = TIMEOUT;
    config.cache_ttl = Duration::ZERO;
    config.pool_size = 4;
    config
}

/// How long one successful login of `user` took.
async fn timed_login(backend: &LdapBackend, user: &str, password: &str) -> Duration {
    let started = Instant::now();
    let outcome = backend.authenticate(user, &Secret::new(password)).await;
    assert!(matches!(outcome, Ok(Outcome::Authenticated(_))), "{user}: {outcome:?}");
    started.elapsed()
}

/// The first login (within one timeout), then five more (fast), and the first server down.
async fn fails_over(what: &str, backend: &LdapBackend) -> (Duration, Duration) {
    let first = timed_login(backend, "carol", "carolpw").await;
    assert!(first < TIMEOUT + SLACK, "{what}: the first login took {first:?}");
    let mut later = Duration::ZERO;
    for user in ["alice", "carol", "bob", "alice", "carol"] {
        let password = super::password_of(user);
        later = later.max(timed_login(backend, user, password).await);
    }
    assert!(later < FAST, "{what}: a later login took {later:?}");
    let states = backend.server_states();
    assert!(!states[0].1 && states[1].1, "{what}: the first server is marked down: {states:?}");
    eprintln!("{what}: first login {first:?}, later logins at most {later:?}");
    (first, later)
}

/// Waits until the background probe brings `first` (the first URL) back, then checks that a
/// login binds there again; how long the wait took.
async fn first_is_used_again(backend: &LdapBackend, first: &Slapd, user: &str) -> Duration {
    let started = Instant::now();
    while !backend.server_states()[0].1 {
        assert!(started.elapsed() < PROBE_BOUND, "the first server is not back after {PROBE_BOUND:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let back = started.elapsed();
    let binds = first.bind_count(&dn_of(user));
    assert_eq!(identity(backend, user, super::password_of(user)).await.name, user);
    assert_eq!(first.bind_count(&dn_of(user)), binds + 1, "{user}'s bind went to the first server");
    back
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_slapd_first_costs_one_timeout_once_and_is_used_again_when_it_answers() {
    let (first, second) = (Slapd::start(), Slapd::start());
    first.pause();
    let backend = backend(two_urls(&first.url(), &second));
    fails_over("SIGSTOPped slapd first", &backend).await;

    first.resume();
    let back = first_is_used_again(&backend, &first, "alice").await;
    eprintln!("SIGSTOPped slapd first: in use again {back:?} after SIGCONT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_slapd_first_is_skipped_and_used_again_after_it_restarts() {
    let (mut first, second) = (Slapd::start(), Slapd::start());
    first.stop();
    let backend = backend(two_urls(&first.url(), &second));
    let (first_login, _) = fails_over("killed slapd first", &backend).await;
    assert!(first_login < FAST, "a refused connection costs no timeout: {first_login:?}");

    // Still down after a few probes, then restarted: a probe (not a login) finds it back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!backend.server_states()[0].1, "a killed server stays down");
    first.restart();
    let back = first_is_used_again(&backend, &first, "carol").await;
    eprintln!("killed slapd first: in use again {back:?} after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_answers_first_costs_one_timeout_once_in_both_modes_and_over_tls() {
    let (silent, second) = (Silent::start(), Slapd::start());
    let backend = backend(two_urls(&silent.url, &second));
    fails_over("silent socket first (search mode)", &backend).await;

    let mut direct = two_urls(&silent.url, &second);
    direct.mode =
        LdapMode::DirectBind { user_dn: format!("uid=${{user}},{}", crate::fixtures::ldif::PEOPLE) };
    direct.groups.attribute = Some("memberOf".to_owned());
    let backend = super::backend(direct);
    fails_over("silent socket first (direct bind)", &backend).await;

    // A TLS black hole: the handshake never completes (bounded by connect_timeout).
    let mut tls = two_urls(&silent.url.replace("ldap://", "ldaps://"), &second);
    tls.urls[1] = second.ldaps_url();
    tls.ca_file = Some(second.ca_file());
    let backend = super::backend(tls);
    fails_over("TLS black hole first (ldaps)", &backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_connections_to_a_server_that_hangs_are_dropped_not_tried_one_by_one() {
    let (first, second) = (Slapd::start(), Slapd::start());
    let backend = Arc::new(backend(two_urls(&first.url(), &second)));
    // 32 concurrent logins leave the pool's four connections to the first server.
    let mut warm = Vec::new();
    for _ in 0..32 {
        let backend = backend.clone();
        warm.push(tokio::spawn(async move { timed_login(&backend, "alice", "secret").await }));
    }
    for login in warm {
        login.await.unwrap();
    }
    let pooled = backend.idle_connections();
    assert!(pooled >= 2, "the pool kept connections to the first server: {pooled}");

    first.pause();
    let after = timed_login(&backend, "carol", "carolpw").await;
    assert!(after < TIMEOUT + SLACK, "one timeout, not one per pooled connection: {after:?}");
    assert!(backend.idle_connections() <= 1, "only the new connection to the second server is pooled");
    let later = timed_login(&backend, "alice", "secret").await;
    assert!(later < FAST, "{later:?}");
    eprintln!("{pooled} pooled connections to a server that hung: login {after:?}, then {later:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_logins_with_a_hung_first_server_all_succeed_within_two_timeouts() {
    let second = Slapd::start();
    let (paused, silent) = (Slapd::start(), Silent::start());
    paused.pause();
    for (what, url) in [("SIGSTOPped slapd", paused.url()), ("silent socket", silent.url.clone())] {
        let backend = Arc::new(backend(two_urls(&url, &second)));
        let started = Instant::now();
        let mut logins = Vec::new();
        for n in 0..32 {
            let backend = backend.clone();
            let (user, password) = if n % 2 == 0 { ("alice", "secret") } else { ("carol", "carolpw") };
            logins.push(tokio::spawn(async move { timed_login(&backend, user, password).await }));
        }
        let mut slowest = Duration::ZERO;
        for login in logins {
            slowest = slowest.max(login.await.unwrap());
        }
        let all = started.elapsed();
        eprintln!("32 concurrent logins, {what} first: all done in {all:?} (slowest {slowest:?})");
        assert!(all < 2 * TIMEOUT + SLACK, "{what}: 32 logins took {all:?}");
    }
}
