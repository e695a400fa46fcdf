//! End to end: Debian's real `docker-registry` (distribution 2.8) configured only from
//! `regent init`'s output, regent serving on loopback, and the real skopeo and podman.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::token::KeyType;

use crate::client_matrix::{Client, Flow, RegistryVersion, proven};
use crate::env::{ISSUER, RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::{Podman, Registry, RegistryAuth, Skopeo, assert_ok, assert_refused, http_get, oci};

/// regent, and a registry that trusts it: what an operator gets from `regent init`.
struct Stack {
    /// Keeps regent's data directory (keys, htpasswd, policies) alive.
    _env: TestEnv,
    regent: RunningRegent,
    registry: Registry,
    images: tempfile::TempDir,
}

impl Stack {
    fn start() -> Self {
        Self::start_with(KeyType::Rsa, Duration::ZERO)
    }

    /// A stack whose regent mints tokens as if it were `behind` in the past.
    fn start_behind(behind: Duration) -> Self {
        Self::start_with(KeyType::Rsa, behind)
    }

    /// A stack whose regent signs with a `key_type` key and runs `behind` in the past.
    fn start_with(key_type: KeyType, behind: Duration) -> Self {
        let (listener, realm) = bind_realm();
        let env = TestEnv::with_key_type(&realm, key_type);
        let regent = RunningRegent::start(&env, listener, behind);
        let registry = Registry::start(registry_auth(&env));
        Self { _env: env, regent, registry, images: tempfile::tempdir().expect("tempdir") }
    }

    /// `docker://HOST/REPO` on the registry.
    fn docker(&self, repo: &str) -> String {
        format!("docker://{}/{repo}", self.registry.host())
    }

    /// A fresh local OCI image with `payload`.
    fn image(&self, tag: &str, payload: &[u8]) -> oci::OciImage {
        oci::write_layout(&self.images.path().join(tag), tag, payload)
    }

    /// A token from regent's `/token` (as any client would get it).
    fn token(&self, creds: Option<(&str, &str)>, scope: &str) -> String {
        let url = format!("{}?service={SERVICE}&scope={scope}", self.regent.realm());
        let auth = creds.map(|(u, p)| format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let answer = http_get(&url, &headers);
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["token"].as_str().expect("token").to_owned()
    }
}

/// The registry's `auth.token` settings, taken from what `init` reported (its YAML snippet).
pub(crate) fn registry_auth(env: &TestEnv) -> RegistryAuth {
    let snippet = env.report.registry_snippet();
    let value = |key: &str| {
        snippet
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("{key} missing from init's snippet:\n{snippet}"))
            .trim_matches('"')
            .to_owned()
    };
    let auth = RegistryAuth {
        realm: value("realm"),
        service: value("service"),
        issuer: value("issuer"),
        rootcertbundle: value("rootcertbundle").into(),
    };
    assert_eq!((auth.service.as_str(), auth.issuer.as_str()), (SERVICE, ISSUER));
    assert!(auth.rootcertbundle.is_absolute());
    auth
}

#[test]
fn alice_logs_in_pushes_and_pulls_her_namespace() {
    let stack = Stack::start();
    let host = stack.registry.host();
    let skopeo = Skopeo::new();
    assert_ok("skopeo login", &skopeo.login(&host, "alice", "alice-pw"));
    let image = stack.image("v1", b"alice's bytes");
    assert_ok("skopeo push", &skopeo.copy(&image.reference(), &stack.docker("alice/app:v1"), None));
    let back = stack.images.path().join("pulled");
    let dest = format!("oci:{}:v1", back.display());
    assert_ok("skopeo pull", &skopeo.copy(&stack.docker("alice/app:v1"), &dest, None));
    proven(Client::Skopeo, RegistryVersion::V2, Flow::Password);

    let podman = Podman::new();
    assert_ok("podman login", &podman.login(&host, "alice", "alice-pw"));
    assert_ok("podman pull", &podman.pull(&format!("{host}/alice/app:v1")));
    assert_ok("podman tag", &podman.tag(&format!("{host}/alice/app:v1"), &format!("{host}/alice/copy:v1")));
    assert_ok(
        "podman push",
        &podman.push(&format!("{host}/alice/copy:v1"), &format!("{host}/alice/copy:v1")),
    );
    proven(Client::Podman, RegistryVersion::V2, Flow::Password);
}

#[test]
fn bob_is_read_only_outside_his_namespace() {
    let stack = Stack::start();
    let host = stack.registry.host();
    let skopeo = Skopeo::new();
    let image = stack.image("v1", b"shared");
    assert_ok(
        "alice push",
        &skopeo.copy(&image.reference(), &stack.docker("alice/app:v1"), Some(("alice", "alice-pw"))),
    );

    assert_ok(
        "bob pull",
        &skopeo.copy(
            &stack.docker("alice/app:v1"),
            &format!("oci:{}:v1", stack.images.path().join("bob").display()),
            Some(("bob", "bob-pw")),
        ),
    );
    assert_refused(
        "bob push",
        &skopeo.copy(&image.reference(), &stack.docker("alice/app:v2"), Some(("bob", "bob-pw"))),
    );

    let podman = Podman::new();
    assert_ok("podman login bob", &podman.login(&host, "bob", "bob-pw"));
    assert_ok("podman pull bob", &podman.pull(&format!("{host}/alice/app:v1")));
    assert_refused(
        "podman push bob",
        &podman.push(&format!("{host}/alice/app:v1"), &format!("{host}/alice/app:v3")),
    );
}

#[test]
fn anonymous_pulls_public_and_cannot_push() {
    let stack = Stack::start();
    let skopeo = Skopeo::new();
    let image = stack.image("v1", b"public bytes");
    assert_ok(
        "admin push",
        &skopeo.copy(&image.reference(), &stack.docker("public/tool:v1"), Some(("admin", "admin-pw"))),
    );
    let dest = format!("oci:{}:v1", stack.images.path().join("anon").display());
    assert_ok("anonymous pull", &skopeo.copy(&stack.docker("public/tool:v1"), &dest, None));
    proven(Client::Skopeo, RegistryVersion::V2, Flow::Anonymous);
    assert_ok(
        "podman anonymous pull",
        &Podman::new().pull(&format!("{}/public/tool:v1", stack.registry.host())),
    );
    proven(Client::Podman, RegistryVersion::V2, Flow::Anonymous);
    assert_refused(
        "anonymous push",
        &skopeo.copy(&image.reference(), &stack.docker("public/other:v1"), None),
    );
    assert_refused("anonymous pull outside public", &skopeo.inspect(&stack.docker("alice/none:v1"), None));
}

#[test]
fn wrong_password_fails_the_login() {
    let stack = Stack::start();
    let host = stack.registry.host();
    let out = Skopeo::new().login(&host, "alice", "not-her-password");
    assert!(!out.status.success(), "skopeo login with a wrong password succeeded");
    // skopeo turns the realm's 401 into "invalid username/password".
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(stderr.contains("invalid username/password") || stderr.contains("unauthorized"), "{stderr}");
    let out = Podman::new().login(&host, "alice", "not-her-password");
    assert!(!out.status.success(), "podman login with a wrong password succeeded");
}

#[test]
fn catalog_is_allowed_for_admins_only() {
    let stack = Stack::start();
    let skopeo = Skopeo::new();
    let image = stack.image("v1", b"catalog");
    assert_ok(
        "push",
        &skopeo.copy(&image.reference(), &stack.docker("alice/listed:v1"), Some(("alice", "alice-pw"))),
    );
    let catalog = format!("{}/v2/_catalog", stack.registry.url());

    let admin = stack.token(Some(("admin", "admin-pw")), "registry:catalog:*");
    let answer = http_get(&catalog, &[("Authorization", &format!("Bearer {admin}"))]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["repositories"], serde_json::json!(["alice/listed"]));

    let alice = stack.token(Some(("alice", "alice-pw")), "registry:catalog:*");
    let answer = http_get(&catalog, &[("Authorization", &format!("Bearer {alice}"))]);
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.header("WWW-Authenticate").is_some_and(|c| c.contains("insufficient_scope")));
}

#[test]
fn registry_refuses_a_token_past_exp_plus_leeway() {
    // regent's clock runs ten minutes behind: its 5-minute tokens expired five minutes ago,
    // well past the registry's 60 s leeway. No sleeping.
    let stale = Stack::start_behind(Duration::from_secs(600));
    let catalog = format!("{}/v2/_catalog", stale.registry.url());
    let token = stale.token(Some(("admin", "admin-pw")), "registry:catalog:*");
    let answer = http_get(&catalog, &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(answer.status, 401, "an expired token was accepted: {}", answer.body);
    assert!(answer.header("WWW-Authenticate").is_some_and(|c| c.contains("invalid_token")));

    // The same request through a stack set up the same way, with a regent on time, succeeds.
    let fresh = Stack::start();
    let token = fresh.token(Some(("admin", "admin-pw")), "registry:catalog:*");
    let answer = http_get(
        &format!("{}/v2/_catalog", fresh.registry.url()),
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[test]
fn es256_tokens_from_an_ec_key_are_accepted() {
    let stack = Stack::start_with(KeyType::Ec, Duration::ZERO);
    let skopeo = Skopeo::new();
    let image = stack.image("v1", b"signed with P-256");
    assert_ok(
        "push",
        &skopeo.copy(&image.reference(), &stack.docker("alice/ec:v1"), Some(("alice", "alice-pw"))),
    );
    let dest = format!("oci:{}:v1", stack.images.path().join("ec-back").display());
    assert_ok("pull", &skopeo.copy(&stack.docker("alice/ec:v1"), &dest, Some(("bob", "bob-pw"))));
    let token = stack.token(Some(("alice", "alice-pw")), "repository:alice/ec:pull");
    let header = token.split('.').next().expect("header");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("b64"),
    )
    .expect("json");
    assert_eq!(header["alg"], "ES256");
}
