//! `/healthz` (the process answers), `/readyz` (keys, policies and each backend's last state)
//! and `/metrics` (the Prometheus exposition).

use axum::Json;
use axum::extract::{RawQuery, State};
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
///
/// `?exclude=backends` (kube-apiserver's `/readyz?exclude=` form) leaves the backends out of
/// the verdict: an outage of a directory every replica shares would take them all out of a
/// load balancer, and a replica taken out gets no more logins that could show it is back.
pub async fn readyz(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let exclude_backends = match excludes_backends(query.as_deref()) {
        Ok(exclude) => exclude,
        Err(error) => return error.into_response(),
    };
    let keys = !state.token_service().issuer.keys().keys().is_empty();
    let policies = true; // a policy set is loaded before the server starts, and stays loaded
    let mut readiness = Readiness::new(keys, policies, state.metrics.backend_states());
    if exclude_backends {
        readiness = readiness.excluding_backends();
    }
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(readiness)).into_response()
}

/// Whether `/readyz`'s query is `exclude=backends` (`false` without a query); anything else is
/// a 400 naming the checks that can be excluded.
fn excludes_backends(query: Option<&str>) -> Result<bool, ApiError> {
    let Some(query) = query.filter(|query| !query.is_empty()) else {
        return Ok(false);
    };
    if query.split('&').all(|pair| pair == "exclude=backends") {
        return Ok(true);
    }
    Err(ApiError::BadRequest("/readyz takes only `exclude=backends`".to_owned()))
}

/// `GET /metrics`: the exposition in OpenMetrics text.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => ApiError::Internal(format!("encoding metrics: {error}")).into_response(),
    }
}
