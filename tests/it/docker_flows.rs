//! The real docker CLI and engine in each flow, on registry 2.8 and 3.1.1: with a password
//! (refresh tokens off: `docker login` stores the password and the daemon sends it with `GET` +
//! Basic), with an identity token (`docker login` stores a refresh token, the daemon `POST`s
//! refresh grants), and anonymously (no login: `GET` without credentials).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::token::KeyType;
use serde_json::Value;

use crate::client_matrix::{Client, Flow, RegistryVersion, proven};
use crate::e2e_refresh::Stack;
use crate::fixtures::docker::scratch::ScratchContext;
use crate::fixtures::docker::{Docker, describe};
use crate::fixtures::{Skopeo, assert_ok, oci};
use crate::registry3::stack::{Stack3, Trust};

/// A one-file image `FROM scratch` tagged `tag`.
pub(crate) fn build_payload_image(docker: &Docker, tag: &str, payload: &str) {
    let context = ScratchContext::new("FROM scratch\nCOPY rootfs/ /\n");
    context.add_file("/payload.txt", payload.as_bytes());
    docker.build(context.path(), tag);
}

/// The `auths` entry docker stored for `host`.
pub(crate) fn stored_login(docker: &Docker, host: &str) -> Value {
    let text = std::fs::read_to_string(docker.config_dir().join("config.json")).expect("config.json");
    let json: Value = serde_json::from_str(&text).expect("config.json is JSON");
    json["auths"][host].clone()
}

/// The decoded `auth` (`user:password`) of a stored login.
fn stored_auth(stored: &Value) -> String {
    let auth = STANDARD.decode(stored["auth"].as_str().unwrap_or("")).expect("auth is base64");
    String::from_utf8(auth).expect("auth is UTF-8")
}

/// `docker login` as alice, asserting docker stored an `identitytoken` and no password.
pub(crate) fn login_with_identity_token(docker: &Docker, host: &str) {
    let login = docker.login(host, "alice", "alice-pw");
    assert!(login.status.success(), "docker login: {}", describe(&login));
    let stored = stored_login(docker, host);
    let token = stored["identitytoken"].as_str().expect("docker stored an identitytoken");
    assert!(token.split('.').count() == 3, "{stored}");
    assert_eq!(stored_auth(&stored), "alice:", "docker keeps the user name and no password");
    let config = std::fs::read_to_string(docker.config_dir().join("config.json")).unwrap();
    assert!(!config.contains("alice-pw") && !config.contains(&STANDARD.encode("alice:alice-pw")));
}

/// Builds `HOST/alice/app:TAG`, pushes it, removes it and pulls it back.
pub(crate) fn push_and_pull(docker: &Docker, host: &str, tag: &str, what: &str) -> String {
    let image = format!("{host}/alice/app:{tag}");
    build_payload_image(docker, &image, &format!("pushed {what}\n"));
    let push = docker.run(&["push", &image], None);
    assert!(push.status.success(), "push {what}: {}", describe(&push));
    docker.run_ok(&["image", "rm", &image]);
    let pull = docker.run(&["pull", &image], None);
    assert!(pull.status.success(), "pull {what}: {}", describe(&pull));
    image
}

/// With refresh tokens off: `docker login` stores the password, push and pull work on it.
fn password_push_and_pull(docker: &Docker, host: &str) {
    let login = docker.login(host, "alice", "alice-pw");
    assert!(login.status.success(), "docker login: {}", describe(&login));
    let stored = stored_login(docker, host);
    assert!(stored.get("identitytoken").is_none(), "no refresh token was issued: {stored}");
    assert_eq!(stored_auth(&stored), "alice:alice-pw");
    push_and_pull(docker, host, "password", "with a password");
    assert!(docker.logout(host).status.success());
}

/// Without a login: the daemon pulls `public/tool:v1` (pushed by admin with skopeo) anonymously.
fn anonymous_pull(docker: &Docker, host: &str) {
    let images = tempfile::tempdir().unwrap();
    let image = oci::write_layout(images.path(), "v1", b"public for docker");
    let public = format!("{host}/public/tool:v1");
    let admin = Some(("admin", "admin-pw"));
    assert_ok("skopeo push", &Skopeo::new().copy(&image.reference(), &format!("docker://{public}"), admin));
    assert_eq!(stored_login(docker, host), Value::Null, "logged out");
    docker.remove_on_drop(&public);
    let pull = docker.run(&["pull", &public], None);
    assert!(pull.status.success(), "anonymous pull: {}", describe(&pull));
}

#[test]
fn docker_on_registry_2_with_a_password_and_anonymously() {
    let stack = Stack::start_configured(|config| config.refresh.ttl = Duration::ZERO);
    let docker = Docker::start();
    let host = stack.registry.host();
    password_push_and_pull(&docker, &host);
    proven(Client::Docker, RegistryVersion::V2, Flow::Password);
    anonymous_pull(&docker, &host);
    proven(Client::Docker, RegistryVersion::V2, Flow::Anonymous);
}

#[test]
fn docker_on_registry_3_with_a_password_an_identity_token_and_anonymously() {
    let docker = Docker::start();
    let without_refresh = Stack3::start_configured(KeyType::Rsa, Trust::Bundle, "", |config| {
        config.refresh.ttl = Duration::ZERO
    });
    let host = without_refresh.registry.host();
    password_push_and_pull(&docker, &host);
    proven(Client::Docker, RegistryVersion::V3, Flow::Password);
    anonymous_pull(&docker, &host);
    proven(Client::Docker, RegistryVersion::V3, Flow::Anonymous);
    drop(without_refresh);

    let stack = Stack3::start(KeyType::Ec, Trust::JwksOnly);
    let host = stack.registry.host();
    login_with_identity_token(&docker, &host);
    push_and_pull(&docker, &host, "refresh", "on refresh grants");
    proven(Client::Docker, RegistryVersion::V3, Flow::IdentityToken);
    assert!(docker.logout(&host).status.success());
}
