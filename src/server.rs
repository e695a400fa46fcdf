//! Serving: [`build_state`] turns a validated config into the shared state, and [`run`] serves
//! the router on already-bound listeners until `shutdown` resolves (tests bind `127.0.0.1:0`).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::authn::htpasswd::HtpasswdBackend;
use crate::authn::http::HttpBackend;
use crate::authn::{Authenticator, Chain};
use crate::clock::Clock;
use crate::config::{BackendConfig, Config, LdapConfig};
use crate::http::{AppState, router};
use crate::policy::PolicySet;
use crate::reload::Reloadable;
use crate::token::{KeySet, SigningKey, TokenIssuer};

/// How often watched files (policies, htpasswd, groups) are checked for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Errors building the server's state from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A signing key or certificate could not be loaded.
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    /// A policy file is invalid.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// An htpasswd or groups file is invalid.
    #[error(transparent)]
    Htpasswd(#[from] crate::authn::htpasswd::HtpasswdError),
    /// An authentication backend could not be set up (e.g. a bad CA file).
    #[error("authn backend {name:?}: {error}")]
    Backend {
        /// The backend's configured name.
        name: String,
        /// What went wrong.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Serving failed.
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Loads keys, backends and policies named by `config`, and starts their file watchers.
/// Must be called inside a tokio runtime.
pub fn build_state(config: &Config, clock: Arc<dyn Clock>) -> Result<AppState, ServerError> {
    let keys = config
        .token
        .keys
        .iter()
        .map(|k| SigningKey::load(&k.key, &k.certificate))
        .collect::<Result<Vec<_>, _>>()?;
    let issuer = TokenIssuer::new(
        KeySet::new(keys)?,
        config.token.issuer.clone(),
        config.token.service.clone(),
        config.token.ttl,
    );
    let policies = watch_policies(config.policy.directory.clone())?;
    Ok(AppState {
        service: config.token.service.as_str().into(),
        issuer: Arc::new(issuer),
        authn: Arc::new(build_chain(config)?),
        policies,
        clock,
    })
}

/// Builds the authentication backends named by `config`, in order, as `regent serve` does
/// (htpasswd file watchers included). Must be called inside a tokio runtime.
pub fn build_chain(config: &Config) -> Result<Chain, ServerError> {
    let mut backends: Vec<Arc<dyn Authenticator>> = Vec::new();
    for authn in &config.authn {
        match &authn.backend {
            BackendConfig::Htpasswd { file, groups, cache_ttl } => {
                let backend = HtpasswdBackend::open(&authn.name, file.clone(), groups.clone(), *cache_ttl)?;
                backend.spawn_watchers(RELOAD_INTERVAL);
                backends.push(Arc::new(backend));
            }
            BackendConfig::Ldap { config } => backends.push(ldap_backend(&authn.name, config)?),
            BackendConfig::Http { config } => {
                let backend = HttpBackend::new(&authn.name, config.clone()).map_err(|error| {
                    ServerError::Backend { name: authn.name.clone(), error: error.into() }
                })?;
                backends.push(Arc::new(backend));
            }
        }
    }
    Ok(Chain::new(backends))
}

/// The LDAP backend named `name`.
fn ldap_backend(name: &str, config: &LdapConfig) -> Result<Arc<dyn Authenticator>, ServerError> {
    let backend = crate::authn::ldap::LdapBackend::new(name, config.clone())
        .map_err(|error| ServerError::Backend { name: name.to_owned(), error: Box::new(error) })?;
    Ok(Arc::new(backend))
}

/// Loads the policy directory once (an error is fatal) and watches it for changes.
fn watch_policies(directory: PathBuf) -> Result<Arc<Reloadable<PolicySet>>, ServerError> {
    let dir = directory.clone();
    let policies = Reloadable::new("policies", vec![directory], move || {
        PolicySet::load_dir(&dir).map(|loaded| {
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            loaded.set
        })
    })?;
    policies.spawn_watcher(RELOAD_INTERVAL);
    Ok(policies)
}

/// Serves `state` on every listener until `shutdown` resolves, then drains open connections.
pub async fn run(
    listeners: Vec<TcpListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let app = router(state);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "listening (plain HTTP)");
        let mut stop = stop_rx.clone();
        let service = app.clone().into_make_service_with_connect_info::<SocketAddr>();
        tasks.spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await
        });
    }
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    while let Some(result) = tasks.join_next().await {
        result.map_err(|e| std::io::Error::other(e.to_string()))??;
    }
    Ok(())
}
