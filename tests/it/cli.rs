//! The `regent` binary itself: init, passwd, policy check/explain and the embedded default.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::http_get;
use crate::fixtures::regent_with_stdin as regent;
use crate::fixtures::text;

#[test]
fn init_writes_a_working_directory_and_never_overwrites_keys() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = regent(&["init", "--dir", "data", "--service", "reg.test"], tmp.path(), None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let cert = tmp.path().join("data/keys/token.crt").canonicalize().expect("cert");
    assert!(stdout.contains(&format!("rootcertbundle: {}", cert.display())), "{stdout}");
    assert!(stdout.contains("REGISTRY_AUTH_TOKEN_SERVICE=reg.test"), "{stdout}");
    let key = std::fs::read(tmp.path().join("data/keys/token.key")).expect("key");

    let again = regent(&["init", "--dir", "data"], tmp.path(), None);
    assert!(!again.status.success(), "a second init without --force succeeded");
    assert!(text(&again.stderr).contains("--force"), "{}", text(&again.stderr));
    assert_eq!(std::fs::read(tmp.path().join("data/keys/token.key")).expect("key"), key);

    let forced = regent(&["init", "--dir", "data", "--force", "--key-type", "ec"], tmp.path(), None);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_ne!(std::fs::read(tmp.path().join("data/keys/token.key")).expect("key"), key);
}

#[test]
fn passwd_and_policy_commands() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(regent(&["init", "--dir", "d"], tmp.path(), None).status.success());
    let config = "d/regent.toml";
    let out = regent(&["passwd", "--config", config, "--cost", "4", "alice"], tmp.path(), Some(b"s3cret\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let htpasswd = std::fs::read_to_string(tmp.path().join("d/htpasswd")).expect("htpasswd");
    assert!(htpasswd.lines().any(|l| l.starts_with("alice:$2y$04$")), "{htpasswd}");
    assert!(!htpasswd.contains("s3cret"));

    let check = regent(&["policy", "check", "--config", config], tmp.path(), None);
    assert!(check.status.success(), "{}{}", text(&check.stdout), text(&check.stderr));

    let explain = regent(
        &[
            "policy",
            "explain",
            "--config",
            config,
            "--user",
            "alice",
            "repository:alice/app:pull,push",
            "repository:bob/app:push",
        ],
        tmp.path(),
        None,
    );
    assert!(explain.status.success(), "{}", text(&explain.stderr));
    let lines = text(&explain.stdout);
    assert!(
        lines.lines().any(|l| l.contains("alice/app:push") && l.contains("granted") && l.contains(".toml:")),
        "{lines}"
    );
    assert!(lines.lines().any(|l| l.contains("bob/app:push") && l.contains("denied")), "{lines}");

    // As htpasswd's alice during an earlier backend's outage: no ${user} namespace.
    let not_owner = regent(
        &[
            "policy",
            "explain",
            "--config",
            config,
            "--user",
            "alice",
            "--backend",
            "local",
            "--not-owner",
            "repository:alice/app:push",
        ],
        tmp.path(),
        None,
    );
    assert!(not_owner.status.success(), "{}", text(&not_owner.stderr));
    let lines = text(&not_owner.stdout);
    assert!(lines.contains("alice/app:push denied (no allow rule matched)"), "{lines}");

    std::fs::write(
        tmp.path().join("d/policies/99-broken.toml"),
        "[[allow]]\nwho = [\"user:x\"]\nrepositories = [\"a/**b\"]\nactions = [\"pull\"]\n",
    )
    .expect("write");
    let broken = regent(&["policy", "check", "--config", config], tmp.path(), None);
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken.stderr).contains("99-broken.toml:3:"), "{}", text(&broken.stderr));

    let deleted = regent(&["passwd", "--config", config, "--delete", "alice"], tmp.path(), None);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let htpasswd = std::fs::read_to_string(tmp.path().join("d/htpasswd")).expect("htpasswd");
    assert!(!htpasswd.contains("alice:"));
}

#[test]
fn policy_commands_know_robots_claims_and_ceilings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(regent(&["init", "--dir", "d"], tmp.path(), None).status.success());
    let config = "d/regent.toml";
    std::fs::write(
        tmp.path().join("d/policies/60-robots.toml"),
        "[[allow]]\nwho = [\"robot:ci\", \"claim:project_path:team/app\"]\nrepositories = [\"team/**\"]\n\
         actions = [\"pull\", \"push\"]\n",
    )
    .expect("write");
    let check = regent(&["policy", "check", "--config", config], tmp.path(), None);
    assert!(check.status.success(), "{}{}", text(&check.stdout), text(&check.stderr));

    let explain = |extra: &[&str]| {
        let mut args = vec!["policy", "explain", "--config", config];
        args.extend_from_slice(extra);
        let out = regent(&args, tmp.path(), None);
        assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let robot =
        explain(&["--robot", "ci", "--ceiling", "repository:team/app:pull", "repository:team/app:pull,push"]);
    assert!(robot.contains("repository:team/app:pull granted (allowed by "), "{robot}");
    assert!(robot.contains("repository:team/app:push denied (outside the credential's scope)"), "{robot}");
    assert!(robot.contains("token access: repository:team/app:pull\n"), "{robot}");
    // The person ci is not the robot; a claim gives the rule to any subject carrying it.
    let person = explain(&["--user", "ci", "repository:team/app:push"]);
    assert!(person.contains("team/app:push denied (no allow rule matched)"), "{person}");
    let claimed = explain(&["--user", "dev", "--claim", "project_path:team/app", "repository:team/app:push"]);
    assert!(claimed.contains("team/app:push granted"), "{claimed}");

    let bad = regent(
        &[
            "policy",
            "explain",
            "--config",
            config,
            "--robot",
            "ci",
            "--claim",
            "novalue",
            "repository:a:pull",
        ],
        tmp.path(),
        None,
    );
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("invalid claim key \"novalue\""), "{}", text(&bad.stderr));

    std::fs::write(
        tmp.path().join("d/policies/99-broken.toml"),
        "[[allow]]\nwho = [\"robot:ci\", \"claim:ref\"]\nrepositories = [\"a/**\"]\nactions = [\"pull\"]\n",
    )
    .expect("write");
    let broken = regent(&["policy", "check", "--config", config], tmp.path(), None);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        text(&broken.stderr).contains("99-broken.toml:2:20: claim:\"ref\" needs a value: claim:KEY:VALUE"),
        "{}",
        text(&broken.stderr)
    );
}

#[test]
fn missing_explicit_config_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = regent(&["policy", "check", "--config", "nope.toml"], tmp.path(), None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nope.toml"), "{}", text(&out.stderr));
}

/// `regent serve` with no configuration anywhere: the embedded default initialises
/// `./regent-data`, prints the demo user's password once and serves on 127.0.0.1:5001.
#[test]
fn embedded_default_serves_with_a_demo_user() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_regent"))
        .arg("serve")
        .current_dir(tmp.path())
        .env_remove("REGENT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn regent");
    let stdout = child.stdout.take().expect("stdout");
    let mut password = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(rest) = line.split("with password \"").nth(1) {
            password = rest.split('"').next().map(str::to_owned);
            break;
        }
    }
    let password = password.expect("the demo password is printed on the first run");
    let deadline = Instant::now() + Duration::from_secs(30);
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("demo:{password}"))
    );
    let answer = loop {
        let answer = std::panic::catch_unwind(|| {
            http_get("http://127.0.0.1:5001/token?service=registry.local", &[("Authorization", &auth)])
        });
        match answer {
            Ok(a) => break a,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => panic!("the embedded default did not answer on 127.0.0.1:5001"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(tmp.path().join("regent-data/keys/token.crt").exists());
}
