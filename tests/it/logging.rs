//! The binary's log output: plain text (no ANSI codes) when stderr is not a terminal, and
//! warnings whenever the policy directory holds no rule (at start and after a reload) or a
//! broad push grant.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::fixtures::{RegentServe, free_port, run_with_timeout};

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

#[test]
fn logs_to_a_file_have_no_ansi_codes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = init_dir(tmp.path());
    let log = tmp.path().join("stderr.log");
    let server = RegentServe::start(&config, &log, &[]);
    let text = server.wait_for_lines("regent serving", 1);
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
    let server = RegentServe::start(&config, &log, &[]);
    let text = server.wait_for_lines(EMPTY_WARNING, 1);
    let warning = text.lines().find(|line| line.contains(EMPTY_WARNING)).expect("warning line");
    assert!(warning.contains(" WARN "), "{warning}");
    assert!(warning.contains(&format!("policies: {EMPTY_WARNING}")), "{warning}");

    // A rule arrives (a broad push grant: warned about at WARN on the reload), then goes again:
    // the empty-directory warning comes back.
    let rule = "[[allow]]\nwho = [\"everyone\"]\nrepositories = [\"**\"]\nactions = [\"push\"]\n";
    std::fs::write(policies.join("10-pull.toml"), rule).expect("write");
    let text = server.wait_for_lines("reloaded", 1);
    let broad = text.lines().find(|line| line.contains("broad grant")).expect("a broad-grant warning");
    assert!(
        broad.contains(" WARN ") && broad.contains("10-pull.toml:1:1: broad grant: everyone may push"),
        "{broad}"
    );
    assert_eq!(text.lines().filter(|line| line.contains(EMPTY_WARNING)).count(), 1, "{text}");
    std::fs::remove_file(policies.join("10-pull.toml")).expect("remove");
    let text = server.wait_for_lines(EMPTY_WARNING, 2);
    assert!(!text.contains('\u{1b}'), "ANSI escape codes in a log file:\n{text:?}");
}
