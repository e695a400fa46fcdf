//! `regent passwd` run many times at once on one file: no edit is lost, the file keeps its mode.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::fixtures::run_with_timeout;

const TIMEOUT: Duration = Duration::from_secs(120);
/// How many `regent passwd` processes run at once.
const PARALLEL: usize = 30;

/// `regent passwd --file FILE ARGS...` with `password` on stdin (when given).
fn passwd(file: &Path, args: &[&str], password: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command.arg("passwd").arg("--file").arg(file).args(args).env_remove("REGENT_CONFIG");
    let stdin = password.map(|p| format!("{p}\n").into_bytes());
    run_with_timeout(command, TIMEOUT, stdin.as_deref())
}

fn assert_success(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The hash of `user` in the htpasswd text, if the user is there.
fn hash_of<'a>(text: &'a str, user: &str) -> Option<&'a str> {
    text.lines().find_map(|line| line.strip_prefix(user)?.strip_prefix(':'))
}

/// Runs every job on its own thread at once and waits for all.
fn all_at_once(jobs: Vec<Box<dyn FnOnce() + Send>>) {
    let threads: Vec<_> = jobs.into_iter().map(std::thread::spawn).collect();
    for thread in threads {
        thread.join().expect("a passwd run panicked");
    }
}

fn add_job(file: &Path, user: String) -> Box<dyn FnOnce() + Send> {
    let file = file.to_owned();
    Box::new(move || {
        let out = passwd(&file, &["--cost", "4", &user], Some(&format!("pw-{user}")));
        assert_success(&out, &user);
    })
}

#[test]
fn parallel_adds_keep_every_user() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    std::fs::write(&file, "# team\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let users: Vec<String> = (0..PARALLEL).map(|i| format!("user{i}")).collect();
    all_at_once(users.iter().map(|user| add_job(&file, user.clone())).collect());

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# team\n"), "{text}");
    for user in &users {
        let hash = hash_of(&text, user).unwrap_or_else(|| panic!("{user} was lost:\n{text}"));
        assert!(bcrypt::verify(format!("pw-{user}"), hash).unwrap(), "{user}");
    }
    assert_eq!(text.lines().count(), PARALLEL + 1, "{text}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640, "the mode survives the rewrites");
}

#[test]
fn parallel_deletes_and_adds_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    let old_hash = bcrypt::hash("old", 4).unwrap();
    let old: Vec<String> = (0..PARALLEL).map(|i| format!("old{i}")).collect();
    let text: String = old.iter().map(|user| format!("{user}:{old_hash}\n")).collect();
    std::fs::write(&file, format!("keep:{old_hash}\n{text}")).unwrap();

    let new: Vec<String> = (0..PARALLEL).map(|i| format!("new{i}")).collect();
    let mut jobs: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
    for (old_user, new_user) in old.iter().zip(&new) {
        let (file_for_delete, old_user) = (file.clone(), old_user.clone());
        jobs.push(Box::new(move || {
            let out = passwd(&file_for_delete, &["--delete", &old_user], None);
            assert_success(&out, &old_user);
        }));
        jobs.push(add_job(&file, new_user.clone()));
    }
    all_at_once(jobs);

    let text = std::fs::read_to_string(&file).unwrap();
    for user in &old {
        assert_eq!(hash_of(&text, user), None, "{user} came back:\n{text}");
    }
    for user in &new {
        let hash = hash_of(&text, user).unwrap_or_else(|| panic!("{user} was lost:\n{text}"));
        assert!(bcrypt::verify(format!("pw-{user}"), hash).unwrap(), "{user}");
    }
    assert_eq!(hash_of(&text, "keep"), Some(old_hash.as_str()));
    assert_eq!(text.lines().count(), PARALLEL + 1, "{text}");
}

#[test]
fn empty_and_over_long_passwords_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    let cases = [("", "the password is empty"), (&*"x".repeat(73), "longer than 72 bytes")];
    for (password, expected) in cases {
        let out = passwd(&file, &["--cost", "4", "alice"], Some(password));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{password:?} was accepted");
        assert!(stderr.contains(expected), "{password:?}: {stderr}");
        assert!(!file.exists(), "{password:?}: the file was written");
    }
    let out = passwd(&file, &["--cost", "4", "alice"], Some(&"x".repeat(72)));
    assert_success(&out, "72 bytes");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(bcrypt::verify("x".repeat(72), hash_of(&text, "alice").unwrap()).unwrap());
}

#[test]
fn a_cost_above_the_backends_maximum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    let out = passwd(&file, &["--cost", "15", "alice"], Some("pw"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--cost 15 is above max_bcrypt_cost 14"), "{stderr}");
    assert!(!file.exists());

    let config = dir.path().join("regent.toml");
    std::fs::write(
        &config,
        "[token]\nservice = \"s\"\nissuer = \"i\"\nrealm = \"http://127.0.0.1:1/token\"\n\
         [[token.keys]]\nkey = \"k\"\ncertificate = \"c\"\n[policy]\ndirectory = \"p\"\n\
         [[authn]]\nname = \"local\"\nkind = \"htpasswd\"\nfile = \"htpasswd\"\nmax_bcrypt_cost = 5\n",
    )
    .unwrap();
    let with_config = |cost: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
        command.args(["passwd", "--config"]).arg(&config).args(["--cost", cost, "alice"]);
        run_with_timeout(command, TIMEOUT, Some(b"pw\n"))
    };
    let out = with_config("6");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--cost 6 is above max_bcrypt_cost 5"), "{stderr}");
    assert!(!file.exists());
    assert_success(&with_config("5"), "cost 5");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(hash_of(&text, "alice").unwrap().starts_with("$2y$05$"), "{text}");
}
