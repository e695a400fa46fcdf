//! A key rotation while registry 3 runs, in the documented order, with a pull after every step:
//! rotate (pending) -> publish -> restart the registry -> activate -> (token lifetime) -> retire
//! -> publish -> restart. Tokens signed by the old key keep working until it is retired.

use regent::token::KeyType;

use super::stack::{Stack3, Trust, header_of};
use crate::fixtures::{Skopeo, assert_ok};

/// The rows of `regent keys list`: (state, libtrust kid, rfc7638 kid).
fn listed(stack: &Stack3) -> Vec<(String, String, String)> {
    stack
        .keys(&["list"])
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f[0].to_owned(), f[4].to_owned(), f[5].to_owned())
        })
        .collect()
}

fn rotate_while_the_registry_runs(trust: Trust, from: KeyType, to: &str) {
    let stack = Stack3::start(from, trust);
    let kid_of = |row: &(String, String, String)| match trust {
        Trust::Bundle => row.1.clone(),
        Trust::JwksOnly => row.2.clone(),
    };
    let alice = Some(("alice", "alice-pw"));
    let image = stack.image("v1", b"rotation");
    assert_ok("push", &Skopeo::new().copy(&image.reference(), &stack.docker("alice/app:v1"), alice));
    let admin = Some(("admin", "admin-pw"));
    assert_ok("admin push", &Skopeo::new().copy(&image.reference(), &stack.docker("public/tool:v1"), admin));
    stack.pull("pull before the rotation", "alice/app:v1", alice);
    let old_token = stack.token(("alice", "alice-pw"), "repository:alice/app:pull");
    let old_kid = kid_of(&listed(&stack)[0]);
    assert_eq!(header_of(&old_token)["kid"], old_kid.as_str());

    // 1. rotate: the new key is trusted by regent (JWKS endpoint) but does not sign yet.
    stack.keys(&["rotate", "--type", to]);
    stack.wait_for_trusted_keys(2);
    let rows = listed(&stack);
    assert_eq!(rows[1].0, "pending", "{rows:?}");
    let new_kid = kid_of(&rows[1]);
    stack.pull("pull after rotate", "alice/app:v1", alice);

    // 2. publish both keys, 3. restart the registry: it trusts old and new.
    stack.publish();
    let mut stack = stack;
    stack.registry.restart();
    stack.pull("pull after the registry restart", "alice/app:v1", alice);
    assert_eq!(stack.tags_status("alice/app", &old_token), 200);

    // 4. activate: regent signs with the new key within two seconds, no restart.
    stack.keys(&["activate"]);
    stack.wait_for_signing_kid(&new_kid);
    stack.pull("pull with a token from the new key", "alice/app:v1", alice);
    stack.pull("anonymous pull with the new key", "public/tool:v1", None);
    assert_eq!(stack.tags_status("alice/app", &old_token), 200, "a token in flight from the old key");

    // 5. (after one token lifetime) retire the old key, publish, restart.
    stack.keys(&["retire", &old_kid]);
    stack.wait_for_trusted_keys(1);
    stack.publish();
    stack.registry.restart();
    stack.pull("pull after the retirement", "alice/app:v1", alice);
    stack.pull("anonymous pull after the retirement", "public/tool:v1", None);
    assert_eq!(stack.tags_status("alice/app", &old_token), 401, "the retired key is still trusted");
}

#[test]
fn rotation_with_a_bundle_and_x5c_from_rsa_to_ec() {
    rotate_while_the_registry_runs(Trust::Bundle, KeyType::Rsa, "ec");
}

#[test]
fn rotation_with_jwks_only_from_ec_to_ed25519() {
    rotate_while_the_registry_runs(Trust::JwksOnly, KeyType::Ec, "ed25519");
}
