//! `GET /token` (distribution token spec) and `POST /token` (OAuth2 password grant).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::body::to_bytes;
use axum::extract::{ConnectInfo, Request, State};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::basic::{BasicCredentials, basic_credentials, checked_user_name, single_authorization};
use super::error::{ApiError, OAuthError};
use super::observe;
use super::params::Params;
use super::{AppState, ForwardedClient, MAX_FORM_BYTES, MAX_QUERY_BYTES};
use crate::authn::{ChainOutcome, Verified};
use crate::metrics::GrantType;
use crate::policy::{Evaluation, Principal};
use crate::scope::{Scope, parse_scopes};
use crate::secret::Secret;
use crate::token::IssuedToken;
use crate::untrusted::Escaped;

/// How long a `POST /token` form may take to arrive, set per request by the listener (from
/// `[limits] body_read_timeout`); without it the default applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyReadTimeout(pub Duration);

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
}

/// `GET /token?service=...&scope=...` with optional HTTP Basic credentials.
pub async fn get_token(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<TokenResponse>, ApiError> {
    let query = request.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return Err(ApiError::QueryTooLong);
    }
    let params = Params::parse(query.as_bytes())?;
    check_service(&state, params.single("service")?)?;
    let scopes = parse_scopes(params.all("scope")).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let creds = basic_credentials(request.headers())?;
    if let Some(account) = params.single("account")?
        && creds.as_ref().map(|c| c.user.as_str()) != Some(account)
    {
        return Err(ApiError::BadRequest("account does not match the authenticated user".into()));
    }
    let client = client_addr(&request);
    let (issued, _) = grant(&state, client, creds, &scopes).await?;
    let issued_at = rfc3339(&issued)?;
    let token = issued.token.expose().to_owned();
    Ok(Json(TokenResponse { access_token: token.clone(), token, expires_in: issued.expires_in, issued_at }))
}

/// `POST /token` with an OAuth2 form: `grant_type=password`.
pub async fn post_token(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<OAuthTokenResponse>, OAuthError> {
    let client = client_addr(&request);
    single_authorization(request.headers())?;
    let body = read_form(request, client).await?;
    let params = Params::parse(&body)?;
    check_service(&state, params.single("service")?)?;
    let scopes = parse_scopes(params.all("scope")).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let creds = match params.single("grant_type")? {
        Some("password") => {
            let user = params.single("username")?.filter(|u| !u.is_empty());
            let password = params.single("password")?;
            match (user, password) {
                (Some(user), Some(password)) => {
                    checked_user_name(user)?;
                    BasicCredentials { user: user.to_owned(), password: Secret::new(password) }
                }
                _ => return Err(ApiError::BadRequest("username and password are required".into()).into()),
            }
        }
        Some(other) => return Err(ApiError::UnsupportedGrantType(other.to_owned()).into()),
        None => return Err(ApiError::BadRequest("grant_type is required".into()).into()),
    };
    let (issued, evaluation) = grant(&state, client, Some(creds), &scopes).await?;
    let issued_at = rfc3339(&issued)?;
    let scope = granted_scopes(&evaluation);
    Ok(Json(OAuthTokenResponse {
        access_token: issued.token.expose().to_owned(),
        expires_in: issued.expires_in,
        issued_at,
        scope,
    }))
}

/// Authenticates, evaluates the policies, signs, and writes the one log line of the request.
async fn grant(
    state: &AppState,
    client: Option<SocketAddr>,
    creds: Option<BasicCredentials>,
    scopes: &[Scope],
) -> Result<(IssuedToken, Evaluation), ApiError> {
    let client_ip = client.map(|a| a.ip());
    let client = client.map(|a| a.ip().to_string()).unwrap_or_else(|| "-".into());
    let grant_type = if creds.is_some() { GrantType::Password } else { GrantType::Anonymous };
    observe::note_grant(grant_type, "");
    let principal = match creds {
        None => Principal::Anonymous,
        Some(creds) => match state
            .lockout
            .guard(
                client_ip,
                &creds.user,
                &creds.password,
                state.authn.authenticate(&creds.user, &creds.password),
            )
            .await?
        {
            Ok(ChainOutcome::Authenticated(Verified { identity, owns_name })) => Principal::User {
                name: identity.name,
                groups: identity.groups,
                backend: identity.backend,
                owns_name,
            },
            Ok(ChainOutcome::Denied | ChainOutcome::UnknownUser) => {
                tracing::info!(%client, user = %Escaped(&creds.user), "authentication failed");
                return Err(ApiError::Unauthorized(
                    "authentication failed: wrong user name or password".into(),
                ));
            }
            Err(err) => return Err(ApiError::Unavailable(err.to_string())),
        },
    };
    let evaluation = state.policies.get().evaluate(&principal, scopes);
    let (subject, backend) = match &principal {
        Principal::Anonymous => ("", ""),
        Principal::User { name, backend, .. } => (name.as_str(), backend.as_str()),
    };
    observe::note_grant(grant_type, backend);
    observe::note_refusals(evaluation.decisions.iter().any(|d| !d.granted));
    let issued = state
        .issuer
        .issue(subject, &evaluation.access, state.clock.now())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    log_decision(&client, subject, scopes, &evaluation);
    Ok((issued, evaluation))
}

fn log_decision(client: &str, subject: &str, scopes: &[Scope], evaluation: &Evaluation) {
    let user = if subject.is_empty() { "<anonymous>" } else { subject };
    let requested = join(scopes.iter().map(|s| s.to_string()));
    let granted = granted_scopes(evaluation);
    let denied = join(evaluation.decisions.iter().filter(|d| !d.granted).map(|d| d.to_string()));
    let (user, requested, granted, denied) =
        (Escaped(user), Escaped(&requested), Escaped(&granted), Escaped(&denied));
    tracing::info!(%client, %user, %requested, %granted, %denied, "token issued");
}

fn granted_scopes(evaluation: &Evaluation) -> String {
    join(evaluation.access.iter().map(|a| format!("{}:{}:{}", a.resource_type, a.name, a.actions.join(","))))
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(" ")
}

fn check_service(state: &AppState, service: Option<&str>) -> Result<(), ApiError> {
    match service {
        None | Some("") => Err(ApiError::BadRequest("the service parameter is required".into())),
        Some(s) if s == &*state.service => Ok(()),
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

/// The form, within [`MAX_FORM_BYTES`] and the request's [`BodyReadTimeout`] (a body that
/// trickles in is answered 408, and the connection closed, rather than held open).
async fn read_form(request: Request, client: Option<SocketAddr>) -> Result<axum::body::Bytes, ApiError> {
    let timeout = request
        .extensions()
        .get::<BodyReadTimeout>()
        .map_or(crate::config::LimitsConfig::default().body_read_timeout, |timeout| timeout.0);
    match tokio::time::timeout(timeout, to_bytes(request.into_body(), MAX_FORM_BYTES)).await {
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
