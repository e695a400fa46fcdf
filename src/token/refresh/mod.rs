//! Refresh tokens (docker's "identity token"): stateless, signed with the token keys, and a
//! claim set of their own so that neither a refresh token nor an access token is ever taken
//! for the other.
//!
//! - **Header** `typ` is [`REFRESH_TYP`] (access tokens say `JWT`), `alg` the signing key's,
//!   `kid` its key ID in the configured format (as access tokens have it); no `x5c`.
//! - **Claims** `iss` (the configured issuer), `aud` = `regent-refresh:<service>` (never equal
//!   to the service: a registry checks `aud == service` and refuses it as a bearer token), `sub`,
//!   `backend`, `owns_name`, `iat`, `exp`, `jti`, and no `access` and no groups (they are
//!   re-read at every refresh).
//! - **Verification** against every key of the set (a rotation logs nobody out while the old
//!   key is still in it), with the algorithm of that key, exact `typ`/`iss`/`aud`, and `exp`
//!   checked against the `now` passed in with [`LEEWAY_SECONDS`] of leeway.
//! - **Reuse**: a refresh token stays valid until it expires (docker never stores a rotated one)
//!   unless [`Revocations`] name its subject with a later not-before time.

mod revocations;
#[cfg(test)]
mod tests;
mod verify;

use std::time::Duration;

use aws_lc_rs::rand;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use self::revocations::{REVOCATIONS_FILE_NAME, Revocations, RevocationsError, record_revocation};
use super::{KeySet, TokenError};
use crate::secret::Secret;

/// The JOSE `typ` of a refresh token.
pub const REFRESH_TYP: &str = "regent-refresh+jwt";
/// The prefix of a refresh token's `aud`: `regent-refresh:<service>`.
pub const REFRESH_AUDIENCE_PREFIX: &str = "regent-refresh:";
/// Clock skew tolerated on `exp` between replicas.
pub const LEEWAY_SECONDS: i64 = 5;
/// Random bytes in a `jti` (128 bits).
const JTI_BYTES: usize = 16;

/// Who a refresh token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSubject {
    /// The canonical user name (`sub`).
    pub name: String,
    /// The backend that authenticated the user.
    pub backend: String,
    /// Whether that backend was proven to own the name at login.
    pub owns_name: bool,
}

/// A verified refresh token's subject and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRefresh {
    /// Who it was issued to.
    pub subject: RefreshSubject,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
}

/// Why a refresh token was refused (the client gets `invalid_grant`; this goes to the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// Not a compact JWS, or its header or claims are not what a refresh token has.
    #[error("not a refresh token: {0}")]
    Malformed(String),
    /// The header's `typ` is not [`REFRESH_TYP`] (e.g. an access token).
    #[error("wrong token type {0:?}")]
    WrongType(String),
    /// No key of the set verifies the signature with its algorithm.
    #[error("the signature matches no current key")]
    BadSignature,
    /// `iss` or `aud` is not this server's (another issuer, or another service).
    #[error("issued for another issuer or service")]
    WrongAudience,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// The subject was revoked after the token was issued.
    #[error("revoked")]
    Revoked,
}

/// The claims of a refresh token, in the order they are written.
#[derive(Debug, Serialize, Deserialize)]
struct RefreshClaims {
    /// The configured issuer.
    iss: String,
    /// [`REFRESH_AUDIENCE_PREFIX`] + the service.
    aud: String,
    /// The canonical user name.
    sub: String,
    /// The backend that authenticated the user.
    backend: String,
    /// Whether that backend owned the name at login.
    owns_name: bool,
    /// Issued at, integer seconds since the epoch.
    iat: i64,
    /// Expiry, integer seconds since the epoch.
    exp: i64,
    /// A unique token ID: 128 random bits, base64url.
    jti: String,
}

/// The JOSE header of a refresh token.
#[derive(Debug, Serialize)]
struct RefreshHeader<'a> {
    /// Always [`REFRESH_TYP`].
    typ: &'static str,
    /// The signing key's algorithm.
    alg: &'static str,
    /// The signing key's ID.
    kid: &'a str,
}

/// Mints and verifies refresh tokens for one issuer and service.
#[derive(Debug)]
pub struct RefreshTokens {
    /// The `iss` claim.
    issuer: String,
    /// The `aud` claim: [`REFRESH_AUDIENCE_PREFIX`] + the service.
    audience: String,
    /// How long a refresh token is valid.
    ttl: Duration,
}

impl RefreshTokens {
    /// Refresh tokens for `issuer` and `service`, valid for `ttl`; `None` when `ttl` is zero
    /// (the feature is off).
    pub fn new(issuer: &str, service: &str, ttl: Duration) -> Option<Self> {
        (!ttl.is_zero()).then(|| Self {
            issuer: issuer.to_owned(),
            audience: format!("{REFRESH_AUDIENCE_PREFIX}{service}"),
            ttl,
        })
    }

    /// How long a refresh token is valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a refresh token for `subject` with the signing key of `keys`, issued at `now`.
    pub fn issue(
        &self,
        keys: &KeySet,
        subject: &RefreshSubject,
        now: OffsetDateTime,
    ) -> Result<Secret, TokenError> {
        let iat = now.unix_timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let mut jti = [0u8; JTI_BYTES];
        rand::fill(&mut jti).map_err(|_| TokenError::Signing("no randomness for the jti".to_owned()))?;
        let claims = RefreshClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.name.clone(),
            backend: subject.backend.clone(),
            owns_name: subject.owns_name,
            iat,
            exp: iat.saturating_add(ttl),
            jti: URL_SAFE_NO_PAD.encode(jti),
        };
        let key = keys.signing_key();
        let kid = key.kid_as(keys.options().kid);
        let header = RefreshHeader { typ: REFRESH_TYP, alg: key.algorithm(), kid };
        let mut token = URL_SAFE_NO_PAD.encode(to_json(&header)?);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(to_json(&claims)?, &mut token);
        let signature = key.sign_raw(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(Secret::new(token))
    }

    /// Verifies `token` against every key of `keys` at `now`, then checks `revocations`.
    pub fn verify(
        &self,
        keys: &KeySet,
        revocations: &Revocations,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<VerifiedRefresh, RefreshError> {
        let claims = verify::verify(keys, token, &self.issuer, &self.audience)?;
        if claims.exp.saturating_add(LEEWAY_SECONDS) <= now.unix_timestamp() {
            return Err(RefreshError::Expired);
        }
        if revocations.revokes(&claims.sub, claims.iat) {
            return Err(RefreshError::Revoked);
        }
        let subject =
            RefreshSubject { name: claims.sub, backend: claims.backend, owns_name: claims.owns_name };
        Ok(VerifiedRefresh { subject, issued_at: claims.iat })
    }
}

/// `value` as JSON bytes.
fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, TokenError> {
    serde_json::to_vec(value)
        .map_err(|error| TokenError::Signing(format!("encoding a refresh token: {error}")))
}
