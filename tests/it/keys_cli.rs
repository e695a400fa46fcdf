//! `regent keys ...` run as the real binary on a directory made by `regent init`, and a key
//! rotation seen by a running `regent serve` without a restart.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::fixtures::regent;
use crate::fixtures::text;
use crate::fixtures::{ChildGuard, free_port, http_get, run_with_timeout};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `regent keys ARGS --config d/regent.toml`; asserts success; returns stdout + stderr.
fn keys_ok(args: &[&str], cwd: &Path) -> (String, String) {
    let out = keys(args, cwd);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "keys {args:?} failed: {stdout}{stderr}");
    (stdout, stderr)
}

fn keys(args: &[&str], cwd: &Path) -> Output {
    let mut all = vec!["keys", args[0], "--config", "d/regent.toml"];
    all.extend(&args[1..]);
    regent(&all, cwd)
}

/// `keys list` rows as (state, name, alg, libtrust kid, rfc7638 kid).
fn listed(cwd: &Path) -> Vec<(String, String, String, String, String)> {
    let (stdout, _) = keys_ok(&["list"], cwd);
    stdout
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f[0].into(), f[1].into(), f[2].into(), f[4].into(), f[5].into())
        })
        .collect()
}

fn init(cwd: &Path, extra: &[&str]) {
    let mut args = vec!["init", "--dir", "d"];
    args.extend(extra);
    let out = regent(&args, cwd);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn rotate_activate_retire_and_the_registry_files() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    init(cwd, &["--key-type", "ec"]);
    let rows = listed(cwd);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()), ("signing", "token", "ES256"));
    let old_kid = rows[0].3.clone();

    // The only key cannot be retired, even with --force.
    let refused = keys(&["retire", &old_kid, "--force"], cwd);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("only active key"), "{}", text(&refused.stderr));

    // Rotated in: pending, trusted by the bundle and the JWKS, not signing.
    keys_ok(&["rotate", "--type", "rsa3072"], cwd);
    let rows = listed(cwd);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[1].0.as_str(), rows[1].2.as_str()), ("signing", "pending", "RS256"));
    let (new_kid, new_thumbprint) = (rows[1].3.clone(), rows[1].4.clone());
    keys_ok(&["bundle"], cwd);
    let bundle = std::fs::read_to_string(cwd.join("d/bundle.crt")).unwrap();
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
    let (jwks, _) = keys_ok(&["jwks", "--out", "-"], cwd);
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    let kids: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [old_kid.as_str(), new_kid.as_str()]);

    // Activated: the new key signs; the old one stays trusted until retired.
    keys_ok(&["activate"], cwd);
    let rows = listed(cwd);
    assert_eq!(
        (rows[0].0.as_str(), rows[1].0.as_str(), rows[1].3.as_str()),
        ("trusted", "signing", new_kid.as_str())
    );
    let refused = keys(&["retire", &new_thumbprint], cwd);
    assert!(!refused.status.success(), "the signing key was retired without --force");
    keys_ok(&["retire", &old_kid], cwd);
    assert!(cwd.join("d/keys/retired/token.key").is_file());
    keys_ok(&["bundle"], cwd);
    keys_ok(&["jwks"], cwd);
    let bundle = std::fs::read_to_string(cwd.join("d/bundle.crt")).unwrap();
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 1);
    let jwks: Value =
        serde_json::from_str(&std::fs::read_to_string(cwd.join("d/jwks.json")).unwrap()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert!(!jwks.to_string().contains(&old_kid));
    // Readable by the registry's own user although keys/ is 0700.
    use std::os::unix::fs::PermissionsExt;
    for file in ["d/bundle.crt", "d/jwks.json"] {
        assert_eq!(std::fs::metadata(cwd.join(file)).unwrap().permissions().mode() & 0o777, 0o644, "{file}");
    }
    assert_eq!(std::fs::metadata(cwd.join("d/keys")).unwrap().permissions().mode() & 0o777, 0o700);
}

#[test]
fn ed25519_and_kid_only_settings_warn_and_fixed_keys_cannot_rotate() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    init(cwd, &[]);
    let (_, stderr) = keys_ok(&["rotate", "--type", "ed25519", "--now"], cwd);
    assert!(stderr.contains("registry 3 only"), "{stderr}");
    let (_, stderr) = keys_ok(&["list"], cwd);
    assert!(stderr.contains("registry 2.8 refuses"), "{stderr}");
    let (_, stderr) = keys_ok(&["jwks"], cwd);
    assert!(stderr.contains("x5c = false"), "{stderr}");

    // The [[token.keys]] form keeps working for bundle and list, and says how to migrate.
    let config = cwd.join("d/regent.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let fixed = original.replace("key_directory = \"keys\"\n", "").replacen(
        "\n[[authn]]\n",
        "\n[[token.keys]]\nkey = \"keys/token.key\"\ncertificate = \"keys/token.crt\"\n\n[[authn]]\n",
        1,
    );
    std::fs::write(&config, fixed).unwrap();
    let rows = listed(cwd);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let refused = keys(&["rotate"], cwd);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("key_directory"), "{}", text(&refused.stderr));
}

/// The kid in the header of a token from regent at `addr`.
fn token_kid(addr: &str, auth: &str) -> Option<String> {
    let answer = http_get(&format!("http://{addr}/token?service=registry.local"), &[("Authorization", auth)]);
    let token = answer.json()["token"].as_str()?.to_owned();
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?).ok()?;
    header["kid"].as_str().map(str::to_owned)
}

/// Polls `check` every 100 ms for up to 15 s (the watcher needs about 1 s).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "{what} within 15 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_running_server_picks_up_rotate_activate_and_retire_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let addr = format!("127.0.0.1:{}", free_port());
    init(cwd, &["--key-type", "ec", "--listen", &addr]);
    let passwd = Command::new(env!("CARGO_BIN_EXE_regent"));
    let mut passwd = passwd;
    passwd.args(["passwd", "--config", "d/regent.toml", "--cost", "4", "alice"]).current_dir(cwd);
    assert!(run_with_timeout(passwd, TIMEOUT, Some(b"pw\n")).status.success());
    let child = Command::new(env!("CARGO_BIN_EXE_regent"))
        .args(["serve", "--config", "d/regent.toml"])
        .current_dir(cwd)
        .env_remove("REGENT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = ChildGuard(child);
    let auth = format!("Basic {}", STANDARD.encode("alice:pw"));
    let jwks_kids = || -> Vec<String> {
        let answer =
            std::panic::catch_unwind(|| http_get(&format!("http://{addr}/.well-known/jwks.json"), &[]));
        let Ok(answer) = answer else { return Vec::new() };
        let keys = answer.json()["keys"].as_array().cloned().unwrap_or_default();
        keys.iter().filter_map(|k| k["kid"].as_str().map(str::to_owned)).collect()
    };
    eventually("regent serves", || jwks_kids().len() == 1);
    let old_kid = listed(cwd)[0].3.clone();
    assert_eq!(token_kid(&addr, &auth).as_deref(), Some(old_kid.as_str()));

    keys_ok(&["rotate"], cwd);
    let new_kid = listed(cwd)[1].3.clone();
    eventually("the pending key is served in the JWKS", || jwks_kids() == [old_kid.clone(), new_kid.clone()]);
    assert_eq!(token_kid(&addr, &auth).as_deref(), Some(old_kid.as_str()), "a pending key signed");

    keys_ok(&["activate"], cwd);
    eventually("the activated key signs", || token_kid(&addr, &auth).as_deref() == Some(new_kid.as_str()));
    keys_ok(&["retire", &old_kid], cwd);
    eventually("the retired key leaves the JWKS", || jwks_kids() == [new_kid.clone()]);
}

#[test]
fn key_commands_wait_for_the_directory_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    init(cwd, &["--key-type", "ec"]);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cwd.join("d/keys/.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut rotate = Command::new(env!("CARGO_BIN_EXE_regent"))
        .args(["keys", "rotate", "--config", "d/regent.toml", "--type", "ec"])
        .current_dir(cwd)
        .env_remove("REGENT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(rotate.try_wait().unwrap().is_none(), "rotate ran while another command held the lock");
    assert_eq!(listed(cwd).len(), 1);
    lock.unlock().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = rotate.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "rotate did not finish after the lock was released");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert_eq!(listed(cwd).len(), 2);
}
