//! The token routes' metrics layer: every token request is counted once, by outcome, grant
//! type and backend, and timed.
//!
//! The outcome comes from the response status; the grant type, backend and whether the
//! policies refused part of the request are noted by the grant path with [`note_grant`] and
//! [`note_refusals`] (a task-local slot the layer opens around the handler, so handlers keep
//! their signatures).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::{GrantType, Metrics, TokenOutcome};

/// What the grant path tells the layer about one request.
#[derive(Debug, Clone)]
struct GrantNote {
    /// How the client authenticated.
    grant_type: GrantType,
    /// The backend that authenticated the user (empty: none).
    backend: String,
    /// Whether the policies refused some requested action.
    refused: bool,
}

tokio::task_local! {
    /// The note of the request the current task is serving.
    static NOTE: RefCell<GrantNote>;
}

/// Notes how the client authenticated and which backend accepted it (empty: none).
pub fn note_grant(grant_type: GrantType, backend: &str) {
    let _ = NOTE.try_with(|note| {
        let mut note = note.borrow_mut();
        note.grant_type = grant_type;
        note.backend = backend.to_owned();
    });
}

/// Notes that the policies refused some of the requested actions.
pub fn note_refusals(refused: bool) {
    let _ = NOTE.try_with(|note| note.borrow_mut().refused = refused);
}

/// The middleware: runs the handler with a fresh note, then records the request.
pub async fn observe_token(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let note = GrantNote { grant_type: GrantType::Unknown, backend: String::new(), refused: false };
    let (response, note) = NOTE
        .scope(RefCell::new(note), async move {
            let response = next.run(request).await;
            let note = NOTE.with(|note| note.borrow().clone());
            (response, note)
        })
        .await;
    let outcome = outcome(response.status(), note.refused);
    metrics.record_token(outcome, note.grant_type, &note.backend, started.elapsed());
    response
}

/// The outcome a status stands for.
fn outcome(status: StatusCode, refused: bool) -> TokenOutcome {
    match status {
        StatusCode::OK if refused => TokenOutcome::Denied,
        StatusCode::OK => TokenOutcome::Issued,
        StatusCode::UNAUTHORIZED => TokenOutcome::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => TokenOutcome::Locked,
        StatusCode::SERVICE_UNAVAILABLE => TokenOutcome::Unavailable,
        status if status.is_client_error() => TokenOutcome::BadRequest,
        _ => TokenOutcome::Error,
    }
}
