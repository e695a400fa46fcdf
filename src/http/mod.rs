//! The token service's HTTP interface: routes, extractors and the one error mapping.
//!
//! [`router`] builds the axum router that every listener serves; tests drive it in-process with
//! `tower::ServiceExt::oneshot` or over TCP through [`crate::server::run`].

pub mod basic;
pub mod error;
pub mod params;
pub mod token;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::authn::Chain;
use crate::clock::Clock;
use crate::policy::PolicySet;
use crate::reload::Reloadable;
use crate::token::TokenIssuer;

pub use error::{ApiError, OAuthError};

/// `GET /.well-known/jwks.json`: every trusted key (pending ones too) as a JWK Set, the same
/// set `regent keys jwks` writes, as of the last key reload.
async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.issuer.keys().jwks())
}

/// The longest query string `/token` accepts.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// The largest POST `/token` body accepted.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Everything a request handler needs, shared by all requests.
#[derive(Clone)]
pub struct AppState {
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
}

/// The router: `/token` and `/auth/token` (GET and OAuth2 POST), `/healthz` and
/// `/.well-known/jwks.json`.
pub fn router(state: AppState) -> Router {
    let token_routes = get(token::get_token).post(token::post_token);
    Router::new()
        .route("/token", token_routes.clone())
        .route("/auth/token", token_routes)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/.well-known/jwks.json", get(jwks))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}
