//! Signing keys, libtrust and RFC 7638 `kid`s, `x5c`, JWKS, claims and the token issuer.
//!
//! Tokens are RS256 (RSA keys) or ES256 (P-256 keys, JOSE `r||s`), signed with aws-lc-rs from a
//! key parsed once at load. By default the header carries `typ`, `alg`, a libtrust `kid` and
//! `x5c` with the signing certificate, which registry 2.8 and 3.x both accept; [`HeaderOptions`]
//! switch to an RFC 7638 `kid` and/or drop `x5c` (registry 3 with a JWKS).
//!
//! Submodules: `kid` ([`libtrust_kid`]), `jwk` (RFC 7638 thumbprints, JWKS entries), `generate`
//! (new keys for `regent init` and `regent keys rotate`), `keys` ([`SigningKey`]), `keyset`
//! ([`KeySet`]), `issuer` ([`TokenIssuer`]) and their private helpers for certificates, private
//! keys and claims.

use time::OffsetDateTime;

use crate::secret::Secret;

mod certificate;
mod claims;
mod generate;
mod issuer;
mod jwk;
mod keys;
mod keyset;
mod kid;
mod private_key;

pub use generate::generate_key;
pub use issuer::{MIN_TOKEN_TTL, TokenIssuer};
pub use keys::SigningKey;
pub use keyset::KeySet;
pub use kid::libtrust_kid;

/// Errors loading keys or signing tokens.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A key or certificate file could not be read or parsed.
    #[error("{path}: {message}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// How the `kid` header and the JWKS entries name a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KidFormat {
    /// libtrust: what registry 2.8 matches against its bundle (registry 3 ignores it).
    #[default]
    Libtrust,
    /// The RFC 7638 thumbprint as distribution 3.1 computes it: registry 3 finds a bundled key
    /// by it without `x5c`.
    Rfc7638,
}

/// What goes into the JOSE header besides `typ` and `alg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderOptions {
    /// The `kid` format (also the `kid` of JWKS entries).
    pub kid: KidFormat,
    /// Whether tokens carry the signing certificate in `x5c`.
    pub x5c: bool,
}

impl Default for HeaderOptions {
    /// libtrust `kid` and `x5c`: accepted by registry 2.8 and 3.x with a `rootcertbundle`.
    fn default() -> Self {
        Self { kid: KidFormat::Libtrust, x5c: true }
    }
}

/// The kind of signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// RSA 2048, RS256.
    #[default]
    Rsa,
    /// ECDSA P-256, ES256.
    Ec,
}

/// A PEM private key and its self-signed certificate, as `regent init` writes them.
#[derive(Debug)]
pub struct GeneratedKey {
    /// PKCS#8 PEM private key.
    pub key_pem: Secret,
    /// PEM certificate (the registry's `rootcertbundle`).
    pub cert_pem: String,
}

/// A freshly signed token.
#[derive(Debug)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: Secret,
    /// Lifetime in seconds (the `expires_in` of the response).
    pub expires_in: u64,
    /// When it was issued (`iat`).
    pub issued_at: OffsetDateTime,
}
