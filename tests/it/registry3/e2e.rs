//! Every key type under both ways registry 3 trusts regent, and the header rules it enforces.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use regent::clock::{Clock, SystemClock};
use regent::scope::Access;
use regent::token::{HeaderOptions, KeySet, KeyType, KidFormat, SigningKey, TokenIssuer, generate_key};

use super::stack::{Stack3, Trust, header_of};
use crate::client_matrix::{Client, Flow, RegistryVersion, proven};
use crate::env::{ISSUER, SERVICE};
use crate::fixtures::{Skopeo, assert_ok, assert_refused};

/// Login, push, pull, anonymous pull of `public/`, refused anonymous push; and the header the
/// tokens carry for this trust mode.
fn login_push_pull(key_type: KeyType, trust: Trust, alg: &str) {
    let stack = Stack3::start(key_type, trust);
    let skopeo = Skopeo::new();
    assert_ok("skopeo login", &skopeo.login(&stack.registry.host(), "alice", "alice-pw"));
    let image = stack.image("v1", b"registry 3 bytes");
    assert_ok("push", &skopeo.copy(&image.reference(), &stack.docker("alice/app:v1"), None));
    stack.pull("pull", "alice/app:v1", Some(("alice", "alice-pw")));
    proven(Client::Skopeo, RegistryVersion::V3, Flow::Password);
    let public = stack.image("pub", b"public bytes");
    let admin = Some(("admin", "admin-pw"));
    assert_ok("admin push", &skopeo.copy(&public.reference(), &stack.docker("public/tool:v1"), admin));
    stack.pull("anonymous pull", "public/tool:v1", None);
    proven(Client::Skopeo, RegistryVersion::V3, Flow::Anonymous);
    assert_refused("anonymous push", &skopeo.copy(&public.reference(), &stack.docker("public/x:v1"), None));

    let key = SigningKey::load(&stack.env.report.key, &stack.env.report.certificate).unwrap();
    let header = header_of(&stack.token(("alice", "alice-pw"), "repository:alice/app:pull"));
    assert_eq!(header["alg"], alg);
    match trust {
        Trust::Bundle => {
            assert_eq!(header["kid"], key.kid());
            assert_eq!(header["x5c"], serde_json::json!(key.x5c()));
        }
        Trust::JwksOnly => {
            assert_eq!(header["kid"], key.thumbprint());
            assert!(header.get("x5c").is_none(), "{header}");
        }
    }
}

#[test]
fn bundle_and_x5c_with_an_rsa_key() {
    login_push_pull(KeyType::Rsa, Trust::Bundle, "RS256");
}

#[test]
fn bundle_and_x5c_with_an_ec_key() {
    login_push_pull(KeyType::Ec, Trust::Bundle, "ES256");
}

#[test]
fn bundle_and_x5c_with_an_ed25519_key() {
    login_push_pull(KeyType::Ed25519, Trust::Bundle, "EdDSA");
}

#[test]
fn jwks_only_and_kid_only_with_an_rsa_3072_key() {
    login_push_pull(KeyType::Rsa3072, Trust::JwksOnly, "RS256");
}

#[test]
fn jwks_only_and_kid_only_with_an_ec_key() {
    login_push_pull(KeyType::Ec, Trust::JwksOnly, "ES256");
}

#[test]
fn jwks_only_and_kid_only_with_an_ed25519_key() {
    login_push_pull(KeyType::Ed25519, Trust::JwksOnly, "EdDSA");
}

/// A token for `alice/app` pull signed by `key` with the given header.
fn token_from(key: SigningKey, kid: KidFormat, x5c: bool) -> String {
    let keys = KeySet::with_options(vec![key], HeaderOptions { kid, x5c }).unwrap();
    let issuer = TokenIssuer::new(keys, ISSUER.into(), SERVICE.into(), Duration::from_secs(300));
    let access = [Access {
        resource_type: "repository".into(),
        name: "alice/app".into(),
        actions: vec!["pull".into()],
    }];
    issuer.issue("alice", &access, SystemClock.now()).unwrap().token.expose().to_owned()
}

/// The strict RFC 7638 thumbprint (EC coordinates kept at 32 bytes), which registry 3 does
/// not use.
fn strict_thumbprint(key: &SigningKey) -> String {
    let jwk = key.jwk("", false);
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

/// Registry 3 with a bundle: an RFC 7638 kid without x5c is accepted, computed as Go does even
/// for a key whose coordinate starts with a zero byte (about one key in 128: generated until
/// one turns up); a libtrust kid without x5c is refused.
#[test]
fn a_bundle_trusts_rfc7638_kids_computed_like_go_and_refuses_libtrust_kids_without_x5c() {
    let now = SystemClock.now();
    let zero = (0..20_000)
        .find_map(|_| {
            let generated = generate_key(KeyType::Ec, ISSUER, now).unwrap();
            let key = SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "m").unwrap();
            let jwk = key.jwk("", false);
            let first_byte = |member: &str| URL_SAFE_NO_PAD.decode(jwk[member].as_str().unwrap()).unwrap()[0];
            (first_byte("x") == 0 || first_byte("y") == 0).then_some(generated)
        })
        .expect("an EC key with a leading zero byte within 20,000 keys");
    let zero_key = SigningKey::from_pem(zero.key_pem.expose(), &zero.cert_pem, "m").unwrap();
    assert_ne!(
        zero_key.thumbprint(),
        strict_thumbprint(&zero_key),
        "Go's stripped bytes differ from strict RFC 7638"
    );
    let stack = Stack3::start_with_extra_bundle(KeyType::Ec, Trust::Bundle, &zero.cert_pem);
    let image = stack.image("v1", b"zero");
    assert_ok(
        "push",
        &Skopeo::new().copy(&image.reference(), &stack.docker("alice/app:v1"), Some(("alice", "alice-pw"))),
    );
    let load = || SigningKey::from_pem(zero.key_pem.expose(), &zero.cert_pem, "m").unwrap();
    assert_eq!(stack.tags_status("alice/app", &token_from(load(), KidFormat::Rfc7638, false)), 200);
    assert_eq!(stack.tags_status("alice/app", &token_from(load(), KidFormat::Libtrust, false)), 401);
    assert_eq!(stack.tags_status("alice/app", &token_from(load(), KidFormat::Libtrust, true)), 200);
    let log = stack.registry.log();
    assert!(log.contains("token signed by untrusted key with ID"), "{log}");
}

/// Registry 3 with only a JWKS refuses a token that carries x5c (it checks x5c first, against a
/// bundle it does not have), even from a trusted key with the right kid.
#[test]
fn jwks_only_refuses_tokens_that_carry_x5c() {
    let stack = Stack3::start(KeyType::Ec, Trust::JwksOnly);
    let image = stack.image("v1", b"x5c");
    assert_ok(
        "push",
        &Skopeo::new().copy(&image.reference(), &stack.docker("alice/app:v1"), Some(("alice", "alice-pw"))),
    );
    let load = || SigningKey::load(&stack.env.report.key, &stack.env.report.certificate).unwrap();
    assert_eq!(stack.tags_status("alice/app", &token_from(load(), KidFormat::Rfc7638, false)), 200);
    assert_eq!(stack.tags_status("alice/app", &token_from(load(), KidFormat::Rfc7638, true)), 401);
}
