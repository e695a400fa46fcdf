//! [`IssuerKeys`]: the usable public keys of one JWKS document, and the choice of the key that
//! may verify a given `alg` and `kid` (the key type must fit the algorithm: an RSA key never
//! verifies an HMAC, a P-256 key only ES256).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;

use super::error::Refusal;

/// The largest JWKS document read.
pub(super) const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// One usable signing key of the issuer.
struct IssuerKey {
    /// Its `kid`, if the JWKS gives one.
    kid: Option<String>,
    /// Its `alg`, if the JWKS pins one.
    alg: Option<KeyAlgorithm>,
    /// Its type and parameters (to check the fit with the token's `alg`).
    params: AlgorithmParameters,
    /// The key jsonwebtoken verifies with.
    decoding: DecodingKey,
}

/// The issuer's public signing keys (symmetric, encryption-only and unreadable entries skipped).
#[derive(Default)]
pub struct IssuerKeys {
    /// The keys, in JWKS order.
    keys: Vec<IssuerKey>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|key| key.kid.as_deref().unwrap_or("")).collect();
        f.debug_struct("IssuerKeys").field("kids", &kids).finish()
    }
}

impl IssuerKeys {
    /// Parses a JWKS document (`{"keys": [...]}`); an entry that is not a public signing key
    /// is skipped with a warning, a document without any is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
        }
        let document: Value = serde_json::from_slice(bytes).map_err(|error| format!("not JSON: {error}"))?;
        let Some(entries) = document.get("keys").and_then(Value::as_array) else {
            return Err("no \"keys\" array".to_owned());
        };
        let mut keys = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match usable(entry) {
                Ok(key) => keys.push(key),
                Err(reason) => tracing::warn!(index, %reason, "JWKS entry skipped"),
            }
        }
        if keys.is_empty() {
            return Err("no usable public signing key (RSA, EC P-256/P-384 or Ed25519)".to_owned());
        }
        Ok(Self { keys })
    }

    /// Whether a key has `kid` (any key when the token names none).
    pub(super) fn knows(&self, kid: Option<&str>) -> bool {
        kid.is_none_or(|kid| self.keys.iter().any(|key| key.kid.as_deref() == Some(kid)))
    }

    /// The keys that may verify `alg` for a token naming `kid`: those with that kid (or all,
    /// when it names none) whose type fits `alg`. A kid nobody has, or whose key does not fit,
    /// is a refusal.
    pub(super) fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Result<Vec<&DecodingKey>, Refusal> {
        let named: Vec<&IssuerKey> =
            self.keys.iter().filter(|key| kid.is_none_or(|kid| key.kid.as_deref() == Some(kid))).collect();
        if named.is_empty() {
            return Err(Refusal::UnknownKid(crate::untrusted::Escaped(kid.unwrap_or("")).to_string()));
        }
        let fitting: Vec<&DecodingKey> =
            named.into_iter().filter(|key| fits(key, alg)).map(|key| &key.decoding).collect();
        if fitting.is_empty() {
            let kid = crate::untrusted::Escaped(kid.unwrap_or("(none)")).to_string();
            return Err(Refusal::KeyMismatch { kid, alg: format!("{alg:?}") });
        }
        Ok(fitting)
    }
}

/// Whether `key` can verify `alg`: the key type fits the family (and curve), and a pinned `alg`
/// is the same.
fn fits(key: &IssuerKey, alg: Algorithm) -> bool {
    let type_fits = match (&key.params, alg) {
        (AlgorithmParameters::RSA(_), alg) => alg.family() == AlgorithmFamily::Rsa,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => ec.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => ec.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => okp.curve == EllipticCurve::Ed25519,
        _ => false,
    };
    type_fits && key.alg.is_none_or(|pinned| pinned == KeyAlgorithm::from(alg))
}

/// One JWKS entry as a usable key, or why not.
fn usable(entry: &Value) -> Result<IssuerKey, String> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|error| error.to_string())?;
    let kid = jwk.common.key_id.clone();
    let name = kid.as_deref().map(crate::untrusted::Escaped).map(|kid| kid.to_string()).unwrap_or_default();
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err(format!("key {name} is for encryption (use \"enc\")"));
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_)
        | AlgorithmParameters::EllipticCurve(_)
        | AlgorithmParameters::OctetKeyPair(_) => {}
        AlgorithmParameters::OctetKey(_) => return Err(format!("key {name} is a symmetric key")),
        _ => return Err(format!("key {name} has an unknown type")),
    }
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|error| format!("key {name}: {error}"))?;
    Ok(IssuerKey { kid, alg: jwk.common.key_algorithm, params: jwk.algorithm, decoding })
}
