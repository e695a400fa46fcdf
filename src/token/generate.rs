//! New signing keys with self-signed certificates, as `regent init` writes them.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SignatureAlgorithm};
use time::{Duration, OffsetDateTime};

use super::{GeneratedKey, KeyType, TokenError};
use crate::secret::Secret;

/// How far before `now` the certificate becomes valid (absorbs small clock differences).
const BACKDATE: Duration = Duration::minutes(1);
/// How long the certificate is valid after `now`.
const VALIDITY: Duration = Duration::days(3653);

/// Generates a new key (RSA 2048 or P-256) and a self-signed certificate for `common_name`.
///
/// The certificate is valid from one minute before `now` for ten years; it is the registry's
/// `auth.token.rootcertbundle`. The key is PKCS#8 PEM.
pub fn generate_key(
    key_type: KeyType,
    common_name: &str,
    now: OffsetDateTime,
) -> Result<GeneratedKey, TokenError> {
    let key_pair = KeyPair::generate_for(signature_algorithm(key_type))
        .map_err(|error| generation_error(&format!("generating the key: {error}")))?;
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    params.not_before = now - BACKDATE;
    params.not_after = now + VALIDITY;
    let certificate = params
        .self_signed(&key_pair)
        .map_err(|error| generation_error(&format!("signing the certificate: {error}")))?;
    Ok(GeneratedKey { key_pem: Secret::new(key_pair.serialize_pem()), cert_pem: certificate.pem() })
}

/// The rcgen algorithm for a key type.
fn signature_algorithm(key_type: KeyType) -> &'static SignatureAlgorithm {
    match key_type {
        KeyType::Rsa => &rcgen::PKCS_RSA_SHA256,
        KeyType::Ec => &rcgen::PKCS_ECDSA_P256_SHA256,
    }
}

/// A generation failure; there is no file yet, so the "path" says what was being made.
fn generation_error(message: &str) -> TokenError {
    TokenError::KeyFile { path: "(new signing key)".to_owned(), message: message.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use x509_parser::parse_x509_certificate;

    #[test]
    fn generated_certificates_carry_name_validity_and_key_type() {
        let now = datetime!(2025-03-01 12:00:00 UTC);
        for (key_type, oid) in [(KeyType::Rsa, "1.2.840.113549.1.1.1"), (KeyType::Ec, "1.2.840.10045.2.1")] {
            let generated = generate_key(key_type, "regent token signer", now).unwrap();
            assert!(generated.key_pem.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
            let block = pem::parse(&generated.cert_pem).unwrap();
            assert_eq!(block.tag(), "CERTIFICATE");
            let (_, cert) = parse_x509_certificate(block.contents()).unwrap();
            let cn = cert.subject().iter_common_name().next().unwrap();
            assert_eq!(cn.as_str().unwrap(), "regent token signer");
            assert_eq!(cert.validity().not_before.to_datetime(), now - BACKDATE);
            assert_eq!(cert.validity().not_after.to_datetime(), now + VALIDITY);
            assert_eq!(cert.public_key().algorithm.algorithm.to_id_string(), oid);
        }
    }
}
