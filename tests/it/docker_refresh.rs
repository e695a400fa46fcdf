//! The real docker CLI and engine with refresh tokens: `docker login` stores an
//! `identitytoken` and no password, push and pull then run on refresh grants, `regent revoke`
//! makes them fail, and a new `docker login` works.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::client_matrix::{Client, Flow, RegistryVersion, proven};
use crate::docker_flows::{login_with_identity_token, push_and_pull};
use crate::e2e_refresh::Stack;
use crate::fixtures::docker::{Docker, describe};
use crate::fixtures::{CommandTimeout, run_with_timeout};

#[test]
fn docker_login_stores_an_identity_token_and_push_pull_run_on_refresh_grants_until_revoked() {
    let stack = Stack::start();
    let docker = Docker::start();
    let host = stack.registry.host();
    login_with_identity_token(&docker, &host);
    let image = push_and_pull(&docker, &host, "v1", "on refresh grants");
    proven(Client::Docker, RegistryVersion::V2, Flow::IdentityToken);

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
