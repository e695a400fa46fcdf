//! `GET /token` (distribution token spec) and `POST /token` (OAuth2 password and refresh
//! grants): request parsing and the answer's shape; the grants themselves are in `grant`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::body::to_bytes;
use axum::extract::{ConnectInfo, Request, State};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::basic::{
    BasicCredentials, Presented, checked_user_name, presented_credentials, single_authorization,
};
use super::error::{ApiError, OAuthError};
use super::grant::{Credentials, grant, granted_scopes};
use super::params::Params;
use super::{AppState, ForwardedClient, MAX_QUERY_BYTES, TokenService};
use crate::scope::parse_scopes;
use crate::secret::Secret;
use crate::token::IssuedToken;

/// How long a `POST /token` form may take to arrive and how large it may be, set per request
/// by the listener (from `[limits] body_read_timeout` and `max_form_bytes`); without it the
/// defaults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormLimits {
    /// The whole form must have arrived by then (else 408).
    pub read_timeout: Duration,
    /// The largest form (else 413).
    pub max_bytes: usize,
}

impl Default for FormLimits {
    fn default() -> Self {
        let limits = crate::config::LimitsConfig::default();
        Self { read_timeout: limits.body_read_timeout, max_bytes: limits.max_form_bytes }
    }
}

/// The JSON answer of `GET /token`.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub token: String,
    /// The same JWT (OAuth2 name).
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Issue time, RFC 3339.
    pub issued_at: String,
    /// A refresh token (docker stores it as `identitytoken`), with `offline_token=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The JSON answer of `POST /token`.
#[derive(Debug, Serialize)]
pub struct OAuthTokenResponse {
    /// The JWT.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Issue time, RFC 3339.
    pub issued_at: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// A refresh token, with `access_type=offline` on a password grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// `GET /token?service=...&scope=...` with optional HTTP Basic credentials (an empty user name
/// presents a refresh token); `offline_token=true` asks for a refresh token too.
pub async fn get_token(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<TokenResponse>, ApiError> {
    let query = request.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return Err(ApiError::QueryTooLong);
    }
    let params = Params::parse(query.as_bytes())?;
    let service = state.token_service();
    check_service(&service, params.single("service")?)?;
    let scopes = parse_scopes(params.all("scope")).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let account = params.single("account")?;
    let offline = params.single("offline_token")? == Some("true");
    let credentials = match presented_credentials(request.headers())? {
        None if account.is_some() => {
            return Err(ApiError::BadRequest("account does not match the authenticated user".into()));
        }
        None => Credentials::Anonymous,
        Some(Presented::Password(creds)) => {
            if account.is_some_and(|account| account != creds.user) {
                return Err(ApiError::BadRequest("account does not match the authenticated user".into()));
            }
            Credentials::Password { creds, offline }
        }
        Some(Presented::RefreshToken(token)) => {
            Credentials::RefreshToken { token, account: account.map(str::to_owned) }
        }
    };
    let client = client_addr(&request);
    let granted = grant(&service, client, credentials, &scopes).await?;
    let issued_at = rfc3339(&granted.issued)?;
    let token = granted.issued.token.expose().to_owned();
    Ok(Json(TokenResponse {
        access_token: token.clone(),
        token,
        expires_in: granted.issued.expires_in,
        issued_at,
        refresh_token: granted.refresh_token.map(|token| token.expose().to_owned()),
    }))
}

/// `POST /token` with an OAuth2 form: `grant_type=password` (with `access_type=offline`, a
/// refresh token too) or `grant_type=refresh_token` (no Basic header needed).
pub async fn post_token(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<OAuthTokenResponse>, OAuthError> {
    let client = client_addr(&request);
    single_authorization(request.headers())?;
    let body = read_form(request, client).await?;
    let params = Params::parse(&body)?;
    let service = state.token_service();
    check_service(&service, params.single("service")?)?;
    let scopes = parse_scopes(params.all("scope")).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let credentials = match params.single("grant_type")? {
        Some("password") => {
            let user = params.single("username")?.filter(|u| !u.is_empty());
            let password = params.single("password")?;
            let offline = params.single("access_type")? == Some("offline");
            match (user, password) {
                (Some(user), Some(password)) => {
                    checked_user_name(user)?;
                    let creds = BasicCredentials { user: user.to_owned(), password: Secret::new(password) };
                    Credentials::Password { creds, offline }
                }
                _ => return Err(ApiError::BadRequest("username and password are required".into()).into()),
            }
        }
        Some("refresh_token") => match params.single("refresh_token")?.filter(|t| !t.is_empty()) {
            Some(token) => Credentials::RefreshToken { token: Secret::new(token), account: None },
            None => return Err(ApiError::BadRequest("refresh_token is required".into()).into()),
        },
        Some(other) => return Err(ApiError::UnsupportedGrantType(other.to_owned()).into()),
        None => return Err(ApiError::BadRequest("grant_type is required".into()).into()),
    };
    let granted = grant(&service, client, credentials, &scopes).await?;
    let issued_at = rfc3339(&granted.issued)?;
    Ok(Json(OAuthTokenResponse {
        access_token: granted.issued.token.expose().to_owned(),
        expires_in: granted.issued.expires_in,
        issued_at,
        scope: granted_scopes(&granted.evaluation),
        refresh_token: granted.refresh_token.map(|token| token.expose().to_owned()),
    }))
}

fn check_service(token_service: &TokenService, service: Option<&str>) -> Result<(), ApiError> {
    match service {
        None | Some("") => Err(ApiError::BadRequest("the service parameter is required".into())),
        Some(s) if s == &*token_service.service => Ok(()),
        Some(s) => Err(ApiError::BadRequest(format!("unknown service {s:?}"))),
    }
}

/// The client: the address a trusted proxy forwarded ([`ForwardedClient`], with the peer's
/// port), else the TCP peer.
fn client_addr(request: &Request) -> Option<SocketAddr> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)?;
    let forwarded = request.extensions().get::<ForwardedClient>();
    Some(forwarded.map_or(peer, |client| SocketAddr::new(client.0, peer.port())))
}

/// The form, within the request's [`FormLimits`]: one announced (`Content-Length`) or found
/// larger is answered 413 without reading on; one that trickles in is answered 408, and the
/// connection closed, rather than held open.
async fn read_form(request: Request, client: Option<SocketAddr>) -> Result<axum::body::Bytes, ApiError> {
    let limits = request.extensions().get::<FormLimits>().copied().unwrap_or_default();
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limits.max_bytes as u64) {
        return Err(ApiError::BodyTooLarge);
    }
    let timeout = limits.read_timeout;
    match tokio::time::timeout(timeout, to_bytes(request.into_body(), limits.max_bytes)).await {
        Ok(body) => body.map_err(|_| ApiError::BodyTooLarge),
        Err(_) => {
            let client = client.map(|a| a.ip().to_string()).unwrap_or_else(|| "-".into());
            tracing::info!(%client, ?timeout, "POST /token: the form did not arrive in time");
            Err(ApiError::RequestTimeout)
        }
    }
}

fn rfc3339(issued: &IssuedToken) -> Result<String, ApiError> {
    issued.issued_at.format(&Rfc3339).map_err(|e| ApiError::Internal(e.to_string()))
}
