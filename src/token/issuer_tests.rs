//! Tokens from [`TokenIssuer`] verified with `jsonwebtoken`, as a registry would.

use super::*;
use crate::token::{KeyType, SigningKey, generate_key};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use time::macros::datetime;

const ISSUER: &str = "regent";
const SERVICE: &str = "registry.example:5000";

/// An issuer with a freshly generated key, and the DER public key jsonwebtoken verifies with.
fn issuer_with(key_type: KeyType, ttl: Duration) -> (TokenIssuer, DecodingKey) {
    let generated = generate_key(key_type, "regent", datetime!(2025-01-01 00:00:00 UTC)).unwrap();
    let block = pem::parse(&generated.cert_pem).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(block.contents()).unwrap();
    let public_key = cert.public_key().subject_public_key.data.as_ref();
    let decoding_key = match key_type {
        KeyType::Rsa | KeyType::Rsa3072 => DecodingKey::from_rsa_der(public_key),
        KeyType::Ec => DecodingKey::from_ec_der(public_key),
        KeyType::Ed25519 => DecodingKey::from_ed_der(public_key),
    };
    let key = SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "m").unwrap();
    let keys = KeySet::new(vec![key]).unwrap();
    let issuer = TokenIssuer::new(keys, ISSUER.to_owned(), SERVICE.to_owned(), ttl);
    (issuer, decoding_key)
}

fn team_app_access() -> Vec<Access> {
    vec![Access {
        resource_type: "repository".to_owned(),
        name: "team/app".to_owned(),
        actions: vec!["pull".to_owned(), "push".to_owned()],
    }]
}

/// Verifies signature, `iss` and `aud`; `exp` is checked by the caller against the fixed `now`.
fn verify(token: &str, algorithm: Algorithm, key: &DecodingKey) -> Value {
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[SERVICE]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, key, &validation).unwrap().claims
}

/// The JSON of one base64url part of a token.
fn part_json(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn tokens_verify_and_carry_the_registry_claims() {
    let now = datetime!(2025-06-01 10:00:00.750 UTC);
    let cases = [
        (KeyType::Rsa, Algorithm::RS256, "RS256"),
        (KeyType::Rsa3072, Algorithm::RS256, "RS256"),
        (KeyType::Ec, Algorithm::ES256, "ES256"),
        (KeyType::Ed25519, Algorithm::EdDSA, "EdDSA"),
    ];
    for (key_type, algorithm, name) in cases {
        let (issuer, decoding_key) = issuer_with(key_type, Duration::from_secs(300));
        let issued = issuer.issue("alice", &team_app_access(), now).unwrap();
        let token = issued.token.expose();
        let claims = verify(token, algorithm, &decoding_key);

        let header = part_json(token, 0);
        let keys = issuer.keys();
        let signing_key = keys.signing_key();
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["alg"], name);
        assert_eq!(header["kid"], signing_key.kid());
        assert_eq!(header["x5c"], json!(signing_key.x5c()));

        let iat = datetime!(2025-06-01 10:00:00 UTC).unix_timestamp();
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["sub"], "alice");
        assert!(claims["aud"].is_string(), "aud must be a string");
        assert_eq!(claims["aud"], SERVICE);
        assert!(claims["iat"].is_i64() && claims["nbf"].is_i64() && claims["exp"].is_i64());
        assert_eq!(claims["iat"], iat);
        assert_eq!(claims["nbf"], iat);
        assert_eq!(claims["exp"], iat + 300);
        assert_eq!(
            claims["access"],
            json!([{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}])
        );
        assert_eq!(issued.expires_in, 300);
        assert_eq!(issued.issued_at.unix_timestamp(), iat);
        assert_eq!(issued.issued_at.nanosecond(), 0);
    }
}

#[test]
fn es256_signatures_are_jose_r_and_s() {
    let (issuer, _) = issuer_with(KeyType::Ec, Duration::from_secs(300));
    let issued = issuer.issue("", &[], datetime!(2025-06-01 10:00:00 UTC)).unwrap();
    let signature = issued.token.expose().split('.').nth(2).unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 64);
}

#[test]
fn anonymous_tokens_have_an_empty_subject_and_empty_access() {
    let (issuer, decoding_key) = issuer_with(KeyType::Ec, Duration::from_secs(300));
    let issued = issuer.issue("", &[], datetime!(2025-06-01 10:00:00 UTC)).unwrap();
    let claims = verify(issued.token.expose(), Algorithm::ES256, &decoding_key);
    assert_eq!(claims["sub"], "");
    assert_eq!(claims["access"], json!([]));
}

#[test]
fn every_token_gets_a_fresh_128_bit_jti() {
    let (issuer, _) = issuer_with(KeyType::Ec, Duration::from_secs(300));
    let now = datetime!(2025-06-01 10:00:00 UTC);
    let first = issuer.issue("alice", &[], now).unwrap();
    let second = issuer.issue("alice", &[], now).unwrap();
    let first_jti = part_json(first.token.expose(), 1)["jti"].clone();
    let second_jti = part_json(second.token.expose(), 1)["jti"].clone();
    assert_ne!(first_jti, second_jti);
    let bytes = URL_SAFE_NO_PAD.decode(first_jti.as_str().unwrap()).unwrap();
    assert!(bytes.len() >= 16);
}

#[test]
fn short_lifetimes_are_raised_to_a_minute() {
    let cases = [(0, 60), (1, 60), (59, 60), (60, 60), (61, 61), (3600, 3600)];
    for (ttl, expected) in cases {
        let (issuer, _) = issuer_with(KeyType::Ec, Duration::from_secs(ttl));
        let issued = issuer.issue("a", &[], datetime!(2025-06-01 10:00:00 UTC)).unwrap();
        assert_eq!(issued.expires_in, expected, "ttl {ttl}");
        let claims = part_json(issued.token.expose(), 1);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), expected as i64);
    }
}

#[test]
fn a_token_from_another_key_does_not_verify() {
    let (issuer, _) = issuer_with(KeyType::Rsa, Duration::from_secs(300));
    let (_, other_key) = issuer_with(KeyType::Rsa, Duration::from_secs(300));
    let issued = issuer.issue("a", &[], datetime!(2025-06-01 10:00:00 UTC)).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[SERVICE]);
    validation.validate_exp = false;
    assert!(jsonwebtoken::decode::<Value>(issued.token.expose(), &other_key, &validation).is_err());
}

#[test]
fn with_claims_signs_with_the_same_keys_for_the_new_claims() {
    let (issuer, key) = issuer_with(KeyType::Ec, Duration::from_secs(300));
    let changed =
        issuer.with_claims("regent-2".to_owned(), "other.example".to_owned(), Duration::from_secs(900));
    let issued = changed.issue("a", &[], datetime!(2025-06-01 10:00:00 UTC)).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["other.example"]);
    validation.set_issuer(&["regent-2"]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(issued.token.expose(), &key, &validation).unwrap().claims;
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert_eq!(issuer.keys().jwks(), changed.keys().jwks(), "the keys are shared");
}
