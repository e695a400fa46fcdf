use std::fs;

use super::*;

const PULL_ALL: &str = "[[allow]]\nwho = [\"everyone\"]\nrepositories = [\"**\"]\nactions = [\"pull\"]\n";

#[test]
fn loads_toml_files_in_name_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("20-b.toml"), PULL_ALL).expect("write");
    fs::write(dir.path().join("10-a.toml"), format!("\n\n{PULL_ALL}")).expect("write");
    fs::write(dir.path().join("notes.txt"), "not toml [[").expect("write");
    fs::write(dir.path().join("30-c.toml.bak"), "not toml [[").expect("write");
    fs::write(dir.path().join(".#10-a.toml"), "not toml [[").expect("write");
    fs::create_dir(dir.path().join("40-dir.toml")).expect("mkdir");

    let loaded = PolicySet::load_dir(dir.path()).expect("loads");
    assert_eq!(loaded.warnings, Vec::<String>::new());
    assert_eq!(loaded.set.rule_count(), 2);
    let scopes = parse_scopes(["repository:a:pull"]).expect("valid scopes");
    let evaluation = loaded.set.evaluate(&Principal::Anonymous, &scopes);
    let first = RuleRef { file: dir.path().join("10-a.toml"), line: 3 };
    assert_eq!(evaluation.decisions[0].reason, Reason::Allowed(first));
}

#[test]
fn an_invalid_file_names_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("10-a.toml"), PULL_ALL).expect("write");
    fs::write(
        dir.path().join("20-b.toml"),
        "[[allow]]\nwho = []\nrepositories = [\"**\"]\nactions = [\"pull\"]\n",
    )
    .expect("write");
    let err = PolicySet::load_dir(dir.path()).expect_err("invalid");
    let expected = format!("{}:2:7: `who` must not be empty", dir.path().join("20-b.toml").display());
    assert_eq!(err.to_string(), expected);
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("policies");
    let err = PolicySet::load_dir(&missing).expect_err("missing");
    assert!(matches!(&err, PolicyError::Read { path, .. } if *path == missing));
    assert!(err.to_string().starts_with(&format!("{}: ", missing.display())), "{err}");
}

#[test]
fn an_empty_directory_warns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let loaded = PolicySet::load_dir(dir.path()).expect("loads");
    assert_eq!(loaded.set.rule_count(), 0);
    assert_eq!(
        loaded.warnings,
        [format!("{}: no policy rules: every request is denied", dir.path().display())]
    );
}

#[test]
fn a_directory_of_files_without_rules_warns_that_everything_is_denied() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("10-a.toml"), "# nothing yet\n").expect("write");
    let loaded = PolicySet::load_dir(dir.path()).expect("loads");
    assert_eq!(loaded.set.rule_count(), 0);
    assert_eq!(
        loaded.warnings,
        [
            format!("{}:1:1: no rules in this file", dir.path().join("10-a.toml").display()),
            format!("{}: no policy rules: every request is denied", dir.path().display()),
        ]
    );
}
