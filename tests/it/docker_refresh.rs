//! The real docker CLI and engine with refresh tokens: `docker login` stores an
//! `identitytoken` and no password, push and pull then run on refresh grants, `regent revoke`
//! makes them fail, and a new `docker login` works.

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::e2e_refresh::Stack;
use crate::fixtures::docker::scratch::ScratchContext;
use crate::fixtures::docker::{Docker, describe};
use crate::fixtures::{CommandTimeout, run_with_timeout};

/// A one-file image `FROM scratch` tagged `tag`.
fn build_payload_image(docker: &Docker, tag: &str, payload: &str) {
    let context = ScratchContext::new("FROM scratch\nCOPY rootfs/ /\n");
    context.add_file("/payload.txt", payload.as_bytes());
    docker.build(context.path(), tag);
}

/// The `auths` entry docker stored for `host`.
fn stored_login(docker: &Docker, host: &str) -> Value {
    let text = std::fs::read_to_string(docker.config_dir().join("config.json")).expect("config.json");
    let json: Value = serde_json::from_str(&text).expect("config.json is JSON");
    json["auths"][host].clone()
}

#[test]
fn docker_login_stores_an_identity_token_and_push_pull_run_on_refresh_grants_until_revoked() {
    let stack = Stack::start();
    let docker = Docker::start();
    let host = stack.registry.host();
    let login = docker.login(&host, "alice", "alice-pw");
    assert!(login.status.success(), "docker login: {}", describe(&login));
    let stored = stored_login(&docker, &host);
    let token = stored["identitytoken"].as_str().expect("docker stored an identitytoken");
    assert!(token.split('.').count() == 3, "{stored}");
    let auth = String::from_utf8(STANDARD.decode(stored["auth"].as_str().unwrap_or("")).unwrap()).unwrap();
    assert_eq!(auth, "alice:", "docker keeps the user name and no password");
    let config = std::fs::read_to_string(docker.config_dir().join("config.json")).unwrap();
    assert!(!config.contains("alice-pw") && !config.contains(&STANDARD.encode("alice:alice-pw")));

    let image = format!("{host}/alice/app:v1");
    build_payload_image(&docker, &image, "hello from a refresh token\n");
    let push = docker.run(&["push", &image], None);
    assert!(push.status.success(), "push on a refresh grant: {}", describe(&push));
    docker.run_ok(&["image", "rm", &image]);
    let pull = docker.run(&["pull", &image], None);
    assert!(pull.status.success(), "pull on a refresh grant: {}", describe(&pull));

    // `regent revoke alice`, the binary, with the data directory's config.
    let mut revoke = Command::new(env!("CARGO_BIN_EXE_regent"));
    revoke.args(["revoke", "--config"]).arg(stack.env.config_path()).arg("alice").env_remove("REGENT_CONFIG");
    let out = run_with_timeout(revoke, CommandTimeout::DEFAULT, None);
    assert!(out.status.success(), "regent revoke: {}", describe(&out));
    let started = Instant::now();
    let refused = loop {
        docker.run(&["image", "rm", &image], None);
        let pull = docker.run(&["pull", &image], None);
        if !pull.status.success() {
            break pull;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "a revoked user still pulls");
        std::thread::sleep(Duration::from_millis(300));
    };
    let stderr = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    eprintln!("what a revoked docker user sees: {}", String::from_utf8_lossy(&refused.stderr).trim());
    assert!(
        stderr.contains("unauthorized") || stderr.contains("invalid_grant") || stderr.contains("denied"),
        "{stderr}"
    );

    // A new login (a second later: tokens of the revocation's second are revoked too) works.
    std::thread::sleep(Duration::from_millis(1100));
    let login = docker.login(&host, "alice", "alice-pw");
    assert!(login.status.success(), "docker login again: {}", describe(&login));
    let pull = docker.run(&["pull", &image], None);
    assert!(pull.status.success(), "pull after a new login: {}", describe(&pull));
    docker.remove_on_drop(&image);
    assert!(docker.logout(&host).status.success());
}
