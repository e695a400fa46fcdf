//! The binary's log output: plain text (no ANSI codes) when stderr is not a terminal, and
//! warnings whenever the policy directory holds no rule (at start and after a reload) or a
//! broad push grant.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::{ChildGuard, free_port, run_with_timeout};

/// Generous: a reload is live within about a second; the machine is shared.
const WAIT: Duration = Duration::from_secs(30);

const EMPTY_WARNING: &str = "no policy rules: every request is denied";

/// `regent init` into `tmp/d` listening on a free loopback port; returns the config path.
fn init_dir(tmp: &Path) -> std::path::PathBuf {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut init = Command::new(env!("CARGO_BIN_EXE_regent"));
    init.args(["init", "--dir", "d", "--listen", &listen]).current_dir(tmp).env_remove("REGENT_CONFIG");
    let out = run_with_timeout(init, WAIT, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tmp.join("d/regent.toml")
}

/// Starts `regent serve` with stderr going to `log` (a file, not a terminal) and `env` set.
fn serve(config: &Path, log: &Path, env: &[(&str, &str)]) -> ChildGuard {
    let stderr = std::fs::File::create(log).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("REGENT_CONFIG")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(stderr);
    for (name, value) in env {
        command.env(name, value);
    }
    ChildGuard(command.spawn().expect("spawn regent serve"))
}

/// Waits until `log` holds `count` lines containing `needle`; returns the log.
fn wait_for_lines(log: &Path, needle: &str, count: usize) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().filter(|line| line.contains(needle)).count() >= count {
            return text;
        }
        assert!(Instant::now() < deadline, "no {count} lines with {needle:?} in the log:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn logs_to_a_file_have_no_ansi_codes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = init_dir(tmp.path());
    let log = tmp.path().join("stderr.log");
    let _server = serve(&config, &log, &[]);
    let text = wait_for_lines(&log, "regent serving", 1);
    assert!(!text.contains('\u{1b}'), "ANSI escape codes in a log file:\n{text:?}");
    assert!(text.lines().any(|line| line.contains(" INFO ") && line.contains("regent serving")), "{text}");
}

#[test]
fn an_empty_policy_directory_is_a_warning_at_start_and_after_a_reload() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = init_dir(tmp.path());
    let policies = tmp.path().join("d/policies");
    let examples: Vec<_> =
        std::fs::read_dir(&policies).expect("policies").map(|e| e.expect("entry").path()).collect();
    let hidden = tmp.path().join("kept");
    std::fs::create_dir(&hidden).expect("mkdir");
    for path in &examples {
        if path.is_file() {
            std::fs::rename(path, hidden.join(path.file_name().expect("name"))).expect("move away");
        }
    }
    let log = tmp.path().join("stderr.log");
    let _server = serve(&config, &log, &[]);
    let text = wait_for_lines(&log, EMPTY_WARNING, 1);
    let warning = text.lines().find(|line| line.contains(EMPTY_WARNING)).expect("warning line");
    assert!(warning.contains(" WARN "), "{warning}");
    assert!(warning.contains(&format!("policies: {EMPTY_WARNING}")), "{warning}");

    // A rule arrives (a broad push grant: warned about at WARN on the reload), then goes again:
    // the empty-directory warning comes back.
    let rule = "[[allow]]\nwho = [\"everyone\"]\nrepositories = [\"**\"]\nactions = [\"push\"]\n";
    std::fs::write(policies.join("10-pull.toml"), rule).expect("write");
    let text = wait_for_lines(&log, "reloaded", 1);
    let broad = text.lines().find(|line| line.contains("broad grant")).expect("a broad-grant warning");
    assert!(
        broad.contains(" WARN ") && broad.contains("10-pull.toml:1:1: broad grant: everyone may push"),
        "{broad}"
    );
    assert_eq!(text.lines().filter(|line| line.contains(EMPTY_WARNING)).count(), 1, "{text}");
    std::fs::remove_file(policies.join("10-pull.toml")).expect("remove");
    let text = wait_for_lines(&log, EMPTY_WARNING, 2);
    assert!(!text.contains('\u{1b}'), "ANSI escape codes in a log file:\n{text:?}");
}
