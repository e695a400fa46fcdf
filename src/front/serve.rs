//! The accept loop of one listener: TCP, then TLS when configured, then HTTP/1.1 or HTTP/2
//! (hyper-util's auto builder) serving the listener's router. On shutdown it stops accepting
//! (the socket is closed, so new connections are refused) and lets open connections finish
//! (HTTP/1.1 after the current response, HTTP/2 by GOAWAY) until the shutdown deadline, then
//! cuts the ones still open.
//!
//! Every timeout and cap of `[limits]` is applied here: connections over the caps (all
//! listeners, this listener, this client) are closed at once; request heads over the size
//! limits are answered 414 or 431 before routing ([`head`]); a connection with no request in flight for `idle_timeout` is closed, whatever state it
//! is in (nothing sent yet, TLS done but no request, an HTTP/2 preface and nothing more, a
//! request head arriving byte by byte, or idle between requests); HTTP/1.1 heads have
//! `header_read_timeout`, HTTP/2 connections keep-alive pings and a stream cap. When accepting
//! fails (e.g. "too many open files") the loop backs off, logs at WARN, and keeps going.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::activity::{Activity, TrackedBody};
use super::head::{self, http_builder};
use super::headers::forwarded_client;
use super::limits::{ConnectionLimiter, ConnectionPermit, LogThrottle, Refusal};
use super::routes::{LiveFront, listener_router};
use crate::config::LimitsConfig;
use crate::http::ForwardedClient;
use crate::http::token::FormLimits;

/// The first pause after a failed accept; it doubles on each failure in a row.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause after failed accepts.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The least time between two WARN lines about refused connections or failed accepts.
const WARN_INTERVAL: Duration = Duration::from_secs(10);
/// How long an idle connection may take to close once told to (then it is dropped).
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What every listener of the process shares: the limits (replaced whole when `regent.toml`
/// changes; new connections get the new ones) and the connection counts.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// `[limits]`, as of now.
    current: Arc<ArcSwap<LimitsConfig>>,
    /// Open connections over all listeners.
    pub connections: Arc<ConnectionLimiter>,
}

impl ServeLimits {
    /// `limits`, with a fresh connection count.
    pub fn new(limits: LimitsConfig) -> Self {
        let connections = ConnectionLimiter::new(limits.max_connections, limits.max_connections_per_client);
        Self { current: Arc::new(ArcSwap::from_pointee(limits)), connections }
    }

    /// The limits as of now.
    pub fn current(&self) -> LimitsConfig {
        **self.current.load()
    }

    /// Applies `limits` to the connections accepted from now on (open ones keep theirs).
    pub fn set(&self, limits: LimitsConfig) {
        self.connections.set_caps(limits.max_connections, limits.max_connections_per_client);
        self.current.store(Arc::new(limits));
    }
}

/// What the accept loops watch: `None` while serving; on shutdown, the time by which open
/// connections must have finished (then they are cut).
pub type StopSignal = watch::Receiver<Option<tokio::time::Instant>>;

/// Serves `front`'s router on `listener` (over TLS when `tls` is given) within `limits` until
/// `stop` names a deadline; then it stops accepting (new connections are refused), lets open
/// connections finish until the deadline and cuts the rest. Returns how many were cut.
/// The listener has its own cap (`max_connections_per_listener`) besides the shared ones.
/// Connections from the front's `trusted_proxies` are not capped per client (a load balancer
/// carries many clients).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    front: LiveFront,
    limits: ServeLimits,
    mut stop: StopSignal,
) -> io::Result<usize> {
    let app = listener_router(front.clone());
    let mut open = JoinSet::new();
    // This listener's own count: every connection counts once, whoever the client is.
    let on_listener = ConnectionLimiter::new(limits.current().max_connections_per_listener, usize::MAX);
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let (mut accept_warnings, mut refusal_warnings) =
        (LogThrottle::new(WARN_INTERVAL), LogThrottle::new(WARN_INTERVAL));
    let deadline = loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    accepted
                }
                Err(error) if per_connection(&error) => {
                    tracing::debug!(%error, "accept failed");
                    continue;
                }
                Err(error) => {
                    if let Some(held_back) = accept_warnings.allow(Instant::now()) {
                        tracing::warn!(%error, pause = ?backoff, held_back, "accept failed; pausing");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        deadline = stopped(&mut stop) => break deadline,
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            },
            Some(_) = open.join_next(), if !open.is_empty() => continue,
            deadline = stopped(&mut stop) => break deadline,
        };
        let client = peer.ip().to_canonical();
        let trusted = front.load().trusted_proxies.iter().any(|network| network.contains(&client));
        let current = limits.current();
        on_listener.set_caps(current.max_connections_per_listener, usize::MAX);
        let permits = on_listener
            .try_open(client, true)
            .map_err(|_| "max_connections_per_listener")
            .and_then(|listener_permit| match limits.connections.try_open(client, trusted) {
                Ok(permit) => Ok([listener_permit, permit]),
                Err(Refusal::Total) => Err("max_connections"),
                Err(Refusal::PerClient) => Err("max_connections_per_client"),
            });
        let permits = match permits {
            Ok(permits) => permits,
            Err(cap) => {
                if let Some(held_back) = refusal_warnings.allow(Instant::now()) {
                    let listener = listener.local_addr().ok();
                    tracing::warn!(
                        %peer,
                        ?listener,
                        cap,
                        held_back,
                        "connection refused: over [limits] {cap}"
                    );
                }
                drop(tcp);
                continue;
            }
        };
        let limits = current;
        let connection = Connection {
            builder: http_builder(&limits),
            app: app.clone(),
            peer,
            trusted,
            limits,
            stop: stop.clone(),
            _permits: permits,
        };
        open.spawn(connection.run(tcp, tls.clone()));
    };
    drop(listener);
    Ok(drain(open, deadline).await)
}

/// Waits until every connection in `open` has finished or `deadline` has passed; then cuts
/// (drops) those still open and returns how many they were.
async fn drain(mut open: JoinSet<()>, deadline: tokio::time::Instant) -> usize {
    let finished = async { while open.join_next().await.is_some() {} };
    if tokio::time::timeout_at(deadline, finished).await.is_ok() {
        return 0;
    }
    let cut = open.len();
    open.shutdown().await;
    cut
}

/// Whether an accept error concerns one connection only (reset before it was accepted), not
/// the process (out of file descriptors or memory).
fn per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

/// Resolves with the shutdown deadline once `stop` names one; when its sender is gone, with
/// a deadline that has passed (nobody is left to wait for).
async fn stopped(stop: &mut StopSignal) -> tokio::time::Instant {
    match stop.wait_for(Option::is_some).await {
        Ok(deadline) => deadline.unwrap_or_else(tokio::time::Instant::now),
        Err(_) => tokio::time::Instant::now(),
    }
}

/// One accepted connection, before its TLS handshake.
struct Connection {
    /// The HTTP settings.
    builder: auto::Builder<TokioExecutor>,
    /// The listener's router.
    app: Router,
    /// The client's address (given to handlers as `ConnectInfo<SocketAddr>`).
    peer: SocketAddr,
    /// Whether the peer is a trusted proxy (its `X-Forwarded-For` names the client).
    trusted: bool,
    /// The timeouts.
    limits: LimitsConfig,
    /// Names a deadline when the server shuts down.
    stop: StopSignal,
    /// Its places under the listener's and the shared connection caps, released when it ends.
    _permits: [ConnectionPermit; 2],
}

impl Connection {
    async fn run(self, tcp: TcpStream, tls: Option<TlsAcceptor>) {
        let _ = tcp.set_nodelay(true);
        let peer = self.peer;
        match tls {
            None => self.serve_http(tcp).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.limits.handshake_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => self.serve_http(stream).await,
                    Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            }
        }
    }

    async fn serve_http<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self { builder, app, peer, trusted, limits, mut stop, .. } = self;
        let activity = Activity::default();
        let requests = activity.clone();
        let form_limits =
            FormLimits { read_timeout: limits.body_read_timeout, max_bytes: limits.max_form_bytes };
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let refused = head::refusal(&request, &limits);
            if let Some(error) = &refused {
                tracing::info!(%peer, method = %request.method(), %error, "request refused");
            }
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(form_limits);
            if let Some(client) = trusted.then(|| forwarded_client(request.headers())).flatten() {
                request.extensions_mut().insert(ForwardedClient(client));
            }
            let in_flight = requests.begin();
            let app = app.clone();
            async move {
                let response = match refused {
                    Some(error) => error.into_response(),
                    None => app.oneshot(request).await?,
                };
                Ok::<_, std::convert::Infallible>(
                    response.map(|body| Body::new(TrackedBody::new(body, in_flight))),
                )
            }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let idle = tokio::select! {
            result = connection.as_mut() => return finished(peer, result),
            _ = stopped(&mut stop) => false,
            () = activity.idle_for(limits.idle_timeout) => true,
        };
        connection.as_mut().graceful_shutdown();
        if idle {
            tracing::debug!(%peer, timeout = ?limits.idle_timeout, "closing an idle connection");
            match tokio::time::timeout(IDLE_CLOSE_GRACE, connection).await {
                Ok(result) => finished(peer, result),
                Err(_) => tracing::debug!(%peer, "idle connection dropped"),
            }
        } else {
            // Draining for shutdown: requests in flight finish; a connection idle that long is
            // dropped (an HTTP/2 client that never acknowledges the GOAWAY would hold it).
            tokio::select! {
                result = connection.as_mut() => finished(peer, result),
                () = activity.idle_for(limits.idle_timeout) => {
                    tracing::debug!(%peer, "idle connection dropped while shutting down");
                }
            }
        }
    }
}

/// Logs how a connection ended, when with an error.
fn finished(peer: SocketAddr, result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
