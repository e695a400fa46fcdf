//! Public keys as JWKs: the RFC 7638 thumbprint registry 3 keys its `rootcertbundle` by, and the
//! JWKS entries of its `auth.token.jwks` file and of `/.well-known/jwks.json`.
//!
//! distribution 3.1 computes the thumbprint from Go's `big.Int.Bytes()` of every RSA and EC
//! parameter, i.e. big-endian with leading zero bytes stripped. For RSA that is what RFC 7638
//! asks anyway; for EC it differs from the strict RFC (which keeps coordinates at the full 32
//! bytes) in one key of about 128, whose `x` or `y` starts with a zero byte. regent computes the
//! thumbprint the registry computes, or a kid-only token from such a key would be refused.
//!
//! The JWKS file, though, is parsed by go-jose, which requires EC coordinates at their full
//! length: the JWK members themselves are written unstripped.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// The algorithm OID of Ed25519 keys (RFC 8410).
const ED25519_OID: &str = "1.3.101.112";
/// The length of an uncompressed P-256 point: `0x04 || x || y`.
const P256_POINT_BYTES: usize = 65;
/// The length of one P-256 coordinate.
const P256_COORDINATE_BYTES: usize = 32;

/// The public parameters of a signing key, as a JWK holds them (big-endian bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PublicJwk {
    /// `kty: RSA`: modulus `n` and exponent `e`, without leading zero bytes.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
    /// `kty: EC`, `crv: P-256`: the coordinates at their full 32 bytes.
    P256 {
        /// The x coordinate.
        x: Vec<u8>,
        /// The y coordinate.
        y: Vec<u8>,
    },
    /// `kty: OKP`, `crv: Ed25519`: the 32-byte public key.
    Ed25519 {
        /// The public key.
        x: Vec<u8>,
    },
}

impl PublicJwk {
    /// The JWK of a certificate's SubjectPublicKeyInfo (RSA, P-256 or Ed25519).
    pub(super) fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Result<Self, String> {
        if spki.algorithm.algorithm.to_id_string() == ED25519_OID {
            return Ok(Self::Ed25519 { x: spki.subject_public_key.data.to_vec() });
        }
        match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                Ok(Self::Rsa { n: strip_leading_zeros(rsa.modulus), e: strip_leading_zeros(rsa.exponent) })
            }
            Ok(PublicKey::EC(point)) => {
                let data = point.data();
                if data.len() != P256_POINT_BYTES || data[0] != 0x04 {
                    return Err("only uncompressed P-256 public keys are supported".to_owned());
                }
                let (x, y) = data[1..].split_at(P256_COORDINATE_BYTES);
                Ok(Self::P256 { x: x.to_vec(), y: y.to_vec() })
            }
            _ => Err("the certificate's public key is not RSA, P-256 or Ed25519".to_owned()),
        }
    }

    /// The RFC 7638 SHA-256 thumbprint (base64url) exactly as distribution 3.1 computes it:
    /// members in lexical order, every RSA and EC parameter with leading zero bytes stripped.
    pub(super) fn thumbprint(&self) -> String {
        let canonical = match self {
            Self::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(strip(e)), b64(strip(n)))
            }
            Self::P256 { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, b64(strip(x)), b64(strip(y)))
            }
            Self::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64(x)),
        };
        b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// The JWKS entry: the key's members, `kid`, `alg`, `use: sig`, and `x5c` when given.
    pub(super) fn to_json(&self, kid: &str, alg: &str, x5c: Option<&[String]>) -> Value {
        let mut entry = match self {
            Self::Rsa { n, e } => json!({"kty": "RSA", "n": b64(n), "e": b64(e)}),
            Self::P256 { x, y } => json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}),
            Self::Ed25519 { x } => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(x)}),
        };
        entry["kid"] = kid.into();
        entry["alg"] = alg.into();
        entry["use"] = "sig".into();
        if let Some(x5c) = x5c {
            entry["x5c"] = json!(x5c);
        }
        entry
    }
}

/// `bytes` without leading zero bytes (what Go's `big.Int.Bytes()` returns).
fn strip(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|byte| *byte != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// An owned [`strip`] (a DER INTEGER carries a zero sign byte before a high first byte).
fn strip_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    strip(bytes).to_vec()
}

/// Base64url without padding.
fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
#[path = "jwk_tests.rs"]
mod tests;
