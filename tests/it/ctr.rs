//! containerd's own registry client, the real `ctr` (the resolver nerdctl and the CRI plugin
//! share), against regent and the real registry 2.8 and 3.1.1, with a containerd of its own.
//!
//! What ctr sends is read from its `--http-dump`: a password is a `POST grant_type=password`
//! (`client_id=containerd-client`, scopes space-joined), a refresh token given with `--refresh`
//! a `POST grant_type=refresh_token`, and only when the POST is refused (400, 401, 404) does
//! ctr fall back to `GET` + Basic, with `":" + token` for a refresh token (shown both refused,
//! and succeeding behind an nginx that answers POST with 404). ctr has no `login`
//! and never asks for a refresh token itself (containerd's `FetchRefreshToken` is off in ctr):
//! the token here comes from the `POST ... access_type=offline` form containerd sends when a
//! caller turns that on.

use std::process::Output;
use std::time::{Duration, Instant};

use regent::clock::{Clock, SystemClock};
use regent::token::KeyType;
use regent::token::refresh::record_revocation;

use crate::client_matrix::{Client, Flow, RegistryVersion, proven};
use crate::e2e_refresh::{Stack, docker_login};
use crate::e2e_registry::registry_auth;
use crate::env::{RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::{
    Containerd, CtrAuth, GetOnlyRealm, RealmRequest, Registry, Skopeo, assert_ok, http_request, oci,
    realm_requests,
};
use crate::registry3::stack::{Stack3, Trust};

/// What the flows need of a stack: regent's data directory and realm, the registry's host.
struct Target<'a> {
    env: &'a TestEnv,
    realm: String,
    host: String,
}

/// The realm requests of one ctr run; panics with the tail of its stderr unless it succeeded.
fn ctr_ok(what: &str, out: &Output) -> Vec<RealmRequest> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!("ctr {what} failed:\n{}", tail.join("\n"));
    }
    let requests = realm_requests(&stderr, "/token");
    assert!(!requests.is_empty(), "ctr {what}: no token request in the dump");
    requests
}

/// A refresh token from the form containerd POSTs with `FetchRefreshToken` on.
fn offline_password_grant(target: &Target<'_>, user: &str, password: &str) -> String {
    let form = format!(
        "client_id=containerd-client&grant_type=password&access_type=offline&username={user}\
         &password={password}&service={SERVICE}"
    );
    let form_type = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")];
    let answer = http_request("POST", &target.realm, &form_type, form.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["refresh_token"].as_str().expect("a refresh token").to_owned()
}

/// `HOST/public/tool:v1`, pushed by admin with skopeo.
fn push_public_image(host: &str) -> String {
    let images = tempfile::tempdir().unwrap();
    let image = oci::write_layout(images.path(), "v1", b"pulled by ctr");
    let public = format!("{host}/public/tool:v1");
    let admin = Some(("admin", "admin-pw"));
    assert_ok("skopeo push", &Skopeo::new().copy(&image.reference(), &format!("docker://{public}"), admin));
    public
}

/// Every flow of ctr against one registry: anonymous pull, push and pull with a password, pull
/// and push with a refresh token; a wrong password and a revoked refresh token fall back to GET
/// and are refused.
fn ctr_flows(target: &Target<'_>) {
    let public = push_public_image(&target.host);
    let containerd = Containerd::start();

    // Anonymous: GET without credentials.
    for request in ctr_ok("anonymous pull", &containerd.pull(&public, CtrAuth::Anonymous)) {
        assert_eq!((request.method.as_str(), request.basic.as_deref(), request.status), ("GET", None, 200));
    }

    // A password: POST grant_type=password only, the push's scopes space-joined in one field.
    let alice = CtrAuth::Password("alice", "alice-pw");
    let app = format!("{}/alice/app:v1", target.host);
    containerd.tag(&public, &app);
    let pushed = ctr_ok("push with a password", &containerd.push(&app, alice));
    for request in &pushed {
        assert_eq!((request.method.as_str(), request.status), ("POST", 200), "{request:?}");
        assert_eq!(request.field("grant_type").as_deref(), Some("password"));
        assert_eq!(request.field("client_id").as_deref(), Some("containerd-client"));
        assert_eq!(request.field("username").as_deref(), Some("alice"));
    }
    let scopes: Vec<String> = pushed.iter().filter_map(|request| request.field("scope")).collect();
    assert!(scopes.iter().any(|scope| scope.contains("repository:alice/app:pull,push")), "{scopes:?}");
    containerd.remove(&app);
    for request in ctr_ok("pull with a password", &containerd.pull(&app, alice)) {
        assert_eq!((request.method.as_str(), request.status), ("POST", 200), "{request:?}");
    }
    assert!(containerd.images().contains(&app));

    // A refresh token: POST grant_type=refresh_token, no user name, for pull and push.
    let token = offline_password_grant(target, "alice", "alice-pw");
    containerd.remove(&app);
    let refresh = CtrAuth::Refresh(&token);
    for request in ctr_ok("pull with a refresh token", &containerd.pull(&app, refresh)) {
        assert_eq!((request.method.as_str(), request.status), ("POST", 200), "{request:?}");
        assert_eq!(request.field("grant_type").as_deref(), Some("refresh_token"));
        assert_eq!(request.field("refresh_token").as_deref(), Some(token.as_str()));
        assert_eq!(request.field("username"), None);
    }
    let v2 = format!("{}/alice/app:v2", target.host);
    containerd.tag(&app, &v2);
    ctr_ok("push with a refresh token", &containerd.push(&v2, refresh));

    // A wrong password: the POST's 401 makes ctr try GET + Basic (no account), refused too.
    let wrong = containerd.pull(&app, CtrAuth::Password("alice", "not-alices"));
    assert!(!wrong.status.success(), "a wrong password pulled");
    let requests = realm_requests(&String::from_utf8_lossy(&wrong.stderr), "/token");
    let shapes: Vec<(&str, u16)> = requests.iter().map(|r| (r.method.as_str(), r.status)).collect();
    assert_eq!(shapes, [("POST", 401), ("GET", 401)], "{requests:?}");
    assert_eq!(requests[1].basic.as_deref(), Some("alice:not-alices"));
    assert!(!requests[1].target.contains("account="), "{}", requests[1].target);

    // Revoked: the POST's invalid_grant (400) makes ctr GET with Basic ":" + token: 401.
    record_revocation(&target.env.config.refresh.revocations, Some("alice"), SystemClock.now()).unwrap();
    let started = Instant::now();
    let refused = loop {
        let out = containerd.pull(&app, refresh);
        if !out.status.success() {
            break out;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "a revoked refresh token still pulls");
        std::thread::sleep(Duration::from_millis(200));
    };
    let requests = realm_requests(&String::from_utf8_lossy(&refused.stderr), "/token");
    let shapes: Vec<(&str, u16)> = requests.iter().map(|r| (r.method.as_str(), r.status)).collect();
    assert_eq!(shapes, [("POST", 400), ("GET", 401)], "{requests:?}");
    assert_eq!(requests[1].basic.as_deref(), Some(format!(":{token}").as_str()));
}

#[test]
fn ctr_pulls_and_pushes_on_registry_2_with_a_password_a_refresh_token_and_anonymously() {
    let stack = Stack::start();
    ctr_flows(&Target { env: &stack.env, realm: stack.regent.realm(), host: stack.registry.host() });
    proven(Client::Ctr, RegistryVersion::V2, Flow::Anonymous);
    proven(Client::Ctr, RegistryVersion::V2, Flow::Password);
    proven(Client::Ctr, RegistryVersion::V2, Flow::IdentityToken);
}

#[test]
fn ctr_pulls_and_pushes_on_registry_3_with_a_password_a_refresh_token_and_anonymously() {
    let stack = Stack3::start(KeyType::Ec, Trust::JwksOnly);
    ctr_flows(&Target { env: &stack.env, realm: stack.regent.realm(), host: stack.registry.host() });
    proven(Client::Ctr, RegistryVersion::V3, Flow::Anonymous);
    proven(Client::Ctr, RegistryVersion::V3, Flow::Password);
    proven(Client::Ctr, RegistryVersion::V3, Flow::IdentityToken);
}

/// Behind a realm that answers every POST with 404 (nginx in front of regent), ctr's GET
/// fallback carries the password, or the refresh token as Basic `":" + token`, and both pull.
#[test]
fn ctr_falls_back_to_get_with_a_password_or_a_refresh_token_when_the_realm_refuses_post() {
    let (listener, _) = bind_realm();
    let front = GetOnlyRealm::start(listener.local_addr().unwrap());
    let env = TestEnv::new(&front.realm());
    let _regent = RunningRegent::start(&env, listener, Duration::ZERO);
    let registry = Registry::start(registry_auth(&env));
    let public = push_public_image(&registry.host());
    let containerd = Containerd::start();
    let (_, token) = docker_login(&front.realm(), "alice", "alice-pw", "");
    let colon_token = format!(":{token}");
    for (what, auth, basic) in [
        ("a password", CtrAuth::Password("alice", "alice-pw"), "alice:alice-pw"),
        ("a refresh token", CtrAuth::Refresh(&token), colon_token.as_str()),
    ] {
        containerd.remove(&public);
        let requests = ctr_ok(what, &containerd.pull(&public, auth));
        assert!(requests.len() >= 2 && requests.len().is_multiple_of(2), "{what}: {requests:?}");
        for pair in requests.chunks(2) {
            assert_eq!((pair[0].method.as_str(), pair[0].status), ("POST", 404), "{what}: {pair:?}");
            assert_eq!((pair[1].method.as_str(), pair[1].status), ("GET", 200), "{what}: {pair:?}");
            assert_eq!(pair[1].basic.as_deref(), Some(basic), "{what}");
        }
        assert!(containerd.images().contains(&public), "{what}");
    }
    let log = front.access_log();
    assert!(log.contains("\"POST /token HTTP/1.1\" 404") && log.contains("\"GET /token?"), "{log}");
}
