//! Verifying a refresh token: the compact JWS split once, its header read, the signature checked
//! with the public key of a key of the set (parsed once, when the key was loaded: see
//! [`SigningKey::verify_raw`]) that has the header's algorithm, the kid it names tried first, and
//! only then the claims parsed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::{REFRESH_TYP, RefreshClaims, RefreshError};
use crate::token::{KeySet, SigningKey};

/// The JOSE header fields a refresh token is checked by (others are ignored).
#[derive(Debug, Deserialize)]
struct Header {
    /// Must be [`REFRESH_TYP`].
    typ: Option<String>,
    /// The signature algorithm (`RS256`, `ES256`, `EdDSA`).
    alg: String,
    /// The signing key's ID, in the configured format.
    kid: Option<String>,
}

/// The claims of `token` once its `typ`, signature (by some key of `keys`, the one its `kid`
/// names first), `iss` and `aud` are checked; `exp` is left to the caller, who has the clock.
pub(super) fn verify(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Result<RefreshClaims, RefreshError> {
    let (signed, signature) = token.rsplit_once('.').ok_or_else(|| malformed("not a compact JWS"))?;
    let (header, payload) = signed.split_once('.').ok_or_else(|| malformed("not a compact JWS"))?;
    let header: Header = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|error| malformed(&format!("header: {error}")))?;
    match header.typ.as_deref() {
        Some(REFRESH_TYP) => {}
        other => return Err(RefreshError::WrongType(other.unwrap_or("").to_owned())),
    }
    let signature = decode(signature, "signature")?;
    let kid_format = keys.options().kid;
    let named = |key: &&SigningKey| header.kid.as_deref() == Some(key.kid_as(kid_format));
    let mut candidates = keys.keys().iter().filter(named).chain(keys.keys().iter().filter(|key| !named(key)));
    let signed_by_a_key =
        candidates.any(|key| key.algorithm() == header.alg && key.verify_raw(signed.as_bytes(), &signature));
    if !signed_by_a_key {
        return Err(RefreshError::BadSignature);
    }
    // Signed by one of our keys: the claims are ours, but still checked.
    let claims: RefreshClaims = serde_json::from_slice(&decode(payload, "claims")?)
        .map_err(|error| malformed(&format!("claims: {error}")))?;
    if claims.iss != issuer || claims.aud != audience {
        return Err(RefreshError::WrongAudience);
    }
    Ok(claims)
}

/// The bytes of a base64url (unpadded) JWS part.
fn decode(part: &str, what: &str) -> Result<Vec<u8>, RefreshError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|error| malformed(&format!("{what}: {error}")))
}

fn malformed(why: &str) -> RefreshError {
    RefreshError::Malformed(why.to_owned())
}
