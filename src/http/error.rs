//! The one place that maps errors to HTTP statuses and bodies.
//!
//! GET `/token` answers in the registry's style (`{"errors":[{"code","message"}]}`); the OAuth2
//! POST answers `{"error","error_description"}` through [`OAuthError`]. Both take their status from
//! [`ApiError::status`]. 5xx bodies are generic; the detail goes to the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything the token service can answer with instead of a token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: bad scope, missing or unknown service, account mismatch, bad header.
    #[error("{0}")]
    BadRequest(String),
    /// The query string is longer than the limit.
    #[error("query string too long")]
    QueryTooLong,
    /// The request body is larger than the limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// The request target (path and query) is longer than `[limits] max_uri_bytes`.
    #[error("the request target is longer than {limit} bytes")]
    UriTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request head is over `[limits] max_header_bytes` or `max_headers` (what and by how
    /// much).
    #[error("request header fields too large: {0}")]
    HeadersTooLarge(String),
    /// The request body did not arrive within the body read timeout.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// The credentials are wrong (or name no known user).
    #[error("{0}")]
    Unauthorized(String),
    /// A refresh token that is invalid, expired, revoked, for another service, or whose user is
    /// gone: 401 on GET, OAuth2 `invalid_grant` with 400 on POST.
    #[error("{0}")]
    InvalidGrant(String),
    /// Too many failed logins: locked out for `retry_after` seconds (brute-force protection).
    #[error("too many failed logins: retry after {retry_after} seconds")]
    TooManyRequests {
        /// Seconds until the lockout ends (the `Retry-After` header).
        retry_after: u64,
    },
    /// The grant type is not supported (OAuth2 POST only).
    #[error("unsupported grant type {0:?}")]
    UnsupportedGrantType(String),
    /// No resource at this path.
    #[error("not found")]
    NotFound,
    /// An authentication backend is unavailable; the detail is logged, not sent.
    #[error("authentication service unavailable")]
    Unavailable(String),
    /// A bug or an unexpected failure (e.g. signing); the detail is logged, not sent.
    #[error("internal server error")]
    Internal(String),
    /// The front end's upstream could not be reached or failed; the detail is logged, not sent.
    #[error("upstream unavailable")]
    BadGateway(String),
    /// The front end's upstream did not answer in time; the detail is logged, not sent.
    #[error("upstream timed out")]
    GatewayTimeout(String),
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::UnsupportedGrantType(_) => StatusCode::BAD_REQUEST,
            ApiError::QueryTooLong | ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthorized(_) | ApiError::InvalidGrant(_) => StatusCode::UNAUTHORIZED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The registry-style error code.
    fn registry_code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::UnsupportedGrantType(_) => "INVALID_REQUEST",
            ApiError::QueryTooLong => "QUERY_TOO_LONG",
            ApiError::BodyTooLarge => "SIZE_INVALID",
            ApiError::UriTooLong { .. } => "URI_TOO_LONG",
            ApiError::HeadersTooLarge(_) => "HEADERS_TOO_LARGE",
            ApiError::RequestTimeout => "REQUEST_TIMEOUT",
            ApiError::Unauthorized(_) | ApiError::InvalidGrant(_) => "UNAUTHORIZED",
            ApiError::TooManyRequests { .. } => "TOOMANYREQUESTS",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::Unavailable(_) => "UNAVAILABLE",
            ApiError::Internal(_) => "UNKNOWN",
            ApiError::BadGateway(_) | ApiError::GatewayTimeout(_) => "UNAVAILABLE",
        }
    }

    /// The OAuth2 (RFC 6749 section 5.2) error code.
    fn oauth_code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) | ApiError::InvalidGrant(_) => "invalid_grant",
            ApiError::UnsupportedGrantType(_) => "unsupported_grant_type",
            ApiError::Unavailable(_)
            | ApiError::BadGateway(_)
            | ApiError::GatewayTimeout(_)
            | ApiError::TooManyRequests { .. } => "temporarily_unavailable",
            ApiError::Internal(_) => "server_error",
            _ => "invalid_request",
        }
    }

    /// `Retry-After` on a 429.
    fn add_retry_after(&self, response: &mut Response) {
        if let ApiError::TooManyRequests { retry_after } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
    }

    /// Logs server-side failures with their detail (never secrets: callers pass none).
    fn log(&self) {
        match self {
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "answering 503"),
            ApiError::Internal(detail) => tracing::error!(%detail, "answering 500"),
            ApiError::BadGateway(detail) => tracing::warn!(%detail, "answering 502"),
            ApiError::GatewayTimeout(detail) => tracing::warn!(%detail, "answering 504"),
            _ => {}
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let body = json!({"errors": [{"code": self.registry_code(), "message": self.to_string()}]});
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized(_) | ApiError::InvalidGrant(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"regent\""));
        }
        self.add_retry_after(&mut response);
        response
    }
}

/// An [`ApiError`] rendered as an OAuth2 error (the POST `/token` flavour). Never 403.
#[derive(Debug)]
pub struct OAuthError(pub ApiError);

impl From<ApiError> for OAuthError {
    fn from(err: ApiError) -> Self {
        OAuthError(err)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let err = self.0;
        err.log();
        let body = json!({"error": err.oauth_code(), "error_description": err.to_string()});
        // RFC 6749 section 5.2: invalid_grant is a 400 (a wrong password stays 401, which
        // containerd answers by retrying with GET).
        let status = match err {
            ApiError::InvalidGrant(_) => StatusCode::BAD_REQUEST,
            _ => err.status(),
        };
        let mut response = (status, Json(body)).into_response();
        err.add_retry_after(&mut response);
        response
    }
}
