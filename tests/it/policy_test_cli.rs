//! `regent policy test`: the shipped example policies pass their shipped test file, `init`
//! writes both, and a wrong expectation fails naming the rule that decided.

use std::path::{Path, PathBuf};

use crate::fixtures::regent;
use crate::fixtures::text;

fn shipped(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_shipped_examples_pass_their_test_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let policies = shipped("policies");
    let tests = shipped("policies/tests/examples.test.toml");
    let out = regent(
        &["policy", "test", "--policies", policies.to_str().unwrap(), tests.to_str().unwrap()],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok: 14 cases in 1 file\n");
    assert_eq!(text(&out.stderr), "", "no warnings about the shipped examples");
}

#[test]
fn init_writes_the_test_file_next_to_the_examples_and_it_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(regent(&["init", "--dir", "d"], tmp.path()).status.success());
    let written =
        std::fs::read_to_string(tmp.path().join("d/policies/tests/examples.test.toml")).expect("written");
    assert_eq!(written, std::fs::read_to_string(shipped("policies/tests/examples.test.toml")).unwrap());
    // The tests/ subdirectory is not loaded as policies.
    let check = regent(&["policy", "check", "--config", "d/regent.toml"], tmp.path());
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert_eq!(text(&check.stderr), "");
    assert_eq!(text(&check.stdout).trim(), "ok: 6 rules");
    let out = regent(
        &["policy", "test", "--config", "d/regent.toml", "d/policies/tests/examples.test.toml"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn a_wrong_expectation_fails_naming_the_deciding_rule() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let wrong = "\
[[case]]
name = \"alice pushes to bob\"
who = \"user:alice\"
scope = \"repository:bob/app:pull,push\"
granted = [\"pull\", \"push\"]

[[case]]
who = \"anonymous\"
scope = \"repository:public/app:pull\"
granted = []

[[case]]
who = \"user:root\"
groups = [\"admins\"]
scope = \"registry:catalog:*\"
granted = [\"*\"]
";
    std::fs::write(tmp.path().join("wrong.test.toml"), wrong).expect("write");
    let policies = shipped("policies");
    let out =
        regent(&["policy", "test", "--policies", policies.to_str().unwrap(), "wrong.test.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "wrong.test.toml:1: case \"alice pushes to bob\": expected [pull, push], got [pull] \
             (push: no allow rule matched)"
                .to_owned(),
            format!(
                "wrong.test.toml:7: case \"anonymous repository:public/app:pull\": expected [], got [pull] \
                 (pull: allowed by {}:6)",
                policies.join("30-public.toml").display()
            ),
            "FAILED: 2 of 3 cases".to_owned(),
        ]
    );
}

#[test]
fn an_invalid_test_file_is_exit_status_2_with_its_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad =
        "[[case]]\nwho = \"user:alice\"\nscope = \"repository:a:pull\"\ngranted = [\"pull\"]\nexpect = 1\n";
    std::fs::write(tmp.path().join("bad.test.toml"), bad).expect("write");
    let policies = shipped("policies");
    let out =
        regent(&["policy", "test", "--policies", policies.to_str().unwrap(), "bad.test.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("bad.test.toml:5:1: unknown field `expect`"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");

    let missing =
        regent(&["policy", "test", "--policies", policies.to_str().unwrap(), "nope.toml"], tmp.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("nope.toml"), "{}", text(&missing.stderr));
}

#[test]
fn policy_check_warns_about_a_broad_grant_and_still_succeeds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(regent(&["init", "--dir", "d"], tmp.path()).status.success());
    let rule = "# everyone may push\n[[allow]]\nwho = [\"authenticated\"]\nrepositories = [\"*/**\"]\nactions = [\"*\"]\n";
    std::fs::write(tmp.path().join("d/policies/60-open.toml"), rule).expect("write");
    let check = regent(&["policy", "check", "--config", "d/regent.toml"], tmp.path());
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let stderr = text(&check.stderr);
    assert!(
        stderr.lines().any(|line| line.starts_with("warning: ")
            && line.contains("60-open.toml:2:1: broad grant: authenticated may push and delete on \"*/**\"")),
        "{stderr}"
    );
}
