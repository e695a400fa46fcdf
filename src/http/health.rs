//! `/healthz` (the process answers), `/readyz` (keys, policies and each backend's last state)
//! and `/metrics` (the Prometheus exposition).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::metrics::{CONTENT_TYPE, Readiness};

/// `GET /healthz`: 200 while the process serves requests.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 when signing keys and policies are loaded and no backend's last call was
/// an outage; else 503. The JSON body names each part's state (no error details).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let keys = !state.token_service().issuer.keys().keys().is_empty();
    let policies = true; // a policy set is loaded before the server starts, and stays loaded
    let readiness = Readiness::new(keys, policies, state.metrics.backend_states());
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(readiness)).into_response()
}

/// `GET /metrics`: the exposition in OpenMetrics text.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => ApiError::Internal(format!("encoding metrics: {error}")).into_response(),
    }
}
