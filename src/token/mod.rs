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
//! keys and claims; [`refresh`] mints and verifies refresh tokens (docker's identity tokens)
//! and holds the revocations.

use time::OffsetDateTime;

use crate::secret::Secret;

mod certificate;
mod claims;
mod generate;
mod issuer;
mod jwk;
pub mod keydir;
mod keys;
mod keyset;
mod kid;
mod load;
mod private_key;
pub mod refresh;

pub use crate::config::{KeyType, KidFormat};
pub use generate::generate_key;
pub use issuer::{MIN_TOKEN_TTL, TokenIssuer};
pub use keys::SigningKey;
pub use keyset::KeySet;
pub use kid::libtrust_kid;
pub use load::{compatibility_warnings, header_options, load_key_set, watched_paths};

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
    /// Its `jti` claim (random, 128 bits): names the token in the audit log.
    pub jti: String,
}
