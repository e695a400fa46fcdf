//! New signing keys with self-signed certificates, as `regent init` and `regent keys rotate`
//! write them.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::RsaKeyPair;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls_pki_types::PrivatePkcs8KeyDer;
use time::{Duration, OffsetDateTime};

use super::{GeneratedKey, KeyType, TokenError};
use crate::secret::Secret;

/// How far before `now` the certificate becomes valid (absorbs small clock differences).
const BACKDATE: Duration = Duration::minutes(1);
/// How long the certificate is valid after `now`.
const VALIDITY: Duration = Duration::days(3653);

/// Generates a new key (RSA 2048 or 3072, P-256 or Ed25519) and a self-signed certificate for
/// `common_name`.
///
/// The certificate is valid from one minute before `now` for ten years; it is the registry's
/// `auth.token.rootcertbundle`. The key is PKCS#8 PEM.
pub fn generate_key(
    key_type: KeyType,
    common_name: &str,
    now: OffsetDateTime,
) -> Result<GeneratedKey, TokenError> {
    let key_pair = new_key_pair(key_type)?;
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

/// A new key pair. rcgen makes RSA 2048, P-256 and Ed25519 keys itself; an RSA 3072 key is
/// made by aws-lc-rs and handed to rcgen as PKCS#8.
fn new_key_pair(key_type: KeyType) -> Result<KeyPair, TokenError> {
    let generated = match key_type {
        KeyType::Rsa => KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256),
        KeyType::Ec => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        KeyType::Rsa3072 => {
            let rsa = RsaKeyPair::generate(KeySize::Rsa3072)
                .map_err(|error| generation_error(&format!("generating the key: {error}")))?;
            let der = AsDer::<Pkcs8V1Der>::as_der(&rsa)
                .map_err(|error| generation_error(&format!("encoding the key: {error}")))?;
            let der = PrivatePkcs8KeyDer::from(der.as_ref().to_vec());
            KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)
        }
    };
    generated.map_err(|error| generation_error(&format!("generating the key: {error}")))
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
        let cases = [
            (KeyType::Rsa, "1.2.840.113549.1.1.1", 2048),
            (KeyType::Rsa3072, "1.2.840.113549.1.1.1", 3072),
            (KeyType::Ec, "1.2.840.10045.2.1", 256),
            (KeyType::Ed25519, "1.3.101.112", 0),
        ];
        for (key_type, oid, bits) in cases {
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
            if bits > 0 {
                assert_eq!(cert.public_key().parsed().unwrap().key_size(), bits, "{key_type:?}");
            }
            // The pair loads back as a signing key (the certificate matches the private key).
            let key =
                crate::token::SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "m");
            assert!(key.is_ok(), "{key_type:?}: {key:?}");
        }
    }
}
