//! Self-service access tokens (`[tokens] self_service = true`; 404 otherwise): `POST /tokens`
//! (JSON `{name, scopes, expires}`; the secret is in the answer, once), `GET /tokens` and
//! `DELETE /tokens/ID`, authenticated with HTTP Basic (the user's own password or token, behind
//! the brute-force protection) and limited to the caller's own tokens. A caller signed in with a
//! token may only create tokens within that token's scopes; robots manage none.

use std::path::PathBuf;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::basic::{Presented, presented_credentials};
use super::error::ApiError;
use super::grant::{ClientAddr, authenticate_password};
use super::token::client_addr;
use super::{AppState, TokenService};
use crate::authn::Identity;
use crate::authn::tokens::TokensError;
use crate::authn::tokens::last_used::{read_last_used, sidecar_path};
use crate::authn::tokens::store::{
    NewToken, TokenRecord, TokenSubject, create_token, list_tokens, revoke_token,
};
use crate::scope::parse_scope;
use crate::subject::SubjectKind;

/// The largest `POST /tokens` body read.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// `POST /tokens` as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    /// The token's name.
    name: String,
    /// Its scopes.
    scopes: Vec<String>,
    /// Its lifetime (humantime, e.g. `90d`); none: until revoked.
    expires: Option<String>,
}

/// `POST /tokens`: a new personal token of the caller (201 with the secret).
pub async fn create_own(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let service = state.token_service();
    let (file, identity) = caller(&service, &request)?.await?;
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::BodyTooLarge)?;
    let asked: CreateRequest = serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadRequest(format!("invalid JSON: {error}")))?;
    within_callers_scopes(&identity, &asked.scopes)?;
    let now = service.clock.now();
    let expires = asked
        .expires
        .as_deref()
        .map(|text| humantime::parse_duration(text).map(|ttl| now + ttl))
        .transpose()
        .map_err(|error| ApiError::BadRequest(format!("expires: {error}")))?;
    let new = NewToken {
        subject: TokenSubject::Owner(identity.name.clone()),
        name: asked.name,
        scopes: asked.scopes,
        expires,
    };
    let (record, secret) = blocking(move || create_token(&file, new, now)).await?;
    tracing::info!(user = %identity.name, token = %record.id, "access token created through /tokens");
    let mut answer = describe(&record, None);
    answer["token"] = Value::from(secret.expose());
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `GET /tokens`: the caller's tokens (never a secret or a hash).
pub async fn list_own(State(state): State<AppState>, request: Request) -> Result<Json<Value>, ApiError> {
    let service = state.token_service();
    let (file, identity) = caller(&service, &request)?.await?;
    let own = TokenSubject::Owner(identity.name).to_string();
    let (records, last_used) = blocking(move || {
        let records = list_tokens(&file)?;
        Ok((records, read_last_used(&sidecar_path(&file))))
    })
    .await?;
    let tokens: Vec<Value> = records
        .iter()
        .filter(|record| record.subject == own)
        .map(|record| describe(record, last_used.get(&record.id).copied()))
        .collect();
    Ok(Json(json!({ "tokens": tokens })))
}

/// `DELETE /tokens/ID`: revokes one of the caller's tokens (204; 404 for anyone else's).
pub async fn revoke_own(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let service = state.token_service();
    let (file, identity) = caller(&service, &request)?.await?;
    let own = TokenSubject::Owner(identity.name.clone()).to_string();
    let revoked = blocking(move || {
        let mine = list_tokens(&file)?.iter().any(|record| record.id == id && record.subject == own);
        if mine { revoke_token(&file, &id) } else { Ok(None) }
    })
    .await?;
    match revoked {
        Some(record) => {
            tracing::info!(user = %identity.name, token = %record.id, "access token revoked through /tokens");
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::NotFound),
    }
}

/// The tokens file and the authenticated person asking; 404 when self-service is off.
fn caller<'a>(
    service: &'a TokenService,
    request: &Request,
) -> Result<impl Future<Output = Result<(PathBuf, Identity), ApiError>> + Send + 'a, ApiError> {
    let Some(file) = service.self_service.clone() else {
        return Err(ApiError::NotFound);
    };
    let Some(Presented::Password(creds)) = presented_credentials(request.headers())? else {
        return Err(ApiError::Unauthorized("sign in with your password or an access token".into()));
    };
    let client = client_addr(request);
    Ok(authenticated(service, file, client, creds))
}

/// [`caller`] once the credentials are read (the request, not `Sync`, is not held across awaits).
async fn authenticated(
    service: &TokenService,
    file: PathBuf,
    client: ClientAddr,
    creds: super::basic::BasicCredentials,
) -> Result<(PathBuf, Identity), ApiError> {
    let verified = authenticate_password(service, client.ip(), &creds).await?;
    if verified.identity.kind != SubjectKind::Person {
        return Err(ApiError::Forbidden("robots cannot manage access tokens".into()));
    }
    Ok((file, verified.identity))
}

/// Refuses scopes wider than the caller's own credential allows (a token cannot mint a wider one).
fn within_callers_scopes(identity: &Identity, scopes: &[String]) -> Result<(), ApiError> {
    let Some(ceiling) = &identity.ceiling else {
        return Ok(());
    };
    for text in scopes {
        let scope = parse_scope(text).map_err(|error| ApiError::BadRequest(error.to_string()))?;
        let allowed =
            scope.actions.iter().all(|action| ceiling.allows(&scope.resource_type, &scope.name, action));
        if !allowed {
            return Err(ApiError::Forbidden(format!("{text} is wider than the token you signed in with")));
        }
    }
    Ok(())
}

/// A token as `/tokens` shows it.
fn describe(record: &TokenRecord, last_used: Option<i64>) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "scopes": record.scopes,
        "created": record.created,
        "expires": record.expires,
        "last_used": last_used,
    })
}

/// Runs a file edit on the blocking pool (it waits for the edit lock); usage errors are 400s.
async fn blocking<T: Send + 'static>(
    edit: impl FnOnce() -> Result<T, TokensError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(edit).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(TokensError::Usage(message))) => Err(ApiError::BadRequest(message)),
        Ok(Err(error)) => Err(ApiError::Internal(error.to_string())),
        Err(error) => Err(ApiError::Internal(error.to_string())),
    }
}
