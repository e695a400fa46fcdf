//! The grants behind `/token`, in one place: anonymous, password (optionally with a refresh
//! token, `offline`), and refresh (a refresh token re-checked in the backend that authenticated
//! the user, then the current policies). A credential with a scope ceiling (e.g. an access
//! token) gets at most the intersection of the policies' grant and its ceiling
//! ([`Evaluation::within`]), and never a refresh token: a refresh re-derives only name and groups
//! ([`crate::authn::Identity::may_refresh`]). Each writes the request's one log line, with
//! `grant=anonymous|password|refresh` and never a token.

use std::net::SocketAddr;

use super::TokenService;
use super::basic::BasicCredentials;
use super::error::ApiError;
use super::observe;
use crate::authn::{ChainLookup, ChainOutcome, Verified};
use crate::metrics::GrantType;
use crate::policy::{Ceiling, Evaluation, Principal};
use crate::scope::Scope;
use crate::secret::Secret;
use crate::token::IssuedToken;
use crate::token::refresh::RefreshSubject;
use crate::untrusted::Escaped;

/// What the client presented.
#[derive(Debug)]
pub(super) enum Credentials {
    /// Nothing: anonymous.
    Anonymous,
    /// A user name and password; `offline` asks for a refresh token too.
    Password {
        /// The credentials.
        creds: BasicCredentials,
        /// `offline_token=true` (GET) or `access_type=offline` (POST).
        offline: bool,
    },
    /// A refresh token; `account` is the GET `account` parameter, if any.
    RefreshToken {
        /// The refresh token.
        token: Secret,
        /// The `account` the client named (must be the token's user).
        account: Option<String>,
    },
}

/// A granted request.
#[derive(Debug)]
pub(super) struct Granted {
    /// The access token.
    pub(super) issued: IssuedToken,
    /// What the policies granted.
    pub(super) evaluation: Evaluation,
    /// A refresh token, when one was asked for and can be issued.
    pub(super) refresh_token: Option<Secret>,
}

/// Authenticates (or re-checks), evaluates the policies, signs, and logs the decision.
pub(super) async fn grant(
    tokens: &TokenService,
    client: Option<SocketAddr>,
    credentials: Credentials,
    scopes: &[Scope],
) -> Result<Granted, ApiError> {
    let client_ip = client.map(|a| a.ip());
    let client = client.map(|a| a.ip().to_string()).unwrap_or_else(|| "-".into());
    let grant_type = match &credentials {
        Credentials::Anonymous => GrantType::Anonymous,
        Credentials::Password { .. } => GrantType::Password,
        Credentials::RefreshToken { .. } => GrantType::Refresh,
    };
    observe::note_grant(grant_type, "");
    let ((principal, ceiling), grant, refresh_token) = match credentials {
        Credentials::Anonymous => ((Principal::Anonymous, None), "anonymous", None),
        Credentials::Password { creds, offline } => {
            let verified = authenticate(tokens, client_ip, &client, &creds).await?;
            let refresh_token = if offline { refresh_token_for(tokens, &verified)? } else { None };
            (principal(verified), "password", refresh_token)
        }
        Credentials::RefreshToken { token, account } => {
            let verified = refresh(tokens, &client, &token, account.as_deref()).await?;
            (principal(verified), "refresh", None)
        }
    };
    let mut evaluation = tokens.policies.get().evaluate(&principal, scopes);
    if let Some(ceiling) = &ceiling {
        evaluation = evaluation.within(ceiling);
    }
    let subject = principal.subject();
    let backend = match &principal {
        Principal::Anonymous => "",
        Principal::User { backend, .. } => backend.as_str(),
    };
    observe::note_grant(grant_type, backend);
    observe::note_refusals(evaluation.decisions.iter().any(|d| !d.granted));
    let issued = tokens
        .issuer
        .issue(&subject, &evaluation.access, tokens.clock.now())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    log_decision(&client, grant, &subject, scopes, &evaluation, refresh_token.is_some());
    Ok(Granted { issued, evaluation, refresh_token })
}

/// The chain's verdict on a password, behind the brute-force protection: the verified user,
/// or 401 / 429 / 503.
async fn authenticate(
    tokens: &TokenService,
    client_ip: Option<std::net::IpAddr>,
    client: &str,
    creds: &BasicCredentials,
) -> Result<Verified, ApiError> {
    let login = tokens.authn.authenticate(&creds.user, &creds.password);
    match tokens.lockout.guard(client_ip, &creds.user, &creds.password, login).await? {
        Ok(ChainOutcome::Authenticated(verified)) => Ok(verified),
        Ok(ChainOutcome::Denied | ChainOutcome::UnknownUser) => {
            tracing::info!(%client, grant = "password", user = %Escaped(&creds.user), "authentication failed");
            Err(ApiError::Unauthorized("authentication failed: wrong user name or password".into()))
        }
        Err(err) => Err(ApiError::Unavailable(err.to_string())),
    }
}

/// A refresh token for `verified`, when refresh tokens are on, its backend can re-check users
/// (an `http` backend cannot: its users get none and keep using their password) and the
/// identity is a plain person (a robot, claims or a ceiling would be lost in the re-check).
fn refresh_token_for(tokens: &TokenService, verified: &Verified) -> Result<Option<Secret>, ApiError> {
    let Some(refresh) = &tokens.refresh else {
        return Ok(None);
    };
    if !verified.identity.may_refresh() || !tokens.authn.supports_lookup(&verified.identity.backend) {
        return Ok(None);
    }
    let subject = RefreshSubject {
        name: verified.identity.name.clone(),
        backend: verified.identity.backend.clone(),
        owns_name: verified.owns_name,
    };
    let token = refresh
        .issue(&tokens.issuer.keys(), &subject, tokens.clock.now())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(token))
}

/// Verifies a refresh token and re-checks its user: the user as they are now, or
/// `invalid_grant` (logged with the reason, never the token) / 503 for a backend outage.
async fn refresh(
    tokens: &TokenService,
    client: &str,
    token: &Secret,
    account: Option<&str>,
) -> Result<Verified, ApiError> {
    let refused = |user: &str, reason: &dyn std::fmt::Display| {
        tracing::info!(%client, grant = "refresh", user = %Escaped(user), %reason, "refresh token refused");
        ApiError::InvalidGrant("the refresh token is invalid, expired or revoked: log in again".into())
    };
    let Some(refresh) = &tokens.refresh else {
        return Err(refused("-", &"refresh tokens are turned off (refresh_ttl = \"0s\")"));
    };
    let verified = match refresh.verify(
        &tokens.issuer.keys(),
        &tokens.revocations.get(),
        token.expose(),
        tokens.clock.now(),
    ) {
        Ok(verified) => verified,
        Err(error) => return Err(refused("-", &error)),
    };
    let subject = verified.subject;
    if let Some(account) = account
        && account != subject.name
    {
        return Err(ApiError::BadRequest("account does not match the refresh token's user".into()));
    }
    match tokens.authn.lookup(&subject.backend, &subject.name, subject.owns_name).await {
        Ok(ChainLookup::Found(verified)) if verified.identity.may_refresh() => Ok(verified),
        Ok(ChainLookup::Found(_)) => Err(refused(
            &subject.name,
            &format!("backend {:?} no longer answers with a plain person", subject.backend),
        )),
        Ok(ChainLookup::Gone) => {
            Err(refused(&subject.name, &format!("no longer in backend {:?}", subject.backend)))
        }
        Ok(ChainLookup::NotSupported) => {
            Err(refused(&subject.name, &format!("backend {:?} cannot re-check users", subject.backend)))
        }
        Err(err) => Err(ApiError::Unavailable(err.to_string())),
    }
}

/// The policy principal of a verified user, and the ceiling its credential carries.
fn principal(verified: Verified) -> (Principal, Option<Ceiling>) {
    let Verified { identity, owns_name } = verified;
    let principal = Principal::User {
        kind: identity.kind,
        name: identity.name,
        groups: identity.groups,
        backend: identity.backend,
        owns_name,
        claims: identity.claims,
    };
    (principal, identity.ceiling)
}

/// The one log line of a granted request.
fn log_decision(
    client: &str,
    grant: &str,
    subject: &str,
    scopes: &[Scope],
    evaluation: &Evaluation,
    refresh: bool,
) {
    let user = if subject.is_empty() { "<anonymous>" } else { subject };
    let requested = join(scopes.iter().map(|s| s.to_string()));
    let granted = granted_scopes(evaluation);
    let denied = join(evaluation.decisions.iter().filter(|d| !d.granted).map(|d| d.to_string()));
    let (user, requested, granted, denied) =
        (Escaped(user), Escaped(&requested), Escaped(&granted), Escaped(&denied));
    tracing::info!(%client, grant, %user, %requested, %granted, %denied, refresh_token = refresh, "token issued");
}

/// The granted scopes, space-separated (`repository:team/app:pull,push`).
pub(super) fn granted_scopes(evaluation: &Evaluation) -> String {
    join(evaluation.access.iter().map(|a| format!("{}:{}:{}", a.resource_type, a.name, a.actions.join(","))))
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(" ")
}
