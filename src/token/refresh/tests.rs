//! Refresh tokens: claims, the separation from access tokens, expiry, revocation and rotation.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::token::{KeyType, SigningKey, TokenIssuer, generate_key};

const ISSUER: &str = "regent";
const SERVICE: &str = "registry.example";
const DAY: Duration = Duration::from_secs(86_400);
const NOW: OffsetDateTime = datetime!(2026-06-01 10:00:00.500 UTC);

fn key(key_type: KeyType, valid_from: OffsetDateTime) -> SigningKey {
    let generated = generate_key(key_type, "regent", valid_from).unwrap();
    SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "memory").unwrap()
}

fn keys(key_type: KeyType) -> KeySet {
    KeySet::new(vec![key(key_type, datetime!(2026-01-01 00:00:00 UTC))]).unwrap()
}

fn alice() -> RefreshSubject {
    RefreshSubject { name: "alice".to_owned(), backend: "local".to_owned(), owns_name: true }
}

fn tokens() -> RefreshTokens {
    RefreshTokens::new(ISSUER, SERVICE, 30 * DAY).unwrap()
}

fn part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn a_refresh_token_has_its_own_type_and_audience_and_no_access_or_groups() {
    for key_type in [KeyType::Rsa, KeyType::Rsa3072, KeyType::Ec, KeyType::Ed25519] {
        let keys = keys(key_type);
        let token = tokens().issue(&keys, &alice(), NOW).unwrap();
        let header = part(token.expose(), 0);
        assert_eq!(header["typ"], REFRESH_TYP);
        assert_eq!(header["alg"], keys.signing_key().algorithm());
        assert_eq!(header["kid"], keys.signing_key().kid_as(keys.options().kid));
        assert!(header.get("x5c").is_none());
        let claims = part(token.expose(), 1);
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], format!("regent-refresh:{SERVICE}"));
        assert_ne!(claims["aud"], SERVICE);
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["backend"], "local");
        assert_eq!(claims["owns_name"], true);
        assert_eq!(claims["iat"], NOW.unix_timestamp());
        assert_eq!(claims["exp"], NOW.unix_timestamp() + 30 * 86_400);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
        assert!(claims.get("access").is_none() && claims.get("groups").is_none());
        let verified = tokens().verify(&keys, &Revocations::default(), token.expose(), NOW).unwrap();
        assert_eq!(verified, VerifiedRefresh { subject: alice(), issued_at: NOW.unix_timestamp() });
    }
}

#[test]
fn a_zero_ttl_turns_refresh_tokens_off() {
    assert!(RefreshTokens::new(ISSUER, SERVICE, Duration::ZERO).is_none());
}

#[test]
fn an_access_token_is_never_a_refresh_token() {
    let keys = keys(KeyType::Rsa);
    let issuer = TokenIssuer::new(keys, ISSUER.to_owned(), SERVICE.to_owned(), Duration::from_secs(300));
    let access = issuer.issue("alice", &[], NOW).unwrap();
    let refused = tokens().verify(&issuer.keys(), &Revocations::default(), access.token.expose(), NOW);
    assert_eq!(refused, Err(RefreshError::WrongType("JWT".to_owned())));
}

#[test]
fn a_refresh_token_does_not_pass_an_access_token_check() {
    // What a registry checks: aud == service (registry 2.8 and 3.x alike), with the key.
    let keys = keys(KeyType::Ec);
    let token = tokens().issue(&keys, &alice(), NOW).unwrap();
    let pem = pem::parse(keys.signing_key().certificates_pem()).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(pem.contents()).unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_ec_der(cert.public_key().subject_public_key.data.as_ref());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[SERVICE]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    let error = jsonwebtoken::decode::<Value>(token.expose(), &decoding, &validation).unwrap_err();
    assert_eq!(error.kind(), &jsonwebtoken::errors::ErrorKind::InvalidAudience);
}

#[test]
fn expiry_follows_the_clock_passed_in() {
    let keys = keys(KeyType::Ec);
    let tokens = RefreshTokens::new(ISSUER, SERVICE, DAY).unwrap();
    let token = tokens.issue(&keys, &alice(), NOW).unwrap();
    let none = Revocations::default();
    let at = |secs: i64| NOW + time::Duration::seconds(secs);
    assert!(tokens.verify(&keys, &none, token.expose(), at(86_400)).is_ok(), "within the leeway");
    assert_eq!(tokens.verify(&keys, &none, token.expose(), at(86_400 + 6)), Err(RefreshError::Expired));
}

#[test]
fn another_service_issuer_or_key_is_refused() {
    let keys = keys(KeyType::Rsa);
    let none = Revocations::default();
    let token = tokens().issue(&keys, &alice(), NOW).unwrap();
    let other_service = RefreshTokens::new(ISSUER, "other.example", DAY).unwrap();
    let other_issuer = RefreshTokens::new("someone-else", SERVICE, DAY).unwrap();
    for verifier in [other_service, other_issuer] {
        assert_eq!(verifier.verify(&keys, &none, token.expose(), NOW), Err(RefreshError::WrongAudience));
    }
    let stranger = self::keys(KeyType::Rsa);
    assert_eq!(tokens().verify(&stranger, &none, token.expose(), NOW), Err(RefreshError::BadSignature));
}

#[test]
fn tampered_or_garbage_tokens_are_refused() {
    let keys = keys(KeyType::Ec);
    let none = Revocations::default();
    let token = tokens().issue(&keys, &alice(), NOW).unwrap();
    let mut parts: Vec<String> = token.expose().split('.').map(str::to_owned).collect();
    let mut claims = part(token.expose(), 1);
    claims["sub"] = Value::from("admin");
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let forged = parts.join(".");
    assert_eq!(tokens().verify(&keys, &none, &forged, NOW), Err(RefreshError::BadSignature));
    for garbage in ["", "abc", "a.b.c", "alice-pw"] {
        assert!(matches!(tokens().verify(&keys, &none, garbage, NOW), Err(RefreshError::Malformed(_))));
    }
}

#[test]
fn a_rotation_keeps_old_refresh_tokens_valid_while_the_old_key_is_in_the_set() {
    // A reload builds new keys from the same files: keep the PEMs and parse them again.
    let old = generate_key(KeyType::Rsa, "regent", datetime!(2026-01-01 00:00:00 UTC)).unwrap();
    let new = generate_key(KeyType::Ec, "regent", datetime!(2026-05-01 00:00:00 UTC)).unwrap();
    let load = |generated: &crate::token::GeneratedKey| {
        SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "memory").unwrap()
    };
    let none = Revocations::default();
    let before = KeySet::new(vec![load(&old)]).unwrap();
    let token = tokens().issue(&before, &alice(), NOW).unwrap();
    let rotated = KeySet::new(vec![load(&old), load(&new)]).unwrap();
    assert_eq!(rotated.signing_key().algorithm(), "ES256", "the new key signs");
    assert!(tokens().verify(&rotated, &none, token.expose(), NOW).is_ok());
    let new_token = tokens().issue(&rotated, &alice(), NOW).unwrap();
    assert!(tokens().verify(&rotated, &none, new_token.expose(), NOW).is_ok());
    // Once the old key is retired its refresh tokens stop working; the new key's stay.
    let retired = KeySet::new(vec![load(&new)]).unwrap();
    assert_eq!(tokens().verify(&retired, &none, token.expose(), NOW), Err(RefreshError::BadSignature));
    assert!(tokens().verify(&retired, &none, new_token.expose(), NOW).is_ok());
}

#[test]
fn revocation_refuses_tokens_issued_at_or_before_the_not_before_second() {
    let keys = keys(KeyType::Ec);
    let token = tokens().issue(&keys, &alice(), NOW).unwrap();
    let path = Path::new("revocations.toml");
    let text = |users: &str, all: &str| format!("{all}\n[users]\n{users}\n");
    let cases = [
        (text("alice = 2026-06-01T10:00:00Z", ""), true, "same second"),
        (text("alice = 2026-06-01T09:59:59Z", ""), false, "a second before"),
        (text("bob = 2026-06-02T00:00:00Z", ""), false, "another user"),
        (text("", "all = 2026-06-01T10:00:05Z"), true, "everyone"),
        (text("alice = 2026-06-01T09:00:00Z", "all = 2026-06-01T11:00:00Z"), true, "the later wins"),
    ];
    for (file, revoked, why) in cases {
        let revocations = Revocations::parse(&file, path).unwrap();
        let result = tokens().verify(&keys, &revocations, token.expose(), NOW);
        assert_eq!(result.is_err(), revoked, "{why}: {result:?}");
        if revoked {
            assert_eq!(result, Err(RefreshError::Revoked), "{why}");
        }
    }
}

#[test]
fn the_revocations_file_is_written_atomically_and_errors_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(REVOCATIONS_FILE_NAME);
    assert_eq!(Revocations::load(&path).unwrap(), Revocations::default(), "a missing file revokes nothing");
    record_revocation(&path, Some("alice"), NOW).unwrap();
    record_revocation(&path, Some("bob"), NOW + time::Duration::hours(1)).unwrap();
    record_revocation(&path, None, NOW + time::Duration::hours(2)).unwrap();
    let loaded = Revocations::load(&path).unwrap();
    let second = NOW.unix_timestamp();
    assert!(loaded.revokes("alice", second) && loaded.revokes("carol", second + 7200));
    assert!(!loaded.revokes("carol", second + 7201));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("alice = 2026-06-01T10:00:00Z"), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "the file and its lock, no temporary file: {leftovers:?}");
    let error = Revocations::parse("[users]\nalice = \"yesterday\"\n", &path).unwrap_err().to_string();
    assert!(error.contains("revocations.toml: 2:9:"), "{error}");
    let error = Revocations::parse("[users]\nalice = 2026-06-01T10:00:00\n", &path).unwrap_err().to_string();
    assert!(error.contains("users.alice") && error.contains("offset"), "{error}");
}

#[test]
fn simultaneous_revocations_lose_no_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(REVOCATIONS_FILE_NAME);
    std::thread::scope(|scope| {
        for index in 0..8 {
            let path = &path;
            scope.spawn(move || record_revocation(path, Some(&format!("user{index}")), NOW).unwrap());
        }
    });
    let loaded = Revocations::load(&path).unwrap();
    for index in 0..8 {
        assert!(loaded.revokes(&format!("user{index}"), NOW.unix_timestamp()), "user{index} lost");
    }
}
