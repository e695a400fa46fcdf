//! Verifying a refresh token's signature, header and claims with jsonwebtoken, against every
//! key of the set with that key's own algorithm.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{REFRESH_TYP, RefreshClaims, RefreshError};
use crate::token::{KeySet, SigningKey};

/// The most public keys remembered (a key set holds a handful; rotations add a few).
const MAX_CACHED_KEYS: usize = 64;

/// Public keys already read from their certificates, by `kid` (a hash of the public key), so a
/// refresh does not parse a certificate per key.
#[derive(Default)]
pub(super) struct DecodingKeys(Mutex<HashMap<String, Option<(Algorithm, DecodingKey)>>>);

impl DecodingKeys {
    /// The algorithm and public key of `key`, read once.
    fn get(&self, key: &SigningKey) -> Option<(Algorithm, DecodingKey)> {
        if let Some(known) = self.lock().get(key.kid()) {
            return known.clone();
        }
        let decoded = decoding_key(key);
        let mut keys = self.lock();
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(key.kid().to_owned(), decoded.clone());
        decoded
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Option<(Algorithm, DecodingKey)>>> {
        // A map of parsed keys stays consistent after a panic elsewhere: keep using it.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for DecodingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodingKeys").field("cached", &self.lock().len()).finish()
    }
}

/// The claims of `token` once its `typ`, signature (by some key of `keys`, the one its `kid`
/// names first), `iss` and `aud` are checked; `exp` is left to the caller, who has the clock.
pub(super) fn verify(
    cache: &DecodingKeys,
    keys: &KeySet,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Result<RefreshClaims, RefreshError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|error| RefreshError::Malformed(error.to_string()))?;
    match header.typ.as_deref() {
        Some(REFRESH_TYP) => {}
        other => return Err(RefreshError::WrongType(other.unwrap_or("").to_owned())),
    }
    let kid_format = keys.options().kid;
    let named = |key: &&SigningKey| header.kid.as_deref() == Some(key.kid_as(kid_format));
    let candidates = keys.keys().iter().filter(named).chain(keys.keys().iter().filter(|key| !named(key)));
    for key in candidates {
        let Some((algorithm, decoding_key)) = cache.get(key) else {
            continue;
        };
        if algorithm != header.alg {
            continue;
        }
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        match jsonwebtoken::decode::<RefreshClaims>(token, &decoding_key, &validation) {
            Ok(data) if data.claims.iss == issuer && data.claims.aud == audience => return Ok(data.claims),
            Ok(_) => return Err(RefreshError::WrongAudience),
            Err(error) if is_signature_error(&error) => continue,
            // The signature is checked before the claims are read: this key signed it.
            Err(error) => return Err(RefreshError::Malformed(error.to_string())),
        }
    }
    Err(RefreshError::BadSignature)
}

/// Whether `error` is about the signature or key rather than the claims.
fn is_signature_error(error: &jsonwebtoken::errors::Error) -> bool {
    use jsonwebtoken::errors::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::InvalidSignature
            | ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidAlgorithmName
    )
}

/// The algorithm and public key of `key`, read from its certificate (the leaf's
/// SubjectPublicKeyInfo); `None` for a key jsonwebtoken cannot verify with.
fn decoding_key(key: &SigningKey) -> Option<(Algorithm, DecodingKey)> {
    let algorithm = Algorithm::from_str(key.algorithm()).ok()?;
    let pem = pem::parse(key.certificates_pem()).ok()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(pem.contents()).ok()?;
    let bits = certificate.public_key().subject_public_key.data.as_ref();
    let decoding_key = match algorithm {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => DecodingKey::from_rsa_der(bits),
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_der(bits),
        Algorithm::EdDSA => DecodingKey::from_ed_der(bits),
        _ => return None,
    };
    Some((algorithm, decoding_key))
}
