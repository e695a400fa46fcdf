//! logrotate's `create` flow on the audit file: rename it, create a new one, SIGHUP. Lines go
//! on to the renamed file until the signal, then to the new one; none is lost. And another
//! `audit_file` in `regent.toml` applies on reload.

use std::os::unix::fs::PermissionsExt;

use nix::sys::signal::Signal;

use super::{audit_lines, base, token};
use crate::fixtures::{HttpResponse, claims};
use crate::served::{ConfigText, Served};

fn jti(answer: &HttpResponse) -> serde_json::Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    claims(answer.json()["token"].as_str().expect("token"))["jti"].clone()
}

#[test]
fn the_audit_file_is_reopened_after_a_rename_and_sighup() {
    let mut config = ConfigText::new();
    config.tables = "[log]\naudit_file = \"audit.log\"\n".into();
    let served = Served::start(config);
    let base = base(&served);
    let (path, rotated) = (served.dir().join("audit.log"), served.dir().join("audit.log.1"));
    let pull = ["repository:public/tool:pull"];
    let mode = std::fs::metadata(&path).expect("created at start").permissions().mode();
    assert_eq!(mode & 0o007, 0, "not world-readable: {mode:o}");

    let first = jti(&token(&base, None, &pull, ""));
    assert_eq!(audit_lines(&path, 1)[0]["jti"], first);
    std::fs::rename(&path, &rotated).expect("rename");
    let second = jti(&token(&base, Some(("alice", "alice-pw")), &pull, ""));
    let old = audit_lines(&rotated, 2);
    assert_eq!((&old[0]["jti"], &old[1]["jti"]), (&first, &second), "still the renamed file until SIGHUP");
    std::fs::write(&path, "").expect("logrotate's create");
    served.server.signal(Signal::SIGHUP);
    served.server.wait_for_lines("SIGHUP: reopened the audit file", 1);
    let third = jti(&token(&base, Some(("bob", "bob-pw")), &pull, ""));
    let new = audit_lines(&path, 1);
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!((&new[0]["jti"], &new[0]["user"]), (&third, &serde_json::json!("bob")));
    assert_eq!(audit_lines(&rotated, 2).len(), 2, "nothing more in the rotated file");
    // A second rotation without `create`: regent creates the file itself.
    std::fs::rename(&path, served.dir().join("audit.log.2")).expect("rename");
    served.server.signal(Signal::SIGHUP);
    served.server.wait_for_lines("SIGHUP: reopened the audit file", 2);
    let fourth = jti(&token(&base, None, &pull, ""));
    assert_eq!(audit_lines(&path, 1)[0]["jti"], fourth);
}

#[test]
fn a_new_audit_file_in_regent_toml_applies_without_a_restart() {
    let mut config = ConfigText::new();
    config.tables = "[log]\naudit_file = \"audit.log\"\n".into();
    let served = Served::start(config.clone());
    let base = base(&served);
    let pull = ["repository:public/tool:pull"];
    let first = jti(&token(&base, None, &pull, ""));
    assert_eq!(audit_lines(&served.dir().join("audit.log"), 1)[0]["jti"], first);
    config.tables = "[log]\naudit_file = \"moved.log\"\n".into();
    served.rewrite(&config);
    served.server.wait_for_lines("applied the new configuration", 1);
    let second = jti(&token(&base, None, &pull, ""));
    assert_eq!(audit_lines(&served.dir().join("moved.log"), 1)[0]["jti"], second);
    let old = audit_lines(&served.dir().join("audit.log"), 1);
    assert_eq!(old.len(), 1, "the old file got nothing more: {old:#?}");
}
