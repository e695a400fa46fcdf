//! `init --host` on an existing data directory: adds TLS, keeps the signing key and the
//! operator's config text.

use std::fs;

use time::macros::datetime;

use super::super::tls::{CA_CERTIFICATE_FILE, SERVER_CERTIFICATE_FILE, SERVER_KEY_FILE};
use super::super::{CONFIG_FILE_NAME, InitError, InitOptions, KEY_FILE, init};
use crate::config::Config;
use crate::token::KeyType;

const NOW: time::OffsetDateTime = datetime!(2025-01-02 03:04:05 UTC);

/// `init --host registry.example.com` as the command line makes it (the realm on the TLS port).
fn with_host(dir: &std::path::Path) -> InitOptions {
    InitOptions {
        hosts: vec!["registry.example.com".to_owned()],
        realm: "https://registry.example.com:5443/token".to_owned(),
        key_type: KeyType::Ec,
        ..InitOptions::new(dir)
    }
}

#[test]
fn adds_certificates_and_the_listener_and_keeps_the_signing_key() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    init(&InitOptions { key_type: KeyType::Ec, ..InitOptions::new(dir) }, &[], NOW).unwrap();
    let key = fs::read(dir.join(KEY_FILE)).unwrap();
    let config_path = dir.join(CONFIG_FILE_NAME);
    let mut before = fs::read_to_string(&config_path).unwrap();
    before = before.replace("ttl = \"5m\"", "ttl = \"10m\"  # mine");
    fs::write(&config_path, &before).unwrap();

    let report = init(&with_host(dir), &[], NOW).unwrap();
    assert_eq!(fs::read(dir.join(KEY_FILE)).unwrap(), key, "the signing key is untouched");
    for name in [CA_CERTIFICATE_FILE, SERVER_CERTIFICATE_FILE, SERVER_KEY_FILE] {
        assert!(report.written.contains(&dir.join(name)), "{name} written: {report}");
    }
    assert!(report.kept.contains(&dir.join("keys")), "the key directory is kept: {report}");
    let after = fs::read_to_string(&config_path).unwrap();
    assert!(after.contains("ttl = \"10m\"  # mine"), "the operator's edits stay:\n{after}");
    assert!(after.contains("# regent configuration, written by `regent init`."), "{after}");
    assert!(after.contains("realm = \"https://registry.example.com:5443/token\"\n"), "{after}");
    assert!(!after.contains("http://127.0.0.1:5001/token"), "{after}");
    let config = Config::load(&config_path).unwrap();
    let tls = config.listen.iter().find(|listen| listen.tls.is_some()).expect("a TLS listener");
    assert_eq!(tls.address.to_string(), "0.0.0.0:5443");
    assert_eq!(config.listen.len(), 2, "the plain listener stays");
    assert_eq!(report.realm, "https://registry.example.com:5443/token");
    let printed = report.to_string();
    assert!(printed.contains("the realm was http://127.0.0.1:5001/token"), "{printed}");
    assert!(printed.contains("realm: https://registry.example.com:5443/token"), "{printed}");

    // Once more: everything is in place, nothing changes.
    let server_cert = fs::read(dir.join(SERVER_CERTIFICATE_FILE)).unwrap();
    let again = init(&with_host(dir), &[], NOW).unwrap();
    assert_eq!(again.written, Vec::<std::path::PathBuf>::new(), "{again}");
    assert_eq!(fs::read_to_string(&config_path).unwrap(), after);
    assert_eq!(fs::read(dir.join(SERVER_CERTIFICATE_FILE)).unwrap(), server_cert);
    assert_eq!(fs::read(dir.join(KEY_FILE)).unwrap(), key);
    assert!(again.to_string().contains("already has a TLS listener"), "{again}");
}

#[test]
fn an_https_realm_is_kept() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let opts = InitOptions {
        realm: "https://proxy.example.com/token".to_owned(),
        key_type: KeyType::Ec,
        ..InitOptions::new(dir)
    };
    init(&opts, &[], NOW).unwrap();
    let report = init(&with_host(dir), &[], NOW).unwrap();
    assert_eq!(report.realm, "https://proxy.example.com/token");
    assert!(report.notes.iter().all(|note| !note.contains("realm")), "{report}");
}

#[test]
fn a_config_that_cannot_take_the_block_is_refused_and_nothing_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    init(&InitOptions { key_type: KeyType::Ec, ..InitOptions::new(dir) }, &[], NOW).unwrap();
    let config_path = dir.join(CONFIG_FILE_NAME);
    let text = fs::read_to_string(&config_path).unwrap();
    // `listen` as an inline array (valid, but a `[[listen]]` table cannot be added to it).
    let plain = "[[listen]]\naddress = \"127.0.0.1:5001\"\n";
    assert!(text.contains(plain));
    let inline = format!("listen = [{{ address = \"127.0.0.1:5001\" }}]\n{}", text.replace(plain, ""));
    Config::parse(&inline, &config_path).expect("the inline form is a valid config");
    fs::write(&config_path, &inline).unwrap();

    let error = init(&with_host(dir), &[], NOW).unwrap_err();
    assert!(matches!(error, InitError::ConfigEdit { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("--force"), "{message}");
    assert!(message.contains("[[listen]]\naddress = \"0.0.0.0:5443\""), "{message}");
    assert_eq!(fs::read_to_string(&config_path).unwrap(), inline);
    assert!(!dir.join("certs").exists(), "no certificates are written");
}
