//! `regent authn test USER`: the steps, the outcome, the policy subjects and the exit status,
//! against a data directory made by `regent init` and `regent passwd`; never the password.

use std::process::Output;

use crate::fixtures::regent_with_stdin as regent;

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn authn_test_prints_steps_outcome_and_subjects_but_never_the_password() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(regent(&["init", "--dir", "d"], tmp.path(), None).status.success());
    let config = "d/regent.toml";
    let set =
        regent(&["passwd", "--config", config, "--cost", "4", "alice"], tmp.path(), Some(b"Sup3r-s3cret\n"));
    assert!(set.status.success(), "{}", text(&set));
    std::fs::write(tmp.path().join("d/groups"), "developers: alice\nadmins: bob\n").expect("groups");

    let ok = regent(&["authn", "test", "--config", config, "alice"], tmp.path(), Some(b"Sup3r-s3cret\n"));
    let out = text(&ok);
    assert_eq!(ok.status.code(), Some(0), "{out}");
    assert!(out.contains("backends in order: local"), "{out}");
    assert!(out.contains("  local: authenticated as \"alice\", groups [\"developers\"]"), "{out}");
    assert!(out.contains("outcome: authenticated by \"local\" as \"alice\""), "{out}");
    assert!(out.contains("policy subjects: user:alice user:local/alice group:developers group:local/developers authenticated everyone"), "{out}");
    assert!(!out.contains("Sup3r-s3cret"), "the password is printed: {out}");

    let wrong = regent(&["authn", "test", "--config", config, "alice"], tmp.path(), Some(b"Wr0ng-guess\n"));
    let out = text(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{out}");
    assert!(out.contains("  local: wrong password"), "{out}");
    assert!(out.contains("outcome: wrong password (/token answers 401)"), "{out}");
    assert!(!out.contains("Wr0ng-guess") && !out.contains("policy subjects"), "{out}");

    let unknown =
        regent(&["authn", "test", "--config", config, "nobody"], tmp.path(), Some(b"Whatever-pw\n"));
    let out = text(&unknown);
    assert_eq!(unknown.status.code(), Some(1), "{out}");
    assert!(out.contains("  local: no such user") && out.contains("no backend knows this user"), "{out}");
    assert!(!out.contains("Whatever-pw"), "{out}");

    // A name /token refuses is refused here too, before any backend (and before the password).
    let spaced =
        regent(&["authn", "test", "--config", config, "alice "], tmp.path(), Some(b"Sup3r-s3cret\n"));
    let out = text(&spaced);
    assert_eq!(spaced.status.code(), Some(1), "{out}");
    assert!(out.contains("starts or ends with whitespace: /token refuses this name (400)"), "{out}");
    assert!(!out.contains("local:") && !out.contains("policy subjects"), "{out}");
}
