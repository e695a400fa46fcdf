use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

use super::*;
use crate::config::SniCertificate;

/// A CA-signed leaf for `names`: (certificate PEM, key PEM).
fn leaf(issuer: &Issuer<'_, KeyPair>, names: &[&str]) -> (String, String) {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    (params.signed_by(&key, issuer).unwrap().pem(), key.serialize_pem())
}

fn issuer() -> Issuer<'static, KeyPair> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    Issuer::new(params, key)
}

fn write(dir: &Path, stem: &str, (cert, key): &(String, String)) -> (PathBuf, PathBuf) {
    let paths = (dir.join(format!("{stem}.crt")), dir.join(format!("{stem}.key")));
    std::fs::write(&paths.0, cert).unwrap();
    std::fs::write(&paths.1, key).unwrap();
    paths
}

/// The leaf a resolved key presents, as PEM-decoded DER.
fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

#[test]
fn sni_patterns_match_exact_names_and_one_wildcard_label() {
    let cases = [
        ("registry.test", "registry.test", true),
        ("registry.test", "other.test", false),
        ("*.example.com", "a.example.com", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "a.b.example.com", false),
        ("*.example.com", ".example.com", false),
    ];
    for (pattern, name, expected) in cases {
        assert_eq!(name_matches(pattern, name), expected, "{pattern} vs {name}");
    }
}

#[test]
fn store_resolves_by_name_and_falls_back_to_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = issuer();
    let (default, wildcard) = (leaf(&issuer, &["registry.test"]), leaf(&issuer, &["*.example.com"]));
    let (certificate, key) = write(dir.path(), "default", &default);
    let (sni_certificate, sni_key) = write(dir.path(), "wildcard", &wildcard);
    let sni = vec![SniCertificate {
        names: vec!["*.example.com".into()],
        certificate: sni_certificate,
        key: sni_key,
    }];
    let store = CertificateStore::load(&TlsConfig { certificate, key, sni }).unwrap();
    let cases = [
        (None, &default),
        (Some("registry.test"), &default),
        (Some("unknown.test"), &default),
        (Some("a.example.com"), &wildcard),
        (Some("A.Example.COM"), &wildcard),
    ];
    for (name, expected) in cases {
        assert!(store.resolve(name).cert[0] == der(&expected.0), "{name:?}");
    }
    assert!(server_config(store).unwrap().alpn_protocols == [b"h2".to_vec(), b"http/1.1".to_vec()]);
}

#[test]
fn force_reload_swaps_good_files_and_keeps_the_last_good_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = issuer();
    let first = leaf(&issuer, &["registry.test"]);
    let (certificate, key) = write(dir.path(), "server", &first);
    let store = CertificateStore::load(&TlsConfig { certificate, key, sni: Vec::new() }).unwrap();

    let second = leaf(&issuer, &["registry.test"]);
    write(dir.path(), "server", &second);
    store.force_reload().unwrap();
    assert!(store.resolve(None).cert[0] == der(&second.0));

    // A certificate whose key does not match (half of a renewal written) is refused.
    std::fs::write(dir.path().join("server.crt"), &first.0).unwrap();
    let error = store.force_reload().unwrap_err().to_string();
    assert!(error.contains("server.crt"), "{error}");
    assert!(store.resolve(None).cert[0] == der(&second.0), "the last good certificate stays");
}

#[test]
fn replace_presents_other_files_and_a_failed_prepare_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = issuer();
    let first = leaf(&issuer, &["registry.test"]);
    let (certificate, key) = write(dir.path(), "first", &first);
    let store = CertificateStore::load(&TlsConfig { certificate, key, sni: Vec::new() }).unwrap();

    let second = leaf(&issuer, &["registry.test"]);
    let (certificate, key) = write(dir.path(), "second", &second);
    store.replace(CertificateStore::prepare(&TlsConfig { certificate, key, sni: Vec::new() }).unwrap());
    assert!(store.resolve(None).cert[0] == der(&second.0), "the new files are presented");

    let missing = TlsConfig {
        certificate: dir.path().join("missing.crt"),
        key: dir.path().join("missing.key"),
        sni: Vec::new(),
    };
    let error = CertificateStore::prepare(&missing).unwrap_err().to_string();
    assert!(error.contains("missing.crt"), "{error}");
    assert!(store.resolve(None).cert[0] == der(&second.0), "the current certificate stays");
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = issuer();
    let (certificate, key) = write(dir.path(), "server", &leaf(&issuer, &["registry.test"]));
    let provider = provider();
    let empty = dir.path().join("empty.crt");
    std::fs::write(&empty, "").unwrap();
    let missing = dir.path().join("missing.key");
    let cases = [
        (empty.as_path(), key.as_path(), "empty.crt: no certificate"),
        (certificate.as_path(), missing.as_path(), "missing.key"),
        (certificate.as_path(), certificate.as_path(), "server.crt"),
    ];
    for (certificate, key, expected) in cases {
        let error = load_certified_key(&provider, certificate, key).expect_err("an error").to_string();
        assert!(error.contains(expected), "{error}");
    }
}
