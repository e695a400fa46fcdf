//! TLS (ldaps and StartTLS with the fixture's CA, refused without it), the cache, and the pool's
//! connection reuse counted by slapd.

use std::sync::Arc;
use std::time::{Duration, Instant};

use regent::authn::ldap::{LdapBackend, LdapError};
use regent::authn::{Authenticator, AuthnError, Outcome, Trace};
use regent::secret::Secret;

use super::{backend, dn_of, identity, login, search_config};
use crate::fixtures::Slapd;

#[tokio::test]
async fn ldaps_and_starttls_work_with_the_ca_and_are_refused_without_it() {
    let slapd = Slapd::start();
    let mut ldaps = search_config(&slapd);
    ldaps.urls = vec![slapd.ldaps_url()];
    ldaps.ca_file = Some(slapd.ca_file());
    let mut starttls = search_config(&slapd);
    starttls.starttls = true;
    starttls.ca_file = Some(slapd.ca_file());
    for (config, security) in [(ldaps, "TLS (ldaps)"), (starttls, "StartTLS")] {
        let backend = backend(config.clone());
        let mut trace = Trace::default();
        let outcome = backend.authenticate_traced("carol", &Secret::new("carolpw"), &mut trace).await;
        assert!(matches!(outcome, Ok(Outcome::Authenticated(_))), "{security}: {outcome:?}");
        let url = &config.urls[0];
        assert!(trace.steps().iter().any(|step| step.contains(&format!("connected to {url} ({security})"))));

        // Without the CA, the system roots do not trust the fixture's certificate.
        let mut untrusted = config;
        untrusted.ca_file = None;
        let backend = super::backend(untrusted);
        match login(&backend, "carol", "carolpw").await {
            Err(AuthnError::Unavailable { reason, .. }) => {
                assert!(
                    reason.contains("certificate") || reason.contains("Certificate"),
                    "{security}: {reason}"
                )
            }
            other => panic!("{security} without the CA: expected an outage, got {other:?}"),
        }
    }
}

#[test]
fn bad_settings_are_refused_at_construction_naming_the_problem() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.ca_file = Some("/nonexistent/ca.pem".into());
    let error = LdapBackend::new("corp", config).unwrap_err();
    assert!(
        matches!(error, LdapError::ReadCa { .. }) && error.to_string().contains("/nonexistent/ca.pem"),
        "{error}"
    );
    let not_pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_pem.path(), "not a certificate").unwrap();
    let mut config = search_config(&slapd);
    config.ca_file = Some(not_pem.path().to_owned());
    assert!(matches!(LdapBackend::new("corp", config), Err(LdapError::BadCa { .. })));
    let mut config = search_config(&slapd);
    config.urls = vec!["http://127.0.0.1:389".to_owned()];
    assert!(matches!(LdapBackend::new("corp", config), Err(LdapError::BadUrl { .. })));
}

#[tokio::test]
async fn the_cache_spares_binds_and_failed_logins_are_not_cached() {
    let slapd = Slapd::start();
    let backend = backend(search_config(&slapd));
    for _ in 0..5 {
        assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers"]);
    }
    assert_eq!((backend.user_binds(), slapd.bind_count(&dn_of("alice"))), (1, 1));
    for _ in 0..3 {
        assert_eq!(login(&backend, "alice", "wrong").await.unwrap(), Outcome::Denied);
    }
    assert_eq!(slapd.bind_count(&dn_of("alice")), 4, "every wrong password asked the directory");
    assert_eq!(identity(&backend, "alice", "secret").await.name, "alice");
    assert_eq!(slapd.bind_count(&dn_of("alice")), 4, "the right password is still cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pool_reuses_service_connections_counted_by_slapd() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.cache_ttl = Duration::ZERO;
    config.pool_size = 2;
    let backend = Arc::new(backend(config));
    let baseline = slapd.connection_count();
    // Cold: 40 logins, 8 at a time: at most the pool plus one bind connection per login.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let backend = Arc::clone(&backend);
        tasks.push(tokio::spawn(async move {
            for round in 0..5 {
                let (user, password) =
                    if (worker + round) % 2 == 0 { ("alice", "secret") } else { ("carol", "carolpw") };
                let outcome = backend.authenticate(user, &Secret::new(password)).await.unwrap();
                assert!(matches!(outcome, Outcome::Authenticated(_)), "{outcome:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let cold = started.elapsed();
    let opened = slapd.connection_count() - baseline;
    assert_eq!(opened as u64, backend.connections_opened(), "slapd and the backend agree");
    assert!(opened <= 2 + 40, "{opened} connections for 40 cold logins");
    assert!(opened >= 40, "one bind connection per login: {opened}");

    // Warm: 1,000 logins of one user at concurrency 32 cost one bind and the pool.
    let mut config = search_config(&slapd);
    config.pool_size = 2;
    let warm_backend = Arc::new(super::backend(config));
    let baseline = slapd.connection_count();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let backend = Arc::clone(&warm_backend);
        tasks.push(tokio::spawn(async move {
            for _ in 0..(1000 / 32 + 1) {
                let outcome = backend.authenticate("alice", &Secret::new("secret")).await.unwrap();
                assert!(matches!(outcome, Outcome::Authenticated(_)));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let warm = started.elapsed();
    let opened = slapd.connection_count() - baseline;
    assert!(opened <= 2 + 32, "{opened} connections for 1,000 warm logins (first ones race the cache)");
    eprintln!("pool: 40 cold logins in {cold:?}; 1,024 warm logins in {warm:?} with {opened} connections");
}
