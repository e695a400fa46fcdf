//! The key directory through the one reload mechanism: rotate, activate, retire, broken pairs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::KeyType;
use crate::reload::Reloadable;
use crate::token::keydir::{self, RETIRED_DIR, move_pair, write_pair};
use crate::token::{TokenIssuer, generate_key};
use time::OffsetDateTime;
use time::macros::datetime;

fn token_config(directory: &Path, kid: KidFormat, x5c: bool) -> TokenConfig {
    TokenConfig {
        service: "registry.test".into(),
        issuer: "regent".into(),
        realm: "http://127.0.0.1:1/token".into(),
        ttl: Duration::from_secs(300),
        keys: Vec::new(),
        key_directory: Some(directory.to_path_buf()),
        kid,
        x5c,
        key_type: KeyType::Ec,
    }
}

fn new_pair(dir: &Path, name: &str, now: OffsetDateTime, state: KeyState) -> keydir::KeyPairFiles {
    write_pair(dir, name, &generate_key(KeyType::Ec, "regent", now).unwrap(), state).unwrap()
}

/// The kid in the header of a token the issuer signs now.
fn signing_kid(issuer: &TokenIssuer) -> String {
    let token = issuer.issue("a", &[], datetime!(2025-06-01 00:00:00 UTC)).unwrap();
    let header = token.token.expose().split('.').next().unwrap().to_owned();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[test]
fn rotate_activate_retire_through_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    new_pair(&keys_dir, "token", datetime!(2025-01-01 00:00:00 UTC), KeyState::Active);
    let config = token_config(&keys_dir, KidFormat::Rfc7638, false);
    let loader = config.clone();
    let reloadable = Reloadable::new("keys", watched_paths(&config), move || load_key_set(&loader)).unwrap();
    let issuer = TokenIssuer::watched(
        reloadable.clone(),
        "regent".into(),
        "registry.test".into(),
        Duration::from_secs(300),
    );
    let old_kid = issuer.keys().signing_key().thumbprint().to_owned();
    assert_eq!(signing_kid(&issuer), old_kid);

    // Rotated in: trusted (bundle and JWKS hold both), the old key still signs.
    let pending = new_pair(
        &keys_dir.join(keydir::PENDING_DIR),
        "token-2",
        datetime!(2025-02-01 00:00:00 UTC),
        KeyState::Pending,
    );
    assert!(reloadable.reload_now());
    let keys = issuer.keys();
    assert_eq!(keys.keys().len(), 2);
    assert_eq!(keys.certificates_pem().matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
    assert_eq!(signing_kid(&issuer), old_kid);
    let new_kid = keys.keys()[1].thumbprint().to_owned();

    // Activated: the newest signs from the next token on.
    move_pair(&pending, &keys_dir, KeyState::Active).unwrap();
    assert!(reloadable.reload_now());
    assert_eq!(signing_kid(&issuer), new_kid);

    // Retired: gone from the bundle and the JWKS.
    let old = keydir::list_pairs(&keys_dir).unwrap().into_iter().find(|p| p.name == "token").unwrap();
    let old_pem = std::fs::read_to_string(&old.certificate).unwrap();
    move_pair(&old, &keys_dir.join(RETIRED_DIR), KeyState::Active).unwrap();
    assert!(reloadable.reload_now());
    let keys = issuer.keys();
    assert_eq!(keys.keys().len(), 1);
    assert!(!keys.certificates_pem().contains(old_pem.trim()));
    let jwks = keys.jwks();
    assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());
    assert!(!jwks.to_string().contains(&old_kid));
}

#[test]
fn a_broken_pair_is_refused_and_the_last_good_set_keeps_signing() {
    let dir = tempfile::tempdir().unwrap();
    new_pair(dir.path(), "token", datetime!(2025-01-01 00:00:00 UTC), KeyState::Active);
    let config = token_config(dir.path(), KidFormat::Libtrust, true);
    let loader = config.clone();
    let reloadable = Reloadable::new("keys", watched_paths(&config), move || load_key_set(&loader)).unwrap();
    let kid = reloadable.get().signing_key().kid().to_owned();
    // A key without its certificate, then a certificate that is not PEM.
    std::fs::write(dir.path().join("lonely.key"), "x").unwrap();
    assert!(!reloadable.reload_now());
    let error = load_key_set(&config).unwrap_err().to_string();
    assert!(error.contains("lonely.key") && error.contains("no certificate"), "{error}");
    std::fs::write(dir.path().join("lonely.crt"), "not pem").unwrap();
    assert!(!reloadable.reload_now());
    assert_eq!(reloadable.get().signing_key().kid(), kid);
    assert_eq!(reloadable.get().keys().len(), 1);
}

#[test]
fn an_empty_directory_says_how_to_make_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let error = load_key_set(&token_config(dir.path(), KidFormat::Libtrust, true)).unwrap_err().to_string();
    assert!(error.contains("regent keys rotate --now"), "{error}");
}

#[test]
fn files_are_written_with_private_and_public_modes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pair = new_pair(&dir.path().join("keys"), "k", datetime!(2025-01-01 00:00:00 UTC), KeyState::Active);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&pair.key), 0o600);
    assert_eq!(mode(&pair.certificate), 0o644);
    assert_eq!(mode(&dir.path().join("keys")), 0o700);
    let again = write_pair(
        &dir.path().join("keys"),
        "k",
        &generate_key(KeyType::Ec, "r", datetime!(2025-01-01 00:00:00 UTC)).unwrap(),
        KeyState::Active,
    );
    assert!(again.unwrap_err().to_string().contains("exists"));
}

#[test]
fn warnings_name_the_registries_that_refuse_the_tokens() {
    let now = datetime!(2025-01-01 00:00:00 UTC);
    let set = |key_type, kid, x5c| {
        let generated = generate_key(key_type, "r", now).unwrap();
        let key = SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "m").unwrap();
        Arc::new(KeySet::with_options(vec![key], HeaderOptions { kid, x5c }).unwrap())
    };
    assert!(compatibility_warnings(&set(KeyType::Ec, KidFormat::Libtrust, true)).is_empty());
    let warnings = compatibility_warnings(&set(KeyType::Ec, KidFormat::Libtrust, false));
    assert!(warnings.len() == 1 && warnings[0].contains("only a rootcertbundle refuses"), "{warnings:?}");
    let warnings = compatibility_warnings(&set(KeyType::Ed25519, KidFormat::Rfc7638, false));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.contains("registry 2.8 refuse")), "{warnings:?}");
}
