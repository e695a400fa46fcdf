//! [`Server`]: every listener served (TLS where it has certificates; token paths in-process,
//! the rest proxied), the parts a changed `regent.toml` replaces, and the shutdown: stop
//! accepting, let open connections finish within `[front] shutdown_timeout`, cut the rest.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::listeners::{BoundListener, ServedListener};
use super::reconfigure::{ConfigWatch, watch_config};
use super::state::reload_observer;
use super::{RELOAD_INTERVAL, ServerError};
use crate::config::{Config, FrontConfig, LimitsConfig};
use crate::front::Proxy;
use crate::front::serve::{ServeLimits, serve};
use crate::front::server_config;
use crate::http::{AppState, router, router_with_metrics};

/// What a changed `regent.toml` replaces in a running server.
pub(super) struct LiveServer {
    /// The token service (swapped whole), the metrics and the lockout counters.
    pub(super) state: AppState,
    /// `[limits]` and the connection counts of every listener.
    pub(super) limits: ServeLimits,
    /// The listeners being served.
    pub(super) listeners: Vec<ServedListener>,
    /// The upstream client every listener proxies with (rebuilt when its timeouts change).
    pub(super) proxy: Mutex<Proxy>,
    /// `[front] shutdown_timeout`.
    pub(super) shutdown_timeout: Mutex<Duration>,
}

/// A proxy with `front`'s timeouts, counted in `state`'s metrics.
pub(super) fn new_proxy(front: &FrontConfig, state: &AppState) -> Proxy {
    Proxy::new(front.connect_timeout, front.response_timeout).metered(Arc::clone(&state.metrics))
}

/// Locks `mutex`, keeping on after a panic elsewhere (the values are replaced whole).
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Listeners ready to serve, and what a reload may change while they do.
pub struct Server {
    /// The sockets and their TLS acceptors, in the order of `live.listeners`.
    sockets: Vec<(TcpListener, Option<TlsAcceptor>)>,
    /// What a reload replaces.
    live: Arc<LiveServer>,
}

impl Server {
    /// Prepares every listener: TLS where it has certificates (watched, reloaded when their
    /// files change), token paths in-process, the rest proxied per `front`'s routes and the
    /// listener's upstream, within `limits` (the connection caps count all listeners
    /// together). Must be called inside a tokio runtime.
    pub fn new(
        listeners: Vec<BoundListener>,
        front: &FrontConfig,
        limits: &LimitsConfig,
        state: AppState,
    ) -> Result<Self, ServerError> {
        let (app, app_with_metrics) = (router(state.clone()), router_with_metrics(state.clone()));
        let proxy = new_proxy(front, &state);
        let (mut sockets, mut served) = (Vec::new(), Vec::new());
        for bound in listeners {
            let addr = bound.listener.local_addr()?;
            let acceptor = match &bound.tls {
                Some(store) => {
                    store.set_reload_observer(reload_observer(&state.metrics, Some("certificate")));
                    store.spawn_watchers(RELOAD_INTERVAL);
                    Some(TlsAcceptor::from(server_config(store.clone())?))
                }
                None => None,
            };
            let tls = acceptor.is_some();
            let upstream = bound.upstream.as_ref().map(ToString::to_string);
            tracing::info!(%addr, tls, upstream = upstream.as_deref().unwrap_or("none"), "listening");
            // `/metrics` tells who is logging in how often: only on plain loopback listeners (or
            // the separate `[metrics] address`, see `serve_metrics`).
            let serves_metrics = state.metrics_on_listeners && !tls && addr.ip().is_loopback();
            let app = if serves_metrics { app_with_metrics.clone() } else { app.clone() };
            served.push(ServedListener::new(&bound, app, front, proxy.clone()));
            sockets.push((bound.listener, acceptor));
        }
        let live = LiveServer {
            limits: ServeLimits::new(*limits),
            listeners: served,
            proxy: Mutex::new(proxy),
            shutdown_timeout: Mutex::new(front.shutdown_timeout),
            state,
        };
        Ok(Self { sockets, live: Arc::new(live) })
    }

    /// Watches `running.path` (and listens for SIGHUP) and applies every good new version of
    /// it to this server (what applies without a restart: see the README's "Reloading
    /// `regent.toml`"). Watching ends when the returned handle is dropped.
    pub fn watch_config(&self, running: Config) -> Result<ConfigWatch, ServerError> {
        watch_config(Arc::clone(&self.live), running)
    }

    /// Serves until `shutdown` resolves; then stops accepting (new connections are refused)
    /// and lets open connections finish within the `[front] shutdown_timeout` current then;
    /// those still open after it are cut (and counted in the log).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
        let Self { sockets, live } = self;
        let (stop_tx, stop_rx) = watch::channel(None);
        let mut tasks = tokio::task::JoinSet::new();
        for ((listener, acceptor), served) in sockets.into_iter().zip(&live.listeners) {
            let front = Arc::clone(&served.front);
            tasks.spawn(serve(listener, acceptor, front, live.limits.clone(), stop_rx.clone()));
        }
        tokio::pin!(shutdown);
        let (mut stopping, mut cut) = (None, 0);
        loop {
            tokio::select! {
                () = &mut shutdown, if stopping.is_none() => {
                    let timeout = *lock(&live.shutdown_timeout);
                    let open = live.limits.connections.open();
                    tracing::info!(open, ?timeout, "shutting down: refusing new connections, letting open ones finish");
                    stopping = Some(timeout);
                    let _ = stop_tx.send(Some(tokio::time::Instant::now() + timeout));
                }
                joined = tasks.join_next() => match joined {
                    Some(result) => cut += result.map_err(|e| std::io::Error::other(e.to_string()))??,
                    None => break,
                },
            }
        }
        if let Some(timeout) = stopping {
            if cut > 0 {
                tracing::warn!(
                    cut,
                    ?timeout,
                    "shutdown: cut {cut} connections still open after shutdown_timeout"
                );
            } else {
                tracing::info!("shutdown: every open connection finished");
            }
        }
        Ok(())
    }
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

/// [`Server::new`] then [`Server::run`]: serves every listener until `shutdown` resolves, then
/// stops accepting and lets open connections finish within `front`'s `shutdown_timeout`.
pub async fn run_listeners(
    listeners: Vec<BoundListener>,
    front: &FrontConfig,
    limits: &LimitsConfig,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::new(listeners, front, limits, state)?.run(shutdown).await
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
