//! The LDAP backend against a real slapd ([`Slapd`]): logins and groups, injection attempts,
//! TLS, outages and failover between servers, the cache and the pool. Settings are built directly (no TOML here).

mod failover;
mod logins;
mod names;
mod outages;
mod tls_and_pool;

use std::time::{Duration, Instant};

use regent::authn::ldap::LdapBackend;
use regent::authn::{Authenticator, AuthnError, Identity, Outcome};
use regent::config::{GroupSearch, LdapConfig, LdapGroups, LdapMode, NestedGroups, SearchScope};
use regent::secret::Secret;

use crate::fixtures::{Slapd, ldif};

/// Search mode with the service account, `(uid=${user})` under people, groups from `memberOf`,
/// the login name from `uid`, short timeouts and a 60 s cache.
fn search_config(slapd: &Slapd) -> LdapConfig {
    LdapConfig {
        urls: vec![slapd.url()],
        starttls: false,
        ca_file: None,
        mode: LdapMode::Search {
            bind_dn: ldif::SERVICE_DN.to_owned(),
            bind_password: Secret::new(ldif::SERVICE_PASSWORD),
            base: ldif::BASE.to_owned(),
            scope: SearchScope::Sub,
            filter: "(&(objectClass=inetOrgPerson)(uid=${user}))".to_owned(),
        },
        login_attribute: "uid".to_owned(),
        groups: LdapGroups {
            attribute: Some("memberOf".to_owned()),
            search: None,
            nested: NestedGroups::Off,
            max_depth: 5,
        },
        lowercase: false,
        pool_size: 2,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        cache_ttl: Duration::from_secs(60),
        max_stale: None,
    }
}

/// The groupOfNames search under ou=groups, names from `cn`.
fn group_search(filter: &str) -> GroupSearch {
    GroupSearch { base: ldif::GROUPS.to_owned(), filter: filter.to_owned(), name_attribute: "cn".to_owned() }
}

fn backend(config: LdapConfig) -> LdapBackend {
    LdapBackend::new("corp", config).expect("valid LDAP settings")
}

async fn login(backend: &LdapBackend, user: &str, password: &str) -> Result<Outcome, AuthnError> {
    backend.authenticate(user, &Secret::new(password)).await
}

/// The identity of a successful login; panics with the outcome otherwise.
async fn identity(backend: &LdapBackend, user: &str, password: &str) -> Identity {
    match login(backend, user, password).await {
        Ok(Outcome::Authenticated(identity)) => identity,
        other => panic!("{user}: expected a login, got {other:?}"),
    }
}

/// The password of a seeded user.
fn password_of(user: &str) -> &'static str {
    ldif::USERS.iter().find(|(uid, _)| *uid == user).map(|(_, password)| *password).expect("a seeded user")
}

/// The DN of a seeded user under ou=people.
fn dn_of(user: &str) -> String {
    format!("uid={user},{}", ldif::PEOPLE)
}

/// Logs `user` in again and again until it works (a marked-down server is back after the
/// background probe: within its longest backoff, 10 s, plus a probe); how long that took.
async fn until_logged_in(backend: &LdapBackend, user: &str, password: &str) -> Duration {
    let started = Instant::now();
    loop {
        match login(backend, user, password).await {
            Ok(Outcome::Authenticated(_)) => return started.elapsed(),
            other => assert!(
                started.elapsed() < Duration::from_secs(30),
                "{user} cannot log in 30 s after the directory came back: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
