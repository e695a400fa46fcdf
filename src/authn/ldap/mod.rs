//! The LDAP / Active Directory backend (ldap3 over rustls).
//!
//! Search mode binds a pooled service-account connection, finds exactly one entry with the
//! configured filter (`${user}` RFC 4515-escaped), then binds as that entry on a separate,
//! short-lived connection. Direct-bind mode binds as `user_dn` (`${user}` RFC 4514-escaped) and
//! reads its own entry. Groups come from an attribute (`memberOf`), a group search, and nested
//! expansion. The identity's name is always the entry's `login_attribute` value (the attribute
//! the filter or `user_dn` matches by default), never the name as typed: the directory matches
//! names case- and space-insensitively. Empty passwords are refused before any bind (many directories treat them as an
//! anonymous bind and answer success).
//!
//! Successful logins are cached ([`CredentialCache`]) for `cache_ttl`; with `max_stale`, a
//! cached identity up to that age is used while the directory is unreachable (logged each
//! time). Unreachable, timed-out or TLS-refusing servers are [`AuthnError::Unavailable`], never
//! a wrong password.
//!
//! Every connect (TLS included), bind and search is bounded (`connect_timeout`, `timeout`), and
//! so is the wait for a pooled connection. A server that fails is marked down and the same
//! login goes on with the next URL; down servers are re-probed in the background, never by a
//! login, and pooled connections to them are dropped (see `connector` and `servers`).

mod conn;
mod connector;
mod error;
mod escape;
mod groups;
mod login_name;
mod lookup;
mod pool;
mod recheck;
mod servers;
mod steps;
mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use self::connector::{ConnectSettings, Connector, ProbeBind};
pub use self::error::LdapError;
pub use self::escape::{escape_dn_value, escape_filter_value, first_rdn_value};
use self::pool::ServicePool;
use self::steps::Steps;
use crate::authn::cache::CredentialCache;
use crate::authn::{Authenticator, AuthnError, Lookup, Outcome, Trace};
use crate::config::{LdapConfig, LdapMode, NestedGroups};
use crate::secret::Secret;
use crate::untrusted::Escaped;

/// The most authenticated identities the backend remembers at once.
const CACHE_CAPACITY: usize = 10_000;

/// An LDAP or Active Directory server (or several, tried in order).
pub struct LdapBackend {
    /// The configured backend name (reported in [`crate::authn::Identity::backend`]).
    name: String,
    /// The validated settings.
    config: LdapConfig,
    /// Opens connections (URLs in order, TLS as configured), counts them, and knows which
    /// servers are down.
    connector: Arc<Connector>,
    /// Service-account connections (search mode; unused in direct-bind mode).
    pool: Option<ServicePool>,
    /// Recent successful logins; `None` when neither `cache_ttl` nor `max_stale` is set.
    cache: Option<CredentialCache>,
    /// How many binds as a user were sent.
    user_binds: AtomicU64,
    /// How many answers came from the stale cache ([`Authenticator::generation`]: the chain
    /// caches none of them).
    stale_answers: AtomicU64,
}

impl LdapBackend {
    /// A backend named `name`; checks the settings and loads the CA file (errors name it).
    /// Opens no connection: the first authentication does.
    pub fn new(name: &str, config: LdapConfig) -> Result<Self, LdapError> {
        let settings_error = |reason| LdapError::Settings { backend: name.to_owned(), reason };
        if config.urls.is_empty() {
            return Err(LdapError::NoUrls { backend: name.to_owned() });
        }
        if let Some(url) =
            config.urls.iter().find(|url| !url.starts_with("ldap://") && !url.starts_with("ldaps://"))
        {
            return Err(LdapError::BadUrl { backend: name.to_owned(), url: url.clone() });
        }
        if config.groups.nested == NestedGroups::AdInChain && config.groups.search.is_none() {
            return Err(settings_error("nested = \"ad_in_chain\" needs a group search (its base)"));
        }
        let tls = match &config.ca_file {
            Some(path) => Some(tls::client_config(name, path)?),
            None => None,
        };
        let settings = ConnectSettings {
            urls: config.urls.clone(),
            starttls: config.starttls,
            tls,
            connect_timeout: config.connect_timeout,
            timeout: config.timeout,
        };
        let probe_bind = match &config.mode {
            LdapMode::Search { bind_dn, bind_password, .. } => {
                ProbeBind::Service { dn: bind_dn.clone(), password: bind_password.clone() }
            }
            LdapMode::DirectBind { .. } => ProbeBind::Anonymous,
        };
        let connector = Connector::new(name, settings, probe_bind);
        let pool = match &config.mode {
            LdapMode::Search { bind_dn, bind_password, .. } => Some(ServicePool::new(
                bind_dn.clone(),
                bind_password.clone(),
                config.pool_size,
                config.timeout,
            )),
            LdapMode::DirectBind { .. } => None,
        };
        let retention = config.cache_ttl.max(config.max_stale.unwrap_or_default());
        let cache = (!retention.is_zero()).then(|| CredentialCache::new(retention, CACHE_CAPACITY));
        let (user_binds, stale_answers) = (AtomicU64::new(0), AtomicU64::new(0));
        Ok(Self { name: name.to_owned(), config, connector, pool, cache, user_binds, stale_answers })
    }

    /// How many connections were opened so far (pooled and per-login bind connections).
    pub fn connections_opened(&self) -> u64 {
        self.connector.opened()
    }

    /// How many binds as a user (not the service account) were sent so far.
    pub fn user_binds(&self) -> u64 {
        self.user_binds.load(Ordering::Relaxed)
    }

    /// How many service-account connections are idle in the pool now (to servers that are up).
    pub fn idle_connections(&self) -> usize {
        self.pool.as_ref().map_or(0, |pool| pool.idle_count(&self.connector))
    }

    /// Each configured server's URL and whether it is in use (`false`: marked down after a
    /// failure, until a background probe finds it answering).
    pub fn server_states(&self) -> Vec<(String, bool)> {
        self.connector.server_states()
    }

    /// How many service-account connections are in use by an operation now.
    pub fn connections_in_use(&self) -> usize {
        self.pool.as_ref().map_or(0, ServicePool::in_use)
    }

    /// Authenticates through the cache, the directory, and the stale cache during an outage.
    async fn run(&self, user: &str, password: &Secret, steps: &mut Steps<'_>) -> Result<Outcome, AuthnError> {
        if password.is_empty() {
            steps.record(|| "empty password: refused before any bind".to_owned());
            return Ok(Outcome::Denied);
        }
        if user.is_empty() {
            steps.record(|| "empty user name: no such user".to_owned());
            return Ok(Outcome::UnknownUser);
        }
        let now = Instant::now();
        let cached = self.cache.as_ref().and_then(|cache| cache.get_with_age(user, password, "", now));
        if let Some((identity, age)) = &cached
            && *age < self.config.cache_ttl
        {
            steps.record(|| format!("cache hit ({}s old): no directory request", age.as_secs()));
            return Ok(Outcome::Authenticated(identity.clone()));
        }
        match self.lookup(user, password, steps).await {
            Ok(Outcome::Authenticated(identity)) => {
                if let Some(cache) = &self.cache {
                    cache.insert(user, password, "", identity.clone(), now);
                }
                Ok(Outcome::Authenticated(identity))
            }
            Ok(refused) => {
                // This exact password was cached (kept for max_stale) and is refused now: it
                // must not come back as a stale identity during a later outage.
                if let (Some(cache), Some(_)) = (&self.cache, &cached) {
                    cache.remove(user, password, "");
                }
                Ok(refused)
            }
            Err(outage) => {
                if let Some((identity, age)) = cached.filter(|(_, age)| self.stale_allowed(*age)) {
                    tracing::warn!(
                        backend = self.name,
                        user = %Escaped(user),
                        age_secs = age.as_secs(),
                        reason = %outage.reason,
                        "LDAP directory unavailable: using a stale cached identity (max_stale)"
                    );
                    steps.record(|| {
                        format!(
                            "directory unavailable; using a cached identity {}s old (max_stale)",
                            age.as_secs()
                        )
                    });
                    self.stale_answers.fetch_add(1, Ordering::Relaxed);
                    return Ok(Outcome::Authenticated(identity));
                }
                steps.record(|| format!("unavailable: {}", outage.reason));
                Err(AuthnError::Unavailable { backend: self.name.clone(), reason: outage.reason })
            }
        }
    }

    /// Whether a cached identity `age` old may stand in while the directory is down.
    fn stale_allowed(&self, age: Duration) -> bool {
        self.config.max_stale.is_some_and(|max_stale| age < max_stale)
    }
}

#[async_trait]
impl Authenticator for LdapBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn cache_ttl(&self) -> Duration {
        self.config.cache_ttl
    }

    fn generation(&self) -> u64 {
        self.stale_answers.load(Ordering::Relaxed)
    }

    fn supports_lookup(&self) -> bool {
        matches!(self.config.mode, LdapMode::Search { .. })
    }

    /// Search mode: the service account finds the entry again (see `recheck`); an outage is an
    /// error, never "gone", and the stale cache is not used.
    async fn lookup(&self, name: &str) -> Result<Lookup, AuthnError> {
        self.recheck(name)
            .await
            .map_err(|outage| AuthnError::Unavailable { backend: self.name.clone(), reason: outage.reason })
    }

    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        self.run(user, password, &mut Steps::new(&self.name, None)).await
    }

    async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<Outcome, AuthnError> {
        let outcome = self.run(user, password, &mut Steps::new(&self.name, Some(&mut *trace))).await;
        trace.outcome(&self.name, outcome)
    }
}

impl std::fmt::Debug for LdapBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapBackend")
            .field("name", &self.name)
            .field("urls", &self.config.urls)
            .field("connections_opened", &self.connections_opened())
            .finish_non_exhaustive()
    }
}
