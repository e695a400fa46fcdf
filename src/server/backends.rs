//! The authentication backends `[[authn]]` names, in order, as the chain `regent serve` asks.

use std::sync::Arc;

use super::state::reload_observer;
use super::{RELOAD_INTERVAL, ServerError};
use crate::authn::htpasswd::{BcryptLimits, HtpasswdBackend};
use crate::authn::http::HttpBackend;
use crate::authn::ldap::LdapBackend;
use crate::authn::{Authenticator, Chain};
use crate::clock::Clock;
use crate::config::{BackendConfig, Config};
use crate::metrics::Metrics;

/// Builds the authentication backends named by `config`, in order, as `regent serve` does
/// (htpasswd file watchers included), without metrics. Must be called inside a tokio runtime.
pub fn build_chain(config: &Config) -> Result<Chain, ServerError> {
    Ok(Chain::new(build_backends(config, None, None)?))
}

/// Like [`build_chain`], each backend's calls, the cache, the LDAP pools and the htpasswd
/// reloads counted in `metrics` (at `clock`'s time).
pub fn build_chain_metered(
    config: &Config,
    metrics: &Arc<Metrics>,
    clock: &dyn Clock,
) -> Result<Chain, ServerError> {
    let backends = build_backends(config, Some(metrics), Some(clock))?;
    Ok(Chain::metered(backends, Arc::clone(metrics)))
}

fn build_backends(
    config: &Config,
    metrics: Option<&Arc<Metrics>>,
    clock: Option<&dyn Clock>,
) -> Result<Vec<Arc<dyn Authenticator>>, ServerError> {
    let mut backends: Vec<Arc<dyn Authenticator>> = Vec::new();
    for authn in &config.authn {
        match &authn.backend {
            BackendConfig::Htpasswd { file, groups, cache_ttl, max_bcrypt_cost, verify_queue_timeout } => {
                let limits =
                    BcryptLimits { max_cost: *max_bcrypt_cost, queue_timeout: *verify_queue_timeout };
                let backend =
                    HtpasswdBackend::open(&authn.name, file.clone(), groups.clone(), *cache_ttl, limits)?;
                if let (Some(metrics), Some(clock)) = (metrics, clock) {
                    backend.set_reload_observer(reload_observer(metrics, None));
                    metrics.record_reload_loaded("htpasswd", clock.now().unix_timestamp());
                    if groups.is_some() {
                        metrics.record_reload_loaded("groups", clock.now().unix_timestamp());
                    }
                }
                backend.spawn_watchers(RELOAD_INTERVAL);
                backends.push(Arc::new(backend));
            }
            BackendConfig::Ldap { config } => {
                let backend = LdapBackend::new(&authn.name, config.clone()).map_err(|error| {
                    ServerError::Backend { name: authn.name.clone(), error: error.into() }
                })?;
                let backend = Arc::new(backend);
                if let Some(metrics) = metrics {
                    let pool = Arc::downgrade(&backend);
                    metrics.register_pool(&authn.name, move || {
                        pool.upgrade().map_or(0, |ldap| ldap.connections_in_use() as i64)
                    });
                    let servers = Arc::downgrade(&backend);
                    metrics.register_ldap_servers(&authn.name, move || {
                        servers.upgrade().map(|ldap| ldap.server_states()).unwrap_or_default()
                    });
                }
                backends.push(backend);
            }
            BackendConfig::Http { config } => {
                let backend = HttpBackend::new(&authn.name, config.clone()).map_err(|error| {
                    ServerError::Backend { name: authn.name.clone(), error: error.into() }
                })?;
                backends.push(Arc::new(backend));
            }
        }
    }
    Ok(backends)
}
