//! [`SigningKey`]: a private key parsed once, with its certificate, `kid` and `x5c`.

use std::fmt;
use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::ParsedPublicKey;
use time::OffsetDateTime;

use super::certificate::CertificateChain;
use super::private_key::PrivateKey;
use super::{KidFormat, TokenError};

/// A parsed signing key with its certificate, `kid` and algorithm.
pub struct SigningKey {
    /// The private key, parsed at load and reused for every signature.
    private_key: PrivateKey,
    /// Its public key, parsed at load and reused for every verification (refresh tokens).
    public_key: ParsedPublicKey,
    /// The certificate file's certificates (leaf first) and what is derived from the leaf.
    chain: CertificateChain,
    /// The `x5c` header value, computed once.
    x5c: Vec<String>,
    /// The random source aws-lc-rs asks for (RSA PKCS#1 v1.5 does not use it; ECDSA does).
    rng: SystemRandom,
}

impl SigningKey {
    /// Loads a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) and its PEM certificate.
    ///
    /// The certificate file may hold a chain (leaf first); all of it goes into `x5c`.
    pub fn load(key_path: &Path, cert_path: &Path) -> Result<Self, TokenError> {
        let key_origin = key_path.display().to_string();
        let cert_origin = cert_path.display().to_string();
        let key_pem = read_file(key_path, &key_origin)?;
        let cert_pem = read_file(cert_path, &cert_origin)?;
        Self::from_named_pem(&key_pem, &key_origin, &cert_pem, &cert_origin)
    }

    /// Parses a PEM key and certificate held in memory; `origin` names them in errors.
    pub fn from_pem(key_pem: &str, cert_pem: &str, origin: &str) -> Result<Self, TokenError> {
        Self::from_named_pem(key_pem, origin, cert_pem, origin)
    }

    /// Parses a key and a certificate, each named by where it came from.
    fn from_named_pem(
        key_pem: &str,
        key_origin: &str,
        cert_pem: &str,
        cert_origin: &str,
    ) -> Result<Self, TokenError> {
        let private_key = PrivateKey::from_pem(key_pem).map_err(|m| key_file(key_origin, m))?;
        let chain = CertificateChain::from_pem(cert_pem).map_err(|m| key_file(cert_origin, m))?;
        if private_key.public_key_bits() != chain.leaf_public_key.as_slice() {
            let message = if key_origin == cert_origin {
                "the private key does not match the certificate's public key".to_owned()
            } else {
                format!("the private key does not match the public key of the certificate in {cert_origin}")
            };
            return Err(key_file(key_origin, message));
        }
        let public_key =
            ParsedPublicKey::new(private_key.verification_algorithm(), private_key.public_key_bits())
                .map_err(|error| key_file(key_origin, format!("its public key does not parse: {error}")))?;
        Ok(Self { private_key, public_key, x5c: chain.x5c(), chain, rng: SystemRandom::new() })
    }

    /// The libtrust `kid`.
    pub fn kid(&self) -> &str {
        &self.chain.kid
    }

    /// The `kid` in `format`: libtrust or the RFC 7638 thumbprint.
    pub fn kid_as(&self, format: KidFormat) -> &str {
        match format {
            KidFormat::Libtrust => self.kid(),
            KidFormat::Rfc7638 => self.thumbprint(),
        }
    }

    /// The RFC 7638 thumbprint of the public key, as registry 3 computes it (its `kid`).
    pub fn thumbprint(&self) -> &str {
        &self.chain.thumbprint
    }

    /// The public key as a JWKS entry with `kid` (and the certificates in `x5c` if `with_x5c`).
    pub fn jwk(&self, kid: &str, with_x5c: bool) -> serde_json::Value {
        self.chain.jwk.to_json(kid, self.algorithm(), with_x5c.then_some(self.x5c.as_slice()))
    }

    /// The JOSE algorithm name (`RS256` or `ES256`).
    pub fn algorithm(&self) -> &'static str {
        self.private_key.algorithm()
    }

    /// The `x5c` header value: standard base64 of each certificate's DER, leaf first.
    pub fn x5c(&self) -> &[String] {
        &self.x5c
    }

    /// The leaf certificate's `notBefore`.
    pub fn not_before(&self) -> OffsetDateTime {
        self.chain.not_before
    }

    /// The certificate file's certificates as PEM (LF line endings), leaf first.
    pub fn certificates_pem(&self) -> String {
        self.chain.to_pem()
    }

    /// Signs `msg` with this key (RS256, or ES256 as 64-byte `r||s`): the raw JWS signature.
    pub fn sign_raw(&self, msg: &[u8]) -> Result<Vec<u8>, TokenError> {
        self.private_key.sign(&self.rng, msg).map_err(TokenError::Signing)
    }

    /// Whether `signature` is this key's raw JWS signature of `msg` (see [`SigningKey::sign_raw`]).
    pub fn verify_raw(&self, msg: &[u8], signature: &[u8]) -> bool {
        self.public_key.verify_sig(msg, signature).is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.chain.kid)
            .field("algorithm", &self.algorithm())
            .field("not_before", &self.chain.not_before)
            .finish_non_exhaustive()
    }
}

/// Reads a PEM file as text.
fn read_file(path: &Path, origin: &str) -> Result<String, TokenError> {
    std::fs::read_to_string(path).map_err(|error| key_file(origin, error.to_string()))
}

/// A [`TokenError::KeyFile`] for `origin`.
fn key_file(origin: &str, message: String) -> TokenError {
    TokenError::KeyFile { path: origin.to_owned(), message }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
