//! Tests of [`SigningKey`] loading: generated keys round-trip through files.

use super::*;
use crate::token::{GeneratedKey, KeyType, generate_key};
use time::macros::datetime;

/// Writes a generated key and certificate into `dir`; returns their paths.
fn write_pair(dir: &Path, name: &str, generated: &GeneratedKey) -> (std::path::PathBuf, std::path::PathBuf) {
    let key_path = dir.join(format!("{name}.key"));
    let cert_path = dir.join(format!("{name}.crt"));
    std::fs::write(&key_path, generated.key_pem.expose()).unwrap();
    std::fs::write(&cert_path, &generated.cert_pem).unwrap();
    (key_path, cert_path)
}

#[test]
fn generated_keys_load_back() {
    let now = datetime!(2025-03-01 12:00:00 UTC);
    let dir = tempfile::tempdir().unwrap();
    for (key_type, algorithm, signature_len) in [(KeyType::Rsa, "RS256", 256), (KeyType::Ec, "ES256", 64)] {
        let generated = generate_key(key_type, "regent", now).unwrap();
        let (key_path, cert_path) = write_pair(dir.path(), algorithm, &generated);
        let key = SigningKey::load(&key_path, &cert_path).unwrap();
        assert_eq!(key.algorithm(), algorithm);
        let block = pem::parse(&generated.cert_pem).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(block.contents()).unwrap();
        let spki = cert.tbs_certificate.subject_pki.raw;
        assert_eq!(key.kid(), crate::token::libtrust_kid(spki));
        assert_eq!(key.x5c().len(), 1);
        assert_eq!(key.not_before(), now - time::Duration::minutes(1));
        assert_eq!(key.certificates_pem(), generated.cert_pem.replace("\r\n", "\n"));
        assert_eq!(key.sign_raw(b"header.payload").unwrap().len(), signature_len);
    }
}

#[test]
fn each_key_type_verifies_its_own_signatures_only() {
    let now = datetime!(2025-03-01 12:00:00 UTC);
    let load = |key_type| {
        let generated = generate_key(key_type, "regent", now).unwrap();
        SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "memory").unwrap()
    };
    for key_type in [KeyType::Rsa, KeyType::Rsa3072, KeyType::Ec, KeyType::Ed25519] {
        let (key, other) = (load(key_type), load(key_type));
        let signature = key.sign_raw(b"header.payload").unwrap();
        assert!(key.verify_raw(b"header.payload", &signature), "{key_type:?}");
        assert!(!key.verify_raw(b"header.payload!", &signature), "{key_type:?}: another message");
        assert!(!other.verify_raw(b"header.payload", &signature), "{key_type:?}: another key");
        assert!(!key.verify_raw(b"header.payload", &signature[1..]), "{key_type:?}: a cut signature");
    }
}

#[test]
fn a_key_with_another_keys_certificate_is_refused() {
    let now = datetime!(2025-03-01 12:00:00 UTC);
    let dir = tempfile::tempdir().unwrap();
    let first = generate_key(KeyType::Ec, "first", now).unwrap();
    let second = generate_key(KeyType::Ec, "second", now).unwrap();
    let rsa = generate_key(KeyType::Rsa, "rsa", now).unwrap();
    let (first_key, _) = write_pair(dir.path(), "first", &first);
    let (_, second_cert) = write_pair(dir.path(), "second", &second);
    let (_, rsa_cert) = write_pair(dir.path(), "rsa", &rsa);
    for cert_path in [&second_cert, &rsa_cert] {
        let error = SigningKey::load(&first_key, cert_path).unwrap_err().to_string();
        assert!(error.starts_with(&first_key.display().to_string()), "{error}");
        assert!(error.contains(&cert_path.display().to_string()), "{error}");
        assert!(error.contains("does not match"), "{error}");
    }
}

#[test]
fn errors_name_the_file() {
    let now = datetime!(2025-03-01 12:00:00 UTC);
    let dir = tempfile::tempdir().unwrap();
    let generated = generate_key(KeyType::Ec, "regent", now).unwrap();
    let (key_path, cert_path) = write_pair(dir.path(), "ok", &generated);
    let missing = dir.path().join("missing.crt");
    let error = SigningKey::load(&key_path, &missing).unwrap_err().to_string();
    assert!(error.starts_with(&missing.display().to_string()), "{error}");
    // Swapped: the certificate file holds no private key.
    let error = SigningKey::load(&cert_path, &key_path).unwrap_err().to_string();
    assert!(error.starts_with(&cert_path.display().to_string()), "{error}");
    assert!(error.contains("no PRIVATE KEY"), "{error}");
}

#[test]
fn a_chain_goes_into_x5c_in_order() {
    let now = datetime!(2025-03-01 12:00:00 UTC);
    let leaf = generate_key(KeyType::Ec, "leaf", now).unwrap();
    let other = generate_key(KeyType::Ec, "ca", now).unwrap();
    let chain = format!("{}{}", leaf.cert_pem, other.cert_pem);
    let key = SigningKey::from_pem(leaf.key_pem.expose(), &chain, "memory").unwrap();
    let ders: Vec<Vec<u8>> =
        pem::parse_many(&chain).unwrap().into_iter().map(pem::Pem::into_contents).collect();
    let x5c: Vec<Vec<u8>> = key
        .x5c()
        .iter()
        .map(|entry| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, entry))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(x5c, ders);
}

#[test]
fn debug_shows_no_key_material() {
    let now = datetime!(2025-03-01 12:00:00 UTC);
    let generated = generate_key(KeyType::Ec, "regent", now).unwrap();
    let key = SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "m").unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains(key.kid()) && debug.contains("ES256"), "{debug}");
    assert!(!debug.contains("private"), "{debug}");
}
