//! The OIDC backend against an issuer made in the test: every kind of bad JWT refused with the
//! reason in the log (never the token), keys from a watched file and from a URL served on a
//! loopback port, key rollover picked up from the URL, the rate limit on unknown kids, and an
//! issuer outage. `e2e` runs the same JWTs through skopeo and docker against a real registry.

mod e2e;

use std::sync::Arc;
use std::time::Duration;

use regent::authn::oidc::OidcBackend;
use regent::authn::{Authenticator, AuthnError, Outcome};
use regent::clock::Clock;
use regent::config::{JwksSource, OidcConfig, OidcUserName};
use regent::secret::Secret;
use regent::subject::{Claim, SubjectKind};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::fixtures::oidc_issuer::{TestIssuer, TestKey, hs256_with_public_key, unsigned_jwt};
use crate::fixtures::{CapturedLog, StubServer};

/// The issuer's `iss`.
const ISSUER: &str = "https://token.actions.example";
/// The registry's audience.
const AUD: &str = "registry.example";
/// The unix time the backend's clock says (tokens are made relative to it).
const NOW: i64 = 1_790_000_000;

/// A clock stopped at [`NOW`].
struct Stopped;

impl Clock for Stopped {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }
}

/// A backend configuration for [`ISSUER`] with keys from `jwks`, requiring `repository_owner =
/// "acme"`, a robot whose `repository` and `ref` are policy claims.
pub fn config(jwks: JwksSource) -> OidcConfig {
    OidcConfig {
        issuer: ISSUER.to_owned(),
        audiences: vec![AUD.to_owned(), "other".to_owned()],
        jwks,
        ca_file: None,
        timeout: Duration::from_secs(5),
        algorithms: vec![jsonwebtoken::Algorithm::RS256, jsonwebtoken::Algorithm::ES256],
        subject_claim: "sub".to_owned(),
        groups_claim: Some("groups".to_owned()),
        required_claims: vec![("repository_owner".to_owned(), "acme".to_owned())],
        policy_claims: vec!["repository".to_owned(), "ref".to_owned()],
        robot: true,
        leeway: Duration::from_secs(60),
        user_name: OidcUserName::Any,
        jwks_min_interval: Duration::ZERO,
        jwks_max_age: Duration::from_secs(3600),
    }
}

fn backend(config: OidcConfig) -> OidcBackend {
    OidcBackend::new("ci", config, Arc::new(Stopped)).unwrap()
}

async fn login(backend: &OidcBackend, user: &str, password: &str) -> Result<Outcome, AuthnError> {
    backend.authenticate(user, &Secret::new(password)).await
}

/// The issuer's keys written to a JWKS file in `dir`.
fn jwks_file(dir: &tempfile::TempDir, issuer: &TestIssuer) -> std::path::PathBuf {
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, issuer.jwks()).unwrap();
    path
}

/// `claims` with `key` set to `value` (or removed, for `Value::Null`).
fn with(mut claims: Value, key: &str, value: Value) -> Value {
    match value {
        Value::Null => claims.as_object_mut().unwrap().remove(key),
        value => claims.as_object_mut().unwrap().insert(key.to_owned(), value),
    };
    claims
}

#[tokio::test]
async fn a_valid_jwt_is_a_robot_with_claims_and_groups() {
    let issuer = TestIssuer::new(ISSUER);
    let dir = tempfile::tempdir().unwrap();
    let backend = backend(config(JwksSource::File(jwks_file(&dir, &issuer))));
    let claims = with(issuer.claims(AUD, NOW), "groups", json!(["deployers", "ci"]));
    let Ok(Outcome::Authenticated(identity)) = login(&backend, "anything", &issuer.token(&claims)).await
    else {
        panic!("not authenticated");
    };
    assert_eq!(identity.name, "repo:acme/app:ref:refs/heads/main");
    assert_eq!(identity.kind, SubjectKind::Robot);
    assert_eq!(identity.backend, "ci");
    assert_eq!(identity.groups, vec!["deployers".to_owned(), "ci".to_owned()]);
    let expected =
        vec![Claim::new("repository", "acme/app").unwrap(), Claim::new("ref", "refs/heads/main").unwrap()];
    assert_eq!(identity.claims, expected);
    assert!(!identity.may_refresh(), "a JWT login never gets a refresh token");
    // A person when `robot = false`, and `user_name = "subject"` wants the subject as the name.
    let person = OidcConfig {
        robot: false,
        user_name: OidcUserName::Subject,
        ..config(JwksSource::File(jwks_file(&dir, &issuer)))
    };
    let person = self::backend(person);
    let token = issuer.token(&claims);
    let Ok(Outcome::Authenticated(identity)) =
        login(&person, "repo:acme/app:ref:refs/heads/main", &token).await
    else {
        panic!("not authenticated");
    };
    assert_eq!(identity.kind, SubjectKind::Person);
    assert_eq!(login(&person, "anything", &token).await.unwrap(), Outcome::Denied);
}

#[tokio::test]
async fn passwords_and_other_issuers_jwts_go_to_the_next_backend() {
    let issuer = TestIssuer::new(ISSUER);
    let dir = tempfile::tempdir().unwrap();
    let backend = backend(config(JwksSource::File(jwks_file(&dir, &issuer))));
    let stranger = TestIssuer::new("https://gitlab.example");
    let (log, _guard) = CapturedLog::start();
    for password in ["hunter2".to_owned(), "a.b.c".to_owned(), stranger.token(&stranger.claims(AUD, NOW))] {
        assert_eq!(login(&backend, "alice", &password).await.unwrap(), Outcome::UnknownUser, "{password}");
    }
    assert!(!log.text().contains("refused"), "nothing refused: {}", log.text());
}

#[tokio::test]
async fn every_bad_jwt_is_refused_with_its_reason_and_never_logged() {
    let mut issuer = TestIssuer::new(ISSUER);
    issuer.keys.push(TestKey::rs256("r1"));
    let dir = tempfile::tempdir().unwrap();
    let backend = backend(config(JwksSource::File(jwks_file(&dir, &issuer))));
    let good = issuer.claims(AUD, NOW);
    let stranger_key = TestKey::es256("k9");
    let same_kid = TestKey::es256("k1");
    let es384 = {
        let (_, rest) =
            issuer.token(&good).split_once('.').map(|(h, r)| (h.to_owned(), r.to_owned())).unwrap();
        format!("{}.{rest}", base64_json(&json!({"alg": "ES384", "kid": "k1"})))
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", issuer.token(&with(good.clone(), "exp", json!(NOW - 61))), "expired 61 s ago"),
        (
            "nbf in the future",
            issuer.token(&with(good.clone(), "nbf", json!(NOW + 120))),
            "not valid for another 120 s",
        ),
        ("no exp", issuer.token(&with(good.clone(), "exp", Value::Null)), "missing claim exp"),
        ("wrong aud", issuer.token(&with(good.clone(), "aud", json!("elsewhere"))), "wrong audience"),
        ("no aud", issuer.token(&with(good.clone(), "aud", Value::Null)), "missing claim aud"),
        ("unknown kid", stranger_key.sign(&good), "unknown key id \"k9\""),
        ("signed by another key with a known kid", same_kid.sign(&good), "bad signature"),
        ("alg not allowed", es384, "algorithm \"ES384\" is not allowed"),
        (
            "HS256 keyed with the public key",
            hs256_with_public_key(&issuer.keys[1], &good),
            "algorithm \"HS256\" is not allowed",
        ),
        ("alg none", unsigned_jwt(&good), "unsigned JWT (alg \"none\")"),
        (
            "missing required claim",
            issuer.token(&with(good.clone(), "repository_owner", Value::Null)),
            "missing claim repository_owner",
        ),
        (
            "mismatched required claim",
            issuer.token(&with(good.clone(), "repository_owner", json!("evil"))),
            "claim repository_owner is \"evil\", not the required \"acme\"",
        ),
        ("no subject", issuer.token(&with(good.clone(), "sub", Value::Null)), "missing claim sub"),
    ];
    let (log, _guard) = CapturedLog::start();
    for (name, token, reason) in &cases {
        let before = log.text().len();
        assert_eq!(login(&backend, "ci", token).await.unwrap(), Outcome::Denied, "{name}");
        let line = log.text()[before..].to_owned();
        assert!(line.contains("OIDC token refused") && line.contains(reason), "{name}: {line}");
    }
    // An RS256 token naming the EC key's kid: the key type must fit the algorithm.
    let rsa = TestKey::rs256("k1");
    let mismatched = {
        let forged = rsa.sign(&good);
        let (_, rest) = forged.split_once('.').unwrap();
        format!("{}.{rest}", base64_json(&json!({"alg": "RS256", "kid": "k1", "typ": "JWT"})))
    };
    assert_eq!(login(&backend, "ci", &mismatched).await.unwrap(), Outcome::Denied);
    assert!(log.text().contains("key \"k1\" does not fit algorithm RS256"), "{}", log.text());
    // Within the leeway is fine; the tokens themselves never reach the log.
    let late = issuer.token(&with(good.clone(), "exp", json!(NOW - 59)));
    assert!(matches!(login(&backend, "ci", &late).await.unwrap(), Outcome::Authenticated(_)));
    let text = log.text();
    for (name, token, _) in &cases {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!text.contains(token.as_str()), "{name}: the token is in the log");
        assert!(signature.is_empty() || !text.contains(signature), "{name}: the signature is in the log");
    }
    log.assert_clean();
}

/// `value` as a base64url JSON part.
fn base64_json(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn a_new_key_in_the_jwks_file_is_picked_up() {
    let mut issuer = TestIssuer::new(ISSUER);
    let dir = tempfile::tempdir().unwrap();
    let path = jwks_file(&dir, &issuer);
    let backend = backend(config(JwksSource::File(path.clone())));
    issuer.keys.push(TestKey::es256("k2"));
    let rolled = issuer.keys[1].sign(&issuer.claims(AUD, NOW));
    assert_eq!(login(&backend, "ci", &rolled).await.unwrap(), Outcome::Denied);
    let temporary = dir.path().join("jwks.json.tmp");
    std::fs::write(&temporary, issuer.jwks()).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    assert!(backend.reload_now(), "the new file is loaded");
    assert!(matches!(login(&backend, "ci", &rolled).await.unwrap(), Outcome::Authenticated(_)));
}

#[tokio::test]
async fn key_rollover_at_the_issuer_is_fetched_without_a_restart() {
    let mut issuer = TestIssuer::new(ISSUER);
    let server = StubServer::start(200, &issuer.jwks());
    let backend = backend(config(JwksSource::Url(format!("{}/jwks", server.url()))));
    assert!(matches!(
        login(&backend, "ci", &issuer.token(&issuer.claims(AUD, NOW))).await.unwrap(),
        Outcome::Authenticated(_)
    ));
    assert!(matches!(
        login(&backend, "ci", &issuer.token(&issuer.claims(AUD, NOW))).await.unwrap(),
        Outcome::Authenticated(_)
    ));
    assert_eq!(backend.jwks_fetches(), 1, "known kids are served from the cache");
    // The issuer rotates: a new key signs, the old one is gone.
    issuer.keys = vec![TestKey::rs256("k2")];
    server.set_answer(200, &issuer.jwks());
    assert!(matches!(
        login(&backend, "ci", &issuer.token(&issuer.claims(AUD, NOW))).await.unwrap(),
        Outcome::Authenticated(_)
    ));
    assert_eq!(backend.jwks_fetches(), 2, "the unknown kid caused one fetch");
    assert_eq!(server.requests().len(), 2);
    assert!(server.requests().iter().all(|request| request.request_line.starts_with("GET /jwks ")));
}

#[tokio::test]
async fn unknown_kids_cannot_hammer_the_issuer() {
    let issuer = TestIssuer::new(ISSUER);
    let server = StubServer::start(200, &issuer.jwks());
    let limited =
        OidcConfig { jwks_min_interval: Duration::from_secs(3600), ..config(JwksSource::Url(server.url())) };
    let backend = backend(limited);
    let (log, _guard) = CapturedLog::start();
    for index in 0..20 {
        let forged = TestKey::es256(&format!("made-up-{index}")).sign(&issuer.claims(AUD, NOW));
        assert_eq!(login(&backend, "ci", &forged).await.unwrap(), Outcome::Denied);
    }
    assert_eq!(backend.jwks_fetches(), 1, "one fetch at the first use, none for the made-up kids");
    assert_eq!(server.requests().len(), 1);
    assert!(log.text().contains("unknown key id \"made-up-19\""), "{}", log.text());
    assert!(matches!(
        login(&backend, "ci", &issuer.token(&issuer.claims(AUD, NOW))).await.unwrap(),
        Outcome::Authenticated(_)
    ));
}

#[tokio::test]
async fn an_issuer_outage_is_unavailable_only_without_a_fitting_cached_key() {
    let mut issuer = TestIssuer::new(ISSUER);
    let server = StubServer::start(200, &issuer.jwks());
    let backend = backend(config(JwksSource::Url(server.url())));
    let token = issuer.token(&issuer.claims(AUD, NOW));
    assert!(matches!(login(&backend, "ci", &token).await.unwrap(), Outcome::Authenticated(_)));
    server.set_answer(503, "{}");
    // The cached key still fits: the outage does not matter.
    assert!(matches!(login(&backend, "ci", &token).await.unwrap(), Outcome::Authenticated(_)));
    // A new kid needs the issuer, which is down: an outage (503), not a wrong password.
    issuer.keys.push(TestKey::es256("k2"));
    let rolled = issuer.keys[1].sign(&issuer.claims(AUD, NOW));
    match login(&backend, "ci", &rolled).await {
        Err(AuthnError::Unavailable { backend, reason }) => {
            assert_eq!(backend, "ci");
            assert!(reason.contains("503"), "{reason}");
        }
        other => panic!("expected an outage, got {other:?}"),
    }
    // Nothing listening at all: the first login is an outage too.
    let gone = self::backend(config(JwksSource::Url("http://127.0.0.1:1/jwks".to_owned())));
    assert!(matches!(login(&gone, "ci", &token).await, Err(AuthnError::Unavailable { .. })));
}
