//! A refresh across a key rotation on registry 3 trusting only a JWKS: a refresh token issued
//! before `regent keys rotate` + `activate` is used after them, the access token it gets is
//! signed by the new key and registry 3.1.1 accepts it through the republished JWKS; skopeo and
//! podman pull on that identity token before and after. Once the old key is retired the refresh
//! token it signed is refused (`invalid_grant`) and a new login works.

use std::time::{Duration, Instant};

use regent::token::KeyType;

use super::stack::{Stack3, Trust, header_of};
use crate::client_matrix::{Client, Flow, RegistryVersion, proven};
use crate::e2e_refresh::{docker_login, write_identity_token};
use crate::env::SERVICE;
use crate::fixtures::{HttpResponse, Podman, Skopeo, assert_ok, http_request};

/// containers/image's refresh grant for `scope`.
fn refresh_grant(stack: &Stack3, token: &str, scope: &str) -> HttpResponse {
    let form = format!(
        "grant_type=refresh_token&client_id=containers/image&refresh_token={token}&service={SERVICE}&scope={scope}"
    );
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    http_request("POST", &stack.regent.realm(), &form_type, form.as_bytes())
}

/// The access token of a refresh grant that must succeed.
fn refreshed(stack: &Stack3, token: &str) -> String {
    let answer = refresh_grant(stack, token, "repository:alice/app:pull");
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["access_token"].as_str().expect("access_token").to_owned()
}

#[test]
fn a_refresh_token_from_before_a_rotation_gets_new_key_tokens_that_registry_3_accepts() {
    let mut stack = Stack3::start(KeyType::Ec, Trust::JwksOnly);
    let host = stack.registry.host();
    let (_, refresh) = docker_login(&stack.regent.realm(), "alice", "alice-pw", "");
    let old_kid = header_of(&refresh)["kid"].as_str().expect("kid").to_owned();
    let skopeo = Skopeo::new();
    write_identity_token(&skopeo.auth_file(), &host, "alice", &refresh);
    let image = stack.image("v1", b"refreshed across a rotation");
    assert_ok(
        "skopeo push (refresh grant)",
        &skopeo.copy(&image.reference(), &stack.docker("alice/app:v1"), None),
    );
    let podman = Podman::new();
    write_identity_token(&podman.auth_file(), &host, "alice", &refresh);
    assert_ok("podman pull (refresh grant)", &podman.pull(&format!("{host}/alice/app:v1")));

    // The documented order: rotate, publish the JWKS, restart the registry, activate.
    stack.keys(&["rotate", "--type", "ed25519"]);
    stack.wait_for_trusted_keys(2);
    stack.publish();
    stack.registry.restart();
    stack.keys(&["activate"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let access = loop {
        let access = refreshed(&stack, &refresh);
        if header_of(&access)["kid"] != old_kid.as_str() {
            break access;
        }
        assert!(Instant::now() < deadline, "refresh grants still signed by {old_kid} after 15 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    let new_kid = header_of(&access)["kid"].as_str().expect("kid").to_owned();
    assert_eq!(header_of(&access)["alg"], "EdDSA");
    assert_eq!(stack.tags_status("alice/app", &access), 200, "registry 3 refused the new key's token");
    let back = stack.images.path().join("back");
    let back = format!("oci:{}:v1", back.display());
    assert_ok("skopeo pull after the rotation", &skopeo.copy(&stack.docker("alice/app:v1"), &back, None));
    proven(Client::Skopeo, RegistryVersion::V3, Flow::IdentityToken);
    assert_ok("podman pull after the rotation", &podman.pull(&format!("{host}/alice/app:v1")));
    proven(Client::Podman, RegistryVersion::V3, Flow::IdentityToken);

    // Retiring the old key ends the refresh tokens it signed; a new login gets one from the new key.
    stack.keys(&["retire", &old_kid]);
    stack.wait_for_trusted_keys(1);
    let refused = refresh_grant(&stack, &refresh, "repository:alice/app:pull");
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid_grant");
    let (_, again) = docker_login(&stack.regent.realm(), "alice", "alice-pw", "");
    assert_eq!(header_of(&again)["kid"], new_kid.as_str());
    assert_eq!(stack.tags_status("alice/app", &refreshed(&stack, &again)), 200);
}
