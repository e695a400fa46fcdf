//! Serving: [`build_state`] turns a validated config into the shared state, and [`run`] serves
//! the router on already-bound listeners until `shutdown` resolves (tests bind `127.0.0.1:0`).
//! [`bind_listeners`] and [`run_listeners`] do the same for `[[listen]]` entries with TLS and
//! an upstream registry (the front end, [`crate::front`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Uri;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::audit::AuditLog;
use crate::authn::htpasswd::{BcryptLimits, HtpasswdBackend};
use crate::authn::http::HttpBackend;
use crate::authn::ldap::LdapBackend;
use crate::authn::{Authenticator, Chain};
use crate::clock::Clock;
use crate::config::{BackendConfig, Config, FrontConfig, LimitsConfig, ListenConfig};
use crate::front::serve::{ServeLimits, serve};
use crate::front::{CertificateStore, ListenerFront, ListenerRoutes, Proxy, listener_router, server_config};
use crate::http::lockout::Lockout;
use crate::http::{AppState, router, router_with_metrics};
use crate::metrics::{Metrics, ReloadResult};
use crate::policy::PolicySet;
use crate::reload::{ReloadObserver, Reloadable};
use crate::token::refresh::{RefreshTokens, Revocations, RevocationsError};
use crate::token::{KeySet, TokenIssuer, compatibility_warnings, load_key_set, watched_paths};

/// How often watched files (policies, htpasswd, groups, signing keys) are checked for changes: a change is
/// live within this plus [`crate::reload::SETTLE_TIME`] (1 s), so replicas agree within 2 s.
pub const RELOAD_INTERVAL: Duration = Duration::from_millis(500);

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
    /// The revocations file is invalid.
    #[error(transparent)]
    Revocations(#[from] RevocationsError),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
    /// A listen address could not be bound.
    #[error("binding {address}: {error}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A TLS certificate or key could not be loaded.
    #[error(transparent)]
    Front(#[from] crate::front::FrontError),
    /// The `[log] audit_file` could not be opened.
    #[error(transparent)]
    AuditFile(#[from] crate::audit::AuditFileError),
}

/// Loads keys, backends and policies named by `config`, and starts their file watchers.
/// Must be called inside a tokio runtime.
pub fn build_state(config: &Config, clock: Arc<dyn Clock>) -> Result<AppState, ServerError> {
    let metrics = Arc::new(Metrics::new());
    let keys = watch_keys(config)?;
    keys.set_observer(reload_observer(&metrics, Some("keys")));
    metrics.record_reload_loaded("keys", clock.now().unix_timestamp());
    let issuer = TokenIssuer::watched(
        keys,
        config.token.issuer.clone(),
        config.token.service.clone(),
        config.token.ttl,
    );
    let policies = watch_policies(config.policy.directory.clone())?;
    policies.set_observer(reload_observer(&metrics, None));
    metrics.record_reload_loaded("policies", clock.now().unix_timestamp());
    let revocations = watch_revocations(config.refresh.revocations.clone())?;
    revocations.set_observer(reload_observer(&metrics, Some("revocations")));
    metrics.record_reload_loaded("revocations", clock.now().unix_timestamp());
    let refresh = RefreshTokens::new(&config.token.issuer, &config.token.service, config.refresh.ttl);
    Ok(AppState {
        service: config.token.service.as_str().into(),
        issuer: Arc::new(issuer),
        authn: Arc::new(build_chain_metered(config, &metrics, clock.as_ref())?),
        policies,
        clock,
        refresh: refresh.map(Arc::new),
        revocations,
        metrics_on_listeners: config.metrics.address.is_none(),
        lockout: Arc::new(Lockout::new(config.lockout, Arc::clone(&metrics))),
        audit: AuditLog::open(config.log.audit_file.as_deref())?,
        metrics,
    })
}

/// Counts every reload in `metrics`, under `what` or else the reloadable's own kind.
fn reload_observer(metrics: &Arc<Metrics>, what: Option<&'static str>) -> ReloadObserver {
    let metrics = Arc::clone(metrics);
    Arc::new(move |kind, loaded, wall| {
        let result = if loaded { ReloadResult::Ok } else { ReloadResult::Failed };
        metrics.record_reload(what.unwrap_or(kind), result, wall.unix_timestamp());
    })
}

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

/// Loads the signing keys once (an error is fatal) and watches their files: a rotation, an
/// activation or a retirement is live within two seconds; a broken pair is logged and the
/// last good key set keeps signing. Registry compatibility warnings are logged at each load.
fn watch_keys(config: &Config) -> Result<Arc<Reloadable<KeySet>>, ServerError> {
    let token = config.token.clone();
    let keys = Reloadable::new("signing keys", watched_paths(&config.token), move || {
        load_key_set(&token).inspect(|keys| {
            for warning in compatibility_warnings(keys) {
                tracing::warn!("{warning}");
            }
        })
    })?;
    keys.spawn_watcher(RELOAD_INTERVAL);
    Ok(keys)
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

/// Loads the refresh-token revocations (a missing file revokes nothing; a broken one is fatal
/// at start and keeps the last good version later) and watches the file.
fn watch_revocations(path: PathBuf) -> Result<Arc<Reloadable<Revocations>>, ServerError> {
    let file = path.clone();
    let revocations = Reloadable::new("revocations", vec![path], move || Revocations::load(&file))?;
    revocations.spawn_watcher(RELOAD_INTERVAL);
    Ok(revocations)
}

/// A bound socket and what it serves: plain HTTP or TLS, and the registry behind it.
#[derive(Debug)]
pub struct BoundListener {
    /// The bound socket.
    pub listener: TcpListener,
    /// The address as configured; `[[front.route]]` entries name listeners by it.
    pub address: SocketAddr,
    /// The certificates, for a TLS listener.
    pub tls: Option<Arc<CertificateStore>>,
    /// The registry that requests other than regent's own paths go to.
    pub upstream: Option<Uri>,
    /// The peers whose forwarding headers are kept (`trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl BoundListener {
    /// A plain-HTTP listener with no upstream (regent's token service alone).
    pub fn plain(listener: TcpListener) -> Result<Self, ServerError> {
        let address = listener.local_addr()?;
        Ok(Self { listener, address, tls: None, upstream: None, trusted_proxies: Vec::new() })
    }
}

/// Binds every `[[listen]]` entry and loads its certificates. Must be called inside a tokio
/// runtime.
pub async fn bind_listeners(listen: &[ListenConfig]) -> Result<Vec<BoundListener>, ServerError> {
    let mut bound = Vec::with_capacity(listen.len());
    for entry in listen {
        let address = entry.address;
        let listener =
            TcpListener::bind(address).await.map_err(|error| ServerError::Bind { address, error })?;
        let tls = entry.tls.as_ref().map(CertificateStore::load).transpose()?;
        bound.push(BoundListener {
            listener,
            address,
            tls,
            upstream: entry.upstream.clone(),
            trusted_proxies: entry.trusted_proxies.clone(),
        });
    }
    Ok(bound)
}

/// Reloads the certificates of `listeners` on every SIGHUP (files are also reloaded when they
/// change). Must be called inside a tokio runtime.
pub fn reload_certificates_on_sighup(listeners: &[BoundListener]) -> Result<(), ServerError> {
    let stores: Vec<Arc<CertificateStore>> = listeners.iter().filter_map(|bound| bound.tls.clone()).collect();
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading TLS certificates");
            for store in &stores {
                if let Err(error) = store.force_reload() {
                    tracing::error!(%error, "keeping the last good certificates");
                }
            }
        }
    });
    Ok(())
}

/// Serves `/metrics`, `/healthz` and `/readyz` of `state` on `listener` (the `[metrics]
/// address`, plain HTTP) until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let app = crate::http::metrics_router(state.clone()).merge(health_router(state));
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

fn health_router(state: AppState) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(crate::http::health::healthz))
        .route("/readyz", get(crate::http::health::readyz))
        .with_state(state)
}

/// Serves `state` on plain-HTTP listeners until `shutdown` resolves, then drains open
/// connections. See [`run_listeners`] for TLS and proxying.
pub async fn run(
    listeners: Vec<TcpListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listeners = listeners.into_iter().map(BoundListener::plain).collect::<Result<Vec<_>, _>>()?;
    run_listeners(listeners, &FrontConfig::default(), &LimitsConfig::default(), state, shutdown).await
}

/// Serves every listener (TLS where it has certificates; token paths in-process, the rest
/// proxied per `front`'s routes and the listener's upstream) within `limits` (the connection
/// caps count all listeners together) until `shutdown` resolves, then stops accepting and lets
/// open connections finish.
pub async fn run_listeners(
    listeners: Vec<BoundListener>,
    front: &FrontConfig,
    limits: &LimitsConfig,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let metrics = Arc::clone(&state.metrics);
    let metrics_on_listeners = state.metrics_on_listeners;
    let (app, app_with_metrics) = (router(state.clone()), router_with_metrics(state));
    let proxy = Proxy::new(front.connect_timeout, front.response_timeout).metered(Arc::clone(&metrics));
    let serve_limits = ServeLimits::new(*limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for bound in listeners {
        let addr = bound.listener.local_addr()?;
        let acceptor = match &bound.tls {
            Some(store) => {
                store.set_reload_observer(reload_observer(&metrics, Some("certificate")));
                store.spawn_watchers(RELOAD_INTERVAL);
                Some(TlsAcceptor::from(server_config(store.clone())?))
            }
            None => None,
        };
        let tls = acceptor.is_some();
        let upstream = bound.upstream.as_ref().map(Uri::to_string);
        tracing::info!(%addr, tls, upstream = upstream.as_deref().unwrap_or("none"), "listening");
        let routes = ListenerRoutes::new(bound.address, bound.upstream, &front.routes);
        let trusted_proxies: Arc<[ipnet::IpNet]> = bound.trusted_proxies.into();
        // `/metrics` tells who is logging in how often: only on plain loopback listeners (or
        // the separate `[metrics] address`, see `serve_metrics`).
        let serves_metrics = metrics_on_listeners && !tls && addr.ip().is_loopback();
        let front = ListenerFront {
            app: if serves_metrics { app_with_metrics.clone() } else { app.clone() },
            routes,
            proxy: proxy.clone(),
            tls,
            trusted_proxies: trusted_proxies.clone(),
        };
        let router = listener_router(front);
        tasks.spawn(serve(
            bound.listener,
            acceptor,
            router,
            serve_limits.clone(),
            trusted_proxies,
            stop_rx.clone(),
        ));
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
