//! The token service's HTTP interface: routes, extractors and the one error mapping.
//!
//! [`router`] builds the axum router that every listener serves; tests drive it in-process with
//! `tower::ServiceExt::oneshot` or over TCP through [`crate::server::run`].

pub mod basic;
pub mod error;
mod grant;
pub mod health;
pub mod lockout;
pub mod observe;
pub mod params;
pub mod token;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Json, Router};

use crate::authn::Chain;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::policy::PolicySet;
use crate::reload::Reloadable;
use crate::token::TokenIssuer;
use crate::token::refresh::{RefreshTokens, Revocations};

pub use error::{ApiError, OAuthError};

/// `GET /.well-known/jwks.json`: every trusted key (pending ones too) as a JWK Set, the same
/// set `regent keys jwks` writes, as of the last key reload.
async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.token_service().issuer.keys().jwks())
}

/// The longest query string `/token` accepts.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// The client address a trusted proxy forwarded (`X-Forwarded-For`), set per request by the
/// listener when the peer is one of its `trusted_proxies`; brute-force protection and the log
/// count the client by it instead of by the proxy's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardedClient(pub std::net::IpAddr);

/// What answers token requests, as one version of `regent.toml` configures it. A reload
/// builds a new one (sharing the parts whose settings did not change) and swaps it in whole;
/// a request uses the one current when it arrived, to its end.
#[derive(Clone)]
pub struct TokenService {
    /// The service name clients must ask for (the token's `aud`).
    pub service: Arc<str>,
    /// Signs tokens.
    pub issuer: Arc<TokenIssuer>,
    /// The authentication backends, in order.
    pub authn: Arc<Chain>,
    /// The current policy set (reloaded when the files change).
    pub policies: Arc<Reloadable<PolicySet>>,
    /// The clock tokens are issued by.
    pub clock: Arc<dyn Clock>,
    /// Mints and verifies refresh tokens; `None` when `refresh_ttl = "0s"`.
    pub refresh: Option<Arc<RefreshTokens>>,
    /// The refresh-token revocations (reloaded when `regent revoke` writes the file).
    pub revocations: Arc<Reloadable<Revocations>>,
    /// Brute-force protection: the failure counters (`[lockout]`), kept across reloads.
    pub lockout: Arc<lockout::Lockout>,
}

/// Everything a request handler needs, shared by all requests.
#[derive(Clone)]
pub struct AppState {
    /// The token service as of now.
    current: Arc<ArcSwap<TokenService>>,
    /// The Prometheus families, and each backend's last state for `/readyz`.
    pub metrics: Arc<Metrics>,
    /// Whether `/metrics` is served on plain-HTTP loopback listeners (true when no separate
    /// `[metrics] address` is configured).
    pub metrics_on_listeners: bool,
}

impl AppState {
    /// State serving `service`, counting in `metrics`.
    pub fn new(service: TokenService, metrics: Arc<Metrics>, metrics_on_listeners: bool) -> Self {
        Self { current: Arc::new(ArcSwap::from_pointee(service)), metrics, metrics_on_listeners }
    }

    /// The token service as of now; a request keeps it to its end.
    pub fn token_service(&self) -> Arc<TokenService> {
        self.current.load_full()
    }

    /// Serves `service` from the next request on (every clone of this state sees it).
    pub fn replace(&self, service: TokenService) {
        self.current.store(Arc::new(service));
    }

    /// Serves the current token service changed by `change` from the next request on.
    pub fn update(&self, change: impl FnOnce(&mut TokenService)) {
        let mut service = TokenService::clone(&self.token_service());
        change(&mut service);
        self.replace(service);
    }
}

/// The router: `/token` and `/auth/token` (GET and OAuth2 POST, counted by
/// [`observe::observe_token`]), `/healthz`, `/readyz` and `/.well-known/jwks.json`.
pub fn router(state: AppState) -> Router {
    let observed = from_fn_with_state(state.metrics.clone(), observe::observe_token);
    let token_routes = get(token::get_token).post(token::post_token).layer(observed);
    Router::new()
        .route("/token", token_routes.clone())
        .route("/auth/token", token_routes)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/.well-known/jwks.json", get(jwks))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

/// [`router`] plus `/metrics`, for listeners allowed to serve it.
pub fn router_with_metrics(state: AppState) -> Router {
    router(state.clone()).merge(metrics_router(state))
}

/// `/metrics` alone (merged into a listener's router, or served with `/healthz` and `/readyz`
/// on the separate `[metrics] address`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(health::metrics)).with_state(state)
}
