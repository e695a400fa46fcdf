//! Signing keys, libtrust `kid`, `x5c`, claims and the token issuer.
//!
//! Tokens are RS256 (RSA keys) or ES256 (P-256 keys, JOSE `r||s`), signed with aws-lc-rs from a
//! key parsed once at load. The header carries `typ`, `alg`, a libtrust `kid` and `x5c` with the
//! signing certificate, which registry 2.8 and 3.x both accept.

use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;

use crate::scope::Access;
use crate::secret::Secret;

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

/// A parsed signing key with its certificate, `kid` and algorithm.
#[derive(Debug)]
pub struct SigningKey {}

/// The configured keys; the newest certificate (by `notBefore`, ties: last listed) signs.
#[derive(Debug)]
pub struct KeySet {}

/// Mints signed tokens.
#[derive(Debug)]
pub struct TokenIssuer {}

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

/// Generates a new key (RSA 2048 or P-256) and a self-signed certificate for `common_name`.
pub fn generate_key(
    key_type: KeyType,
    common_name: &str,
    now: OffsetDateTime,
) -> Result<GeneratedKey, TokenError> {
    let _ = (key_type, common_name, now);
    todo!("token helper")
}

/// The libtrust key ID of a DER SubjectPublicKeyInfo.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    let _ = spki_der;
    todo!("token helper")
}

impl SigningKey {
    /// Loads a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) and its PEM certificate.
    pub fn load(key_path: &Path, cert_path: &Path) -> Result<Self, TokenError> {
        let _ = (key_path, cert_path);
        todo!("token helper")
    }

    /// The libtrust `kid`.
    pub fn kid(&self) -> &str {
        todo!("token helper")
    }

    /// The JOSE algorithm name (`RS256` or `ES256`).
    pub fn algorithm(&self) -> &'static str {
        todo!("token helper")
    }
}

impl KeySet {
    /// A key set; errors when `keys` is empty.
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, TokenError> {
        let _ = keys;
        todo!("token helper")
    }

    /// The key that signs.
    pub fn signing_key(&self) -> &SigningKey {
        todo!("token helper")
    }
}

impl TokenIssuer {
    /// An issuer for `issuer` (the `iss` claim) and `service` (the `aud` claim).
    pub fn new(keys: KeySet, issuer: String, service: String, ttl: Duration) -> Self {
        let _ = (keys, issuer, service, ttl);
        todo!("token helper")
    }

    /// Signs a token for `subject` (empty for anonymous) carrying `access`, as issued at `now`.
    pub fn issue(
        &self,
        subject: &str,
        access: Vec<Access>,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let _ = (subject, access, now);
        todo!("token helper")
    }
}
