//! Outages: slapd stopped and restarted under a live backend, a server that never answers,
//! and `max_stale` serving cached identities while the directory is down.

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use regent::authn::{AuthnError, Outcome};

use super::{backend, identity, login, search_config};
use crate::fixtures::Slapd;

/// The slack allowed on top of a configured timeout (a generous bound; timing is noisy).
const SLACK: Duration = Duration::from_secs(5);

#[tokio::test]
async fn slapd_stopped_mid_run_is_unavailable_then_recovers_without_a_new_backend() {
    let mut slapd = Slapd::start();
    let config = search_config(&slapd);
    let bound = config.timeout + config.connect_timeout + SLACK;
    let backend = backend(config);
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers"]);
    assert!(backend.idle_connections() >= 1, "the service connection went back to the pool");

    slapd.stop();
    let started = Instant::now();
    let outcome = login(&backend, "carol", "carolpw").await;
    let elapsed = started.elapsed();
    assert!(matches!(outcome, Err(AuthnError::Unavailable { .. })), "{outcome:?}");
    assert!(elapsed < bound, "took {elapsed:?}");
    // A wrong password cannot be told apart while the directory is down: still an outage.
    assert!(matches!(login(&backend, "bob", "wrong").await, Err(AuthnError::Unavailable { .. })));
    // alice is cached (cache_ttl 60 s): no directory needed.
    assert_eq!(identity(&backend, "alice", "secret").await.name, "alice");

    slapd.restart();
    // The server was marked down: the background probe (not this login) finds it back.
    let back = super::until_logged_in(&backend, "carol", "carolpw").await;
    assert_eq!(identity(&backend, "carol", "carolpw").await.groups, ["developers", "ops"]);
    assert_eq!(login(&backend, "bob", "wrong").await.unwrap(), Outcome::Denied);
    eprintln!("outage: unavailable after {elapsed:?}; in use again {back:?} after the restart");
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", listener.local_addr().unwrap());
    // Accept every connection and hold it open without ever answering.
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.urls = vec![url.clone()];
    config.timeout = Duration::from_secs(1);
    let backend = backend(config.clone());
    let started = Instant::now();
    let outcome = login(&backend, "alice", "secret").await;
    let elapsed = started.elapsed();
    match outcome {
        Err(AuthnError::Unavailable { reason, .. }) => assert!(reason.contains("timeout"), "{reason}"),
        other => panic!("expected an outage, got {other:?}"),
    }
    assert!(elapsed < config.timeout + SLACK, "took {elapsed:?}");

    // A refused first URL: the second is used for the same login.
    let mut config = search_config(&slapd);
    config.urls = vec!["ldap://127.0.0.1:1".to_owned(), slapd.url()];
    let backend = super::backend(config);
    assert_eq!(identity(&backend, "alice", "secret").await.name, "alice", "refused first URL, second used");
    eprintln!("hanging server: unavailable after {elapsed:?}");
}

#[tokio::test]
async fn max_stale_serves_a_cached_identity_while_the_directory_is_down() {
    let mut slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.cache_ttl = Duration::ZERO;
    config.max_stale = Some(Duration::from_secs(600));
    let backend = backend(config);
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers"]);
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers"]);
    assert_eq!(backend.user_binds(), 2, "cache_ttl 0: every login asks the directory while it is up");

    slapd.stop();
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers"], "stale identity");
    assert!(matches!(login(&backend, "alice", "wrong").await, Err(AuthnError::Unavailable { .. })));
    assert!(matches!(login(&backend, "carol", "carolpw").await, Err(AuthnError::Unavailable { .. })));

    // Without max_stale the same situation is an outage.
    let mut config = search_config(&slapd);
    config.cache_ttl = Duration::ZERO;
    let plain = super::backend(config);
    assert!(matches!(login(&plain, "alice", "secret").await, Err(AuthnError::Unavailable { .. })));
}

#[tokio::test]
async fn a_password_the_directory_now_refuses_is_not_served_stale() {
    let mut slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.cache_ttl = Duration::ZERO;
    config.max_stale = Some(Duration::from_secs(600));
    let backend = backend(config);
    assert_eq!(identity(&backend, "alice", "secret").await.name, "alice");
    slapd.set_password(&super::dn_of("alice"), "changed");
    assert_eq!(login(&backend, "alice", "secret").await.unwrap(), Outcome::Denied);
    assert_eq!(identity(&backend, "alice", "changed").await.name, "alice");

    slapd.stop();
    assert!(matches!(login(&backend, "alice", "secret").await, Err(AuthnError::Unavailable { .. })));
    assert_eq!(
        identity(&backend, "alice", "changed").await.name,
        "alice",
        "the new password is served stale"
    );
}
