//! Refresh tokens end to end: the real registry 2.8 refuses one as a bearer token, and skopeo
//! and podman (containers/image, which POSTs `grant_type=refresh_token`) pull and push with
//! nothing but an `identitytoken` in their auth file, until the user is revoked or deleted.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::htpasswd::delete_user;
use regent::clock::{Clock, SystemClock};
use regent::token::refresh::record_revocation;

use crate::e2e_registry::registry_auth;
use crate::env::{RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::{Podman, Registry, Skopeo, assert_ok, http_get, oci};

/// regent and a registry trusting it, as `regent init` sets them up.
pub(crate) struct Stack {
    pub(crate) env: TestEnv,
    pub(crate) regent: RunningRegent,
    pub(crate) registry: Registry,
    images: tempfile::TempDir,
}

impl Stack {
    pub(crate) fn start() -> Self {
        let (listener, realm) = bind_realm();
        let env = TestEnv::new(&realm);
        let regent = RunningRegent::start(&env, listener, Duration::ZERO);
        let registry = Registry::start(registry_auth(&env));
        Self { env, regent, registry, images: tempfile::tempdir().expect("tempdir") }
    }

    /// `docker login`'s request: GET with `offline_token=true`; the access and refresh tokens.
    fn login(&self, user: &str, password: &str, scope: &str) -> (String, String) {
        let scope = if scope.is_empty() { String::new() } else { format!("&scope={scope}") };
        let url = format!(
            "{}?account={user}&client_id=docker&offline_token=true&service={SERVICE}{scope}",
            self.regent.realm()
        );
        let auth = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        let answer = http_get(&url, &[("Authorization", &auth)]);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let json = answer.json();
        let token = |key: &str| json[key].as_str().unwrap_or_else(|| panic!("no {key}")).to_owned();
        (token("token"), token("refresh_token"))
    }

    fn docker(&self, repo: &str) -> String {
        format!("docker://{}/{repo}", self.registry.host())
    }
}

/// An auth file as `docker login` leaves it: `auth` = `USER:` (no password) and the
/// `identitytoken`, so only the refresh grant can authenticate.
pub(crate) fn write_identity_token(auth_file: &Path, host: &str, user: &str, token: &str) {
    let auth = STANDARD.encode(format!("{user}:"));
    let json = serde_json::json!({"auths": {host: {"auth": auth, "identitytoken": token}}});
    std::fs::create_dir_all(auth_file.parent().expect("dir")).expect("mkdir");
    std::fs::write(auth_file, json.to_string()).expect("write auth file");
}

#[test]
fn registry_refuses_a_refresh_token_as_a_bearer_token() {
    let stack = Stack::start();
    let (access, refresh) = stack.login("admin", "admin-pw", "registry:catalog:*");
    let catalog = format!("{}/v2/_catalog", stack.registry.url());
    let answer = http_get(&catalog, &[("Authorization", &format!("Bearer {access}"))]);
    assert_eq!(answer.status, 200, "the access token works: {}", answer.body);
    for url in [catalog, format!("{}/v2/admin/app/tags/list", stack.registry.url())] {
        let answer = http_get(&url, &[("Authorization", &format!("Bearer {refresh}"))]);
        assert_eq!(answer.status, 401, "{url}: a refresh token was accepted: {}", answer.body);
        let challenge = answer.header("WWW-Authenticate").unwrap_or_default();
        assert!(challenge.contains("invalid_token"), "{url}: {challenge}");
    }
}

#[test]
fn skopeo_and_podman_use_an_identity_token_until_revoked_or_deleted() {
    let stack = Stack::start();
    let host = stack.registry.host();
    let (_, alice) = stack.login("alice", "alice-pw", "");
    let skopeo = Skopeo::new();
    write_identity_token(&skopeo.auth_file(), &host, "alice", &alice);
    let image = oci::write_layout(&stack.images.path().join("v1"), "v1", b"refreshed bytes");
    assert_ok(
        "skopeo push (refresh grant)",
        &skopeo.copy(&image.reference(), &stack.docker("alice/app:v1"), None),
    );
    let back = format!("oci:{}:v1", stack.images.path().join("back").display());
    assert_ok("skopeo pull (refresh grant)", &skopeo.copy(&stack.docker("alice/app:v1"), &back, None));

    let podman = Podman::new();
    write_identity_token(&podman.auth_file(), &host, "alice", &alice);
    assert_ok("podman pull (refresh grant)", &podman.pull(&format!("{host}/alice/app:v1")));

    // `regent revoke alice` (the file every replica watches): refused within seconds.
    record_revocation(&stack.env.config.refresh.revocations, Some("alice"), SystemClock.now()).unwrap();
    let started = Instant::now();
    while skopeo.inspect(&stack.docker("alice/app:v1"), None).status.success() {
        assert!(started.elapsed() < Duration::from_secs(20), "still pulling after a revocation");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = skopeo.copy(&stack.docker("alice/app:v1"), &back, None);
    assert!(!out.status.success(), "a revoked identity token still pulls");
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        stderr.contains("invalid_grant") || stderr.contains("unauthorized") || stderr.contains("400"),
        "{stderr}"
    );

    // A new login works at once (after the revocation's second).
    std::thread::sleep(Duration::from_millis(1100));
    let (_, again) = stack.login("alice", "alice-pw", "");
    write_identity_token(&skopeo.auth_file(), &host, "alice", &again);
    assert_ok("skopeo pull after a new login", &skopeo.copy(&stack.docker("alice/app:v1"), &back, None));

    // Deleting alice from the htpasswd file ends her session too.
    assert!(delete_user(&stack.env.config_path().with_file_name("htpasswd"), "alice").unwrap());
    let started = Instant::now();
    while skopeo.inspect(&stack.docker("alice/app:v1"), None).status.success() {
        assert!(started.elapsed() < Duration::from_secs(20), "a deleted user still pulls");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn registry_3_refuses_a_refresh_token_as_a_bearer_token_with_a_bundle_or_a_jwks() {
    use crate::registry3::stack::{Stack3, Trust};
    for trust in [Trust::Bundle, Trust::JwksOnly] {
        let stack = Stack3::start(regent::token::KeyType::Ec, trust);
        let url = format!(
            "{}?account=admin&client_id=docker&offline_token=true&service={SERVICE}&scope=registry:catalog:*",
            stack.regent.realm()
        );
        let auth = format!("Basic {}", STANDARD.encode("admin:admin-pw"));
        let answer = http_get(&url, &[("Authorization", &auth)]);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let json = answer.json();
        let (access, refresh) = (json["token"].as_str().unwrap(), json["refresh_token"].as_str().unwrap());
        let catalog = format!("{}/v2/_catalog", stack.registry.url());
        let answer = http_get(&catalog, &[("Authorization", &format!("Bearer {access}"))]);
        assert_eq!(answer.status, 200, "{trust:?}: the access token works: {}", answer.body);
        let answer = http_get(&catalog, &[("Authorization", &format!("Bearer {refresh}"))]);
        assert_eq!(answer.status, 401, "{trust:?}: a refresh token was accepted: {}", answer.body);
        let log = stack.registry.log();
        assert!(log.contains("audience") || log.contains("invalid token"), "{trust:?}: {log}");
    }
}
