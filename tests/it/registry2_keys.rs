//! What registry 2.8 makes of the new key settings: RSA 3072 keys, and kid-only tokens (a
//! libtrust kid is found in its bundle; an RFC 7638 kid is not, as regent's warning says).

use std::time::Duration;

use regent::clock::{Clock, SystemClock};
use regent::scope::Access;
use regent::token::{HeaderOptions, KeySet, KeyType, KidFormat, SigningKey, TokenIssuer};

use crate::env::{ISSUER, RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::{Registry, Skopeo, assert_ok, http_get, oci};

/// A token for `alice/app` pull from `key` with the given header.
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

#[test]
fn registry_2_8_takes_rsa_3072_and_libtrust_kids_without_x5c_but_not_rfc7638_kids() {
    let (listener, realm) = bind_realm();
    let env = TestEnv::with_key_type(&realm, KeyType::Rsa3072);
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    let registry = Registry::start(env.registry_auth(regent.realm()));
    let images = tempfile::tempdir().unwrap();
    let image = oci::write_layout(&images.path().join("v1"), "v1", b"rsa 3072");
    let target = format!("docker://{}/alice/app:v1", registry.host());
    assert_ok(
        "push with RS256 from RSA 3072",
        &Skopeo::new().copy(&image.reference(), &target, Some(("alice", "alice-pw"))),
    );

    let load = || SigningKey::load(&env.report.key, &env.report.certificate).unwrap();
    let status = |token: String| {
        let url = format!("{}/v2/alice/app/tags/list", registry.url());
        http_get(&url, &[("Authorization", &format!("Bearer {token}"))]).status
    };
    assert_eq!(status(token_from(load(), KidFormat::Libtrust, false)), 200);
    assert_eq!(status(token_from(load(), KidFormat::Rfc7638, false)), 401);
    assert_eq!(status(token_from(load(), KidFormat::Rfc7638, true)), 200, "x5c is checked first");
}
