//! The grants behind `/token`, in one place: anonymous, password (optionally with a refresh
//! token, `offline`), and refresh (a refresh token re-checked in the backend that authenticated
//! the user, then the current policies). A credential with a scope ceiling (e.g. an access
//! token) gets at most the intersection of the policies' grant and its ceiling
//! ([`Evaluation::within`]), and never a refresh token: a refresh re-derives only name and groups
//! ([`crate::authn::Identity::may_refresh`]). Each decision, a token or a refusal, is written to
//! the audit trail ([`crate::audit`]) from here, with `grant=anonymous|password|refresh` and
//! never a password or a token.

use std::net::IpAddr;

use super::TokenService;
use super::basic::BasicCredentials;
use super::error::ApiError;
use super::observe;
use crate::audit::{Entry, Outcome, Refusal};
use crate::authn::{AuthnError, ChainLookup, ChainOutcome, Verified};
use crate::metrics::GrantType;
use crate::policy::{Evaluation, Principal};
use crate::scope::Scope;
use crate::secret::Secret;
use crate::token::IssuedToken;
use crate::token::refresh::RefreshSubject;

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

/// Where a token request came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ClientAddr {
    /// The TCP peer.
    pub(super) peer: Option<IpAddr>,
    /// The client a trusted proxy forwarded ([`super::ForwardedClient`]).
    pub(super) forwarded: Option<IpAddr>,
}

impl ClientAddr {
    /// The client brute-force protection counts: the forwarded address, else the peer.
    pub(super) fn ip(&self) -> Option<IpAddr> {
        self.forwarded.or(self.peer)
    }
}

/// A granted request.
#[derive(Debug)]
pub(super) struct Granted {
    /// The access token.
    pub(super) issued: IssuedToken,
    /// Who it was issued to.
    pub(super) principal: Principal,
    /// What the policies granted.
    pub(super) evaluation: Evaluation,
    /// A refresh token, when one was asked for and can be issued.
    pub(super) refresh_token: Option<Secret>,
}

/// A request that got no token: audited refusals, and other errors (400, 500) that are not
/// decisions.
#[derive(Debug)]
enum Stop {
    /// Refused, and why (written to the audit trail).
    Refused(Refused),
    /// Not a decision.
    Error(ApiError),
}

/// A refusal for the audit trail, and the answer to send.
#[derive(Debug)]
struct Refused {
    /// Why.
    refusal: Refusal,
    /// The user, when known.
    user: Option<String>,
    /// The backend that refused the password or was unavailable.
    backend: Option<String>,
    /// More detail for the operator.
    reason: Option<String>,
    /// The answer.
    error: ApiError,
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        Stop::Error(error)
    }
}

impl Stop {
    fn into_error(self) -> ApiError {
        match self {
            Stop::Refused(refused) => refused.error,
            Stop::Error(error) => error,
        }
    }
}

/// Authenticates (or re-checks), evaluates the policies, signs, and audits the decision.
pub(super) async fn grant(
    tokens: &TokenService,
    client: ClientAddr,
    credentials: Credentials,
    scopes: &[Scope],
) -> Result<Granted, ApiError> {
    let (grant_type, grant) = match &credentials {
        Credentials::Anonymous => (GrantType::Anonymous, "anonymous"),
        Credentials::Password { .. } => (GrantType::Password, "password"),
        Credentials::RefreshToken { .. } => (GrantType::Refresh, "refresh"),
    };
    observe::note_grant(grant_type, "");
    let result = decide(tokens, client, credentials, scopes, grant_type).await;
    let outcome = match &result {
        Ok(granted) => Outcome::Issued {
            principal: &granted.principal,
            evaluation: &granted.evaluation,
            jti: &granted.issued.jti,
            refresh_token: granted.refresh_token.is_some(),
        },
        Err(Stop::Refused(refused)) => Outcome::Refused {
            refusal: refused.refusal,
            user: refused.user.as_deref(),
            backend: refused.backend.as_deref(),
            reason: refused.reason.as_deref(),
        },
        Err(Stop::Error(_)) => return result.map_err(Stop::into_error),
    };
    let time = tokens.clock.now();
    let entry =
        Entry { time, client: client.peer, forwarded: client.forwarded, grant, requested: scopes, outcome };
    tokens.audit.record(&entry);
    result.map_err(Stop::into_error)
}

/// The decision: a signed token, or why not.
async fn decide(
    tokens: &TokenService,
    client: ClientAddr,
    credentials: Credentials,
    scopes: &[Scope],
    grant_type: GrantType,
) -> Result<Granted, Stop> {
    let ((principal, ceiling), refresh_token) = match credentials {
        Credentials::Anonymous => ((Principal::Anonymous, None), None),
        Credentials::Password { creds, offline } => {
            let verified = authenticate(tokens, client.ip(), &creds).await?;
            let refresh_token = if offline { refresh_token_for(tokens, &verified)? } else { None };
            (Principal::verified(verified), refresh_token)
        }
        Credentials::RefreshToken { token, account } => {
            let verified = refresh(tokens, &token, account.as_deref()).await?;
            (Principal::verified(verified), None)
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
    Ok(Granted { issued, principal, evaluation, refresh_token })
}

/// The chain's verdict on a password, behind the brute-force protection: the verified user,
/// or 401 / 429 / 503, each saying why (unknown user, wrong password and at which backend,
/// locked out, which backend is unavailable).
async fn authenticate(
    tokens: &TokenService,
    client: Option<IpAddr>,
    creds: &BasicCredentials,
) -> Result<Verified, Stop> {
    let refused = |refusal, backend: Option<String>, reason: Option<String>, error| {
        Stop::Refused(Refused { refusal, user: Some(creds.user.clone()), backend, reason, error })
    };
    let failed = || ApiError::Unauthorized("authentication failed: wrong user name or password".into());
    let login = tokens.authn.authenticate(&creds.user, &creds.password);
    let outcome = match tokens.lockout.guard(client, &creds.user, &creds.password, login).await {
        Ok(outcome) => outcome,
        Err(error) => return Err(refused(Refusal::LockedOut, None, None, error)),
    };
    match outcome {
        Ok(ChainOutcome::Authenticated(verified)) => Ok(verified),
        Ok(ChainOutcome::Denied { backend }) => {
            Err(refused(Refusal::WrongPassword, Some(backend), None, failed()))
        }
        Ok(ChainOutcome::UnknownUser) => Err(refused(Refusal::UnknownUser, None, None, failed())),
        Err(err) => Err(unavailable(Some(creds.user.clone()), err)),
    }
}

/// The 503 of an outage, with the backend for the audit trail.
fn unavailable(user: Option<String>, err: AuthnError) -> Stop {
    let error = ApiError::Unavailable(err.to_string());
    let AuthnError::Unavailable { backend, reason } = err;
    let refused = Refused {
        refusal: Refusal::BackendUnavailable,
        user,
        backend: Some(backend),
        reason: Some(reason),
        error,
    };
    Stop::Refused(refused)
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
/// `invalid_grant` (audited with the reason, never the token) / 503 for a backend outage.
async fn refresh(tokens: &TokenService, token: &Secret, account: Option<&str>) -> Result<Verified, Stop> {
    let refused = |user: Option<&str>, reason: String| {
        Stop::Refused(Refused {
            refusal: Refusal::RefreshRefused,
            user: user.map(str::to_owned),
            backend: None,
            reason: Some(reason),
            error: ApiError::InvalidGrant(
                "the refresh token is invalid, expired or revoked: log in again".into(),
            ),
        })
    };
    let Some(refresh) = &tokens.refresh else {
        return Err(refused(None, "refresh tokens are turned off (refresh_ttl = \"0s\")".into()));
    };
    let verified = match refresh.verify(
        &tokens.issuer.keys(),
        &tokens.revocations.get(),
        token.expose(),
        tokens.clock.now(),
    ) {
        Ok(verified) => verified,
        Err(error) => return Err(refused(None, error.to_string())),
    };
    let subject = verified.subject;
    if let Some(account) = account
        && account != subject.name
    {
        return Err(ApiError::BadRequest("account does not match the refresh token's user".into()).into());
    }
    let user = Some(subject.name.as_str());
    match tokens.authn.lookup(&subject.backend, &subject.name, subject.owns_name).await {
        Ok(ChainLookup::Found(verified)) if verified.identity.may_refresh() => Ok(verified),
        Ok(ChainLookup::Found(_)) => {
            Err(refused(user, format!("backend {:?} no longer answers with a plain person", subject.backend)))
        }
        Ok(ChainLookup::Gone) => Err(refused(user, format!("no longer in backend {:?}", subject.backend))),
        Ok(ChainLookup::NotSupported) => {
            Err(refused(user, format!("backend {:?} cannot re-check users", subject.backend)))
        }
        Err(err) => Err(unavailable(Some(subject.name.clone()), err)),
    }
}
