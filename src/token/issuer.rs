//! [`TokenIssuer`]: builds the claims and signs compact JWS tokens.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use super::claims::Claims;
use super::keyset::KeySet;
use super::{IssuedToken, TokenError};
use crate::reload::Reloadable;
use crate::scope::Access;
use crate::secret::Secret;

/// The shortest token lifetime; clients treat anything shorter as 60 s anyway.
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(60);
/// Random bytes in a `jti` (128 bits).
const JTI_BYTES: usize = 16;

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
enum KeySource {
    /// Keys loaded once (tests, benchmarks).
    Fixed(Arc<KeySet>),
    /// Keys reloaded when their files change (`regent serve`): a rotation needs no restart.
    Watched(Arc<Reloadable<KeySet>>),
}

/// Mints signed tokens.
#[derive(Debug)]
pub struct TokenIssuer {
    /// The keys; the newest certificate signs.
    keys: KeySource,
    /// The `iss` claim.
    issuer: String,
    /// The `aud` claim.
    service: String,
    /// Token lifetime in whole seconds, at least [`MIN_TOKEN_TTL`].
    ttl_seconds: u64,
}

impl TokenIssuer {
    /// An issuer for `issuer` (the `iss` claim) and `service` (the `aud` claim).
    ///
    /// `ttl` is the token lifetime in whole seconds; below [`MIN_TOKEN_TTL`] (60 s) it is raised
    /// to 60 s, as clients raise a shorter `expires_in` anyway.
    pub fn new(keys: KeySet, issuer: String, service: String, ttl: Duration) -> Self {
        Self::from_source(KeySource::Fixed(Arc::new(keys)), issuer, service, ttl)
    }

    /// Like [`TokenIssuer::new`], signing with whatever `keys` holds at each token: a reloaded
    /// key set (a rotation) takes effect for the next token.
    pub fn watched(keys: Arc<Reloadable<KeySet>>, issuer: String, service: String, ttl: Duration) -> Self {
        Self::from_source(KeySource::Watched(keys), issuer, service, ttl)
    }

    /// An issuer signing with this one's keys (the same watched files) for other claims: what
    /// a changed `[token] issuer`, `service` or `ttl` needs.
    pub fn with_claims(&self, issuer: String, service: String, ttl: Duration) -> Self {
        Self::from_source(self.keys.clone(), issuer, service, ttl)
    }

    fn from_source(keys: KeySource, issuer: String, service: String, ttl: Duration) -> Self {
        Self { ttl_seconds: ttl.max(MIN_TOKEN_TTL).as_secs(), keys, issuer, service }
    }

    /// The keys this issuer signs with now.
    pub fn keys(&self) -> Arc<KeySet> {
        match &self.keys {
            KeySource::Fixed(keys) => keys.clone(),
            KeySource::Watched(keys) => keys.get(),
        }
    }

    /// Token lifetime in seconds (after raising it to at least 60).
    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// Signs a token for `subject` (empty for anonymous) carrying `access`, as issued at `now`.
    ///
    /// `iat` and `nbf` are `now` and `exp` is `now + ttl`, as integer seconds; `issued_at` is
    /// `now` truncated to the second, so it agrees with `iat`.
    pub fn issue(
        &self,
        subject: &str,
        access: &[Access],
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let issued_at = now.replace_nanosecond(0).unwrap_or(now);
        let iat = issued_at.unix_timestamp();
        let ttl = i64::try_from(self.ttl_seconds).unwrap_or(i64::MAX);
        let mut jti_bytes = [0u8; JTI_BYTES];
        rand::fill(&mut jti_bytes)
            .map_err(|_| TokenError::Signing("no randomness for the jti".to_owned()))?;
        let jti = URL_SAFE_NO_PAD.encode(jti_bytes);
        let claims = Claims {
            iss: &self.issuer,
            sub: subject,
            aud: &self.service,
            exp: iat.saturating_add(ttl),
            nbf: iat,
            iat,
            jti: &jti,
            access,
        };
        let payload = serde_json::to_vec(&claims)
            .map_err(|error| TokenError::Signing(format!("encoding the claims: {error}")))?;
        // One snapshot for the header and the signature, even if a reload swaps keys meanwhile.
        let keys = self.keys();
        let header = keys.encoded_header();
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = keys.signing_key().sign_raw(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(IssuedToken { token: Secret::new(token), expires_in: self.ttl_seconds, issued_at })
    }
}

#[cfg(test)]
#[path = "issuer_tests.rs"]
mod tests;
