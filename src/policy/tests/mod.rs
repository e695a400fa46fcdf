//! Tests of the whole policy module: evaluation tables, directory loading, the shipped examples.

mod eval;
mod examples;
mod grants;
mod load_dir;
mod robots;
mod subjects;

use super::*;
use crate::scope::parse_scopes;
use crate::subject::SubjectKind;

/// A user with groups, from a backend `local` that owns the name.
fn user(name: &str, groups: &[&str]) -> Principal {
    user_from("local", true, name, groups)
}

/// A user with groups from `backend`, which may or may not own the name.
fn user_from(backend: &str, owns_name: bool, name: &str, groups: &[&str]) -> Principal {
    Principal::User {
        kind: SubjectKind::Person,
        name: name.to_owned(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        backend: backend.to_owned(),
        owns_name,
        claims: Vec::new(),
    }
}

/// Loads one policy text named `test.toml`, insisting on no warnings.
fn policy(text: &str) -> PolicySet {
    let source = PolicySource { path: PathBuf::from("test.toml"), text: text.to_owned() };
    let loaded = PolicySet::from_sources(&[source]).expect("valid policy");
    assert_eq!(loaded.warnings, Vec::<String>::new());
    loaded.set
}

/// The access entries as `type:name:actions` strings.
fn access_of(set: &PolicySet, who: &Principal, scopes: &str) -> Vec<String> {
    let scopes = parse_scopes([scopes]).expect("valid scopes");
    set.evaluate(who, &scopes)
        .access
        .iter()
        .map(|a| format!("{}:{}:{}", a.resource_type, a.name, a.actions.join(",")))
        .collect()
}

/// The decisions, rendered with `Display`.
fn decisions_of(set: &PolicySet, who: &Principal, scopes: &str) -> Vec<String> {
    let scopes = parse_scopes([scopes]).expect("valid scopes");
    let evaluation = set.evaluate(who, &scopes);
    evaluation.decisions.iter().map(ToString::to_string).collect()
}
