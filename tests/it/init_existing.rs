//! `regent init --host` on an existing data directory: adds TLS without `--force`, keeps the
//! signing key, and the edited config serves HTTPS with the new certificate.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::regent;
use crate::fixtures::text;
use crate::fixtures::{ChildGuard, free_port, https_get};

#[test]
fn init_host_on_an_existing_directory_adds_tls_and_keeps_the_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plain = format!("127.0.0.1:{}", free_port());
    let out = regent(&["init", "--dir", "d", "--key-type", "ec", "--listen", &plain], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = std::fs::read(tmp.path().join("d/keys/token.key")).expect("key");
    let certificate = std::fs::read(tmp.path().join("d/keys/token.crt")).expect("certificate");

    let tls_port = free_port();
    let tls_listen = format!("127.0.0.1:{tls_port}");
    let out = regent(&["init", "--dir", "d", "--host", "127.0.0.1", "--tls-listen", &tls_listen], tmp.path());
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.lines().any(|line| line.starts_with("  kept  ") && line.ends_with("/keys")), "{stdout}");
    assert!(stdout.contains(&format!("realm: https://127.0.0.1:{tls_port}/token")), "{stdout}");
    assert_eq!(std::fs::read(tmp.path().join("d/keys/token.key")).expect("key"), key);
    assert_eq!(std::fs::read(tmp.path().join("d/keys/token.crt")).expect("certificate"), certificate);

    // The edited config serves HTTPS with a certificate the new local CA signed.
    let ca = std::fs::read_to_string(tmp.path().join("d/certs/ca.crt")).expect("ca");
    let _server = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_regent"))
            .args(["serve", "--config", "d/regent.toml"])
            .current_dir(tmp.path())
            .env_remove("REGENT_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn regent serve"),
    );
    let url = format!("https://127.0.0.1:{tls_port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        match std::panic::catch_unwind(|| https_get(&url, &[], &ca)) {
            Ok(answer) => break answer,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => panic!("no HTTPS answer on {url}"),
        }
    };
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Without --host, an existing directory still needs --force.
    let again = regent(&["init", "--dir", "d"], tmp.path());
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("--force"), "{}", text(&again.stderr));
}
