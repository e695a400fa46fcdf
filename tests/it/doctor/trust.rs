//! What the registry trusts: a bundle with an old certificate (in the file, and in a registry
//! not restarted), a pending key missing from the bundle, registry 3's JWKS without the kid.

use regent::clock::{Clock, SystemClock};
use regent::token::{KeyType, generate_key};
use std::process::Command;

use super::{Stack, TIMEOUT, assert_exit, doctor, line, stdout};
use crate::env::ISSUER;
use crate::fixtures::run_with_timeout;
use crate::registry3::stack::{Stack3, Trust};

#[test]
fn a_pending_key_missing_from_the_bundle_warns() {
    let stack = Stack::start(|_, _| {});
    let mut rotate = Command::new(env!("CARGO_BIN_EXE_regent"));
    rotate.args(["keys", "rotate", "--config"]).arg(stack.env.config_path()).env_remove("REGENT_CONFIG");
    let rotated = run_with_timeout(rotate, TIMEOUT, None);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    // The bundle the registry reads predates the pending key: it works until that key signs.
    let out = stack.doctor(&["--registry-user", "root"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let bundle = line(&text, "WARN", "bundle");
    assert!(bundle.contains("but not key(s)") && bundle.contains("regent keys bundle --out"), "{bundle}");
    line(&text, "ok", "token");
}

#[test]
fn a_registry_trusting_an_old_certificate() {
    let stack = Stack::start(|auth, dir| {
        let old = generate_key(KeyType::Rsa, ISSUER, SystemClock.now()).unwrap();
        let bundle = dir.join("old-bundle.crt");
        std::fs::write(&bundle, old.cert_pem).unwrap();
        auth.rootcertbundle = bundle;
    });
    let out = stack.doctor(&["--registry-user", "root"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let bundle = line(&text, "FAIL", "bundle");
    assert!(bundle.contains("not regent's signing certificate"), "{bundle}");
    assert!(bundle.contains("restart the registry"), "{bundle}");
    let token = line(&text, "FAIL", "token");
    assert!(token.contains("invalid_token") && token.contains("bundle"), "{token}");
    for name in ["service", "issuer", "realm", "challenge"] {
        line(&text, "ok", name);
    }

    // The file now holds regent's certificate, but the registry read it at start: only the
    // probe token shows that it still trusts the old one, and the fix says to restart it.
    std::fs::copy(&stack.env.report.root_cert_bundle, stack.registry_bundle()).unwrap();
    let out = stack.doctor(&["--registry-user", "root"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    line(&text, "ok", "bundle");
    let token = line(&text, "FAIL", "token");
    assert!(token.contains("it reads rootcertbundle only at start: restart it"), "{token}");
}

#[test]
fn registry3_with_a_jwks_lacking_the_kid() {
    // Registry 3 trusting only a JWKS (regent: RFC 7638 kid, no x5c), written by `regent keys jwks`.
    let mut stack = Stack3::start(KeyType::Ec, Trust::JwksOnly);
    let doctor3 = |stack: &Stack3| {
        let config = stack.env.config_path().display().to_string();
        let registry_config = stack.registry.config_path().display().to_string();
        let url = stack.registry.url();
        doctor(&[
            "--config",
            &config,
            "--registry-config",
            &registry_config,
            "--registry-url",
            &url,
            "--registry-user",
            "root",
        ])
    };
    let out = doctor3(&stack);
    assert_exit(&out, 0);
    let text = stdout(&out);
    line(&text, "ok", "jwks");
    line(&text, "skip", "bundle");
    line(&text, "ok", "token");

    // The registry restarted with a JWKS whose key goes by another kid: every token is refused.
    let jwks = stack.env.config_path().parent().unwrap().join("jwks.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    let kid = value["keys"][0]["kid"].as_str().unwrap().to_owned();
    value["keys"][0]["kid"] = "some-old-kid".into();
    std::fs::write(&jwks, value.to_string()).unwrap();
    stack.registry.restart();
    let out = doctor3(&stack);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let jwks_line = line(&text, "FAIL", "jwks");
    assert!(jwks_line.contains(&format!("lists kid(s) [some-old-kid], not {kid}")), "{jwks_line}");
    assert!(jwks_line.contains("regent keys jwks --out"), "{jwks_line}");
    let token = line(&text, "FAIL", "token");
    assert!(token.contains("fix the failed jwks check"), "{token}");
}
