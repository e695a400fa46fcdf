//! Policy files (`[[allow]]`/`[[deny]]` rules) and their evaluation.
//!
//! The input is one policy file. Its comment lines `#? WHO SCOPE...` are requests to evaluate
//! (TOML ignores them): `WHO` is `-` for anonymous, else `NAME+GROUP+...` (a user of backend
//! `local`; a leading `~`: a backend that does not own the name). Without such lines a few
//! fixed requests are evaluated.
//!
//! Invariants: an error or warning names the file and a position in it; a grant never exceeds
//! what was requested and each granted action has a granting rule on a line of the file; the
//! token's `access` is exactly the granted decisions; a deny rule for everything appended to
//! the file leaves nothing granted; each scope evaluated alone grants what it grants in the
//! whole request.

#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use regent::policy::{Evaluation, PolicyError, PolicySet, PolicySource, Principal, Reason};
use regent::scope::{Access, Scope, parse_scopes};
use regent_fuzz::assert_position_in;

const FILE: &str = "fuzz.toml";
/// Denies every action on every resource.
const DENY_ALL: &str = "\n[[deny]]\nwho = [\"everyone\"]\nrepositories = [\"**\"]\nactions = [\"*\"]\n\
    [[deny]]\nwho = [\"everyone\"]\nregistry = [\"catalog\"]\nactions = [\"*\"]\n";
/// The requests evaluated when the input names none.
const DEFAULT_REQUESTS: &str = "#? - repository:public/app:pull,push registry:catalog:*\n\
    #? alice+developers repository:alice/app:* repository:team/app:pull,push,delete\n\
    #? ~alice+admins repository:alice/app:pull,push registry:catalog:* repository:x/y:*\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let set = match load(text) {
        Ok(set) => set,
        Err(PolicyError::Invalid { path, line, column, message }) => {
            assert_eq!(path, PathBuf::from(FILE));
            assert_position_in(text, line, column, &message);
            return;
        }
        Err(error) => panic!("parsing text reads nothing: {error}"),
    };
    let deny_all = load(&format!("{text}{DENY_ALL}")).ok();
    let requests = if text.contains("#?") { text } else { DEFAULT_REQUESTS };
    for (who, scopes) in requests.lines().filter_map(request) {
        let evaluation = set.evaluate(&who, &scopes);
        check_evaluation(text, &scopes, &evaluation);
        if let Some(deny_all) = &deny_all {
            let denied = deny_all.evaluate(&who, &scopes);
            assert!(denied.access.is_empty() && denied.granted().next().is_none(), "{denied:?}");
        }
        let mut alone: Vec<Access> = Vec::new();
        for scope in &scopes {
            for access in set.evaluate(&who, std::slice::from_ref(scope)).access {
                match alone
                    .iter_mut()
                    .find(|a| a.resource_type == access.resource_type && a.name == access.name)
                {
                    Some(merged) => merged.actions.extend(access.actions),
                    None => alone.push(access),
                }
            }
        }
        assert_eq!(as_sets(alone), as_sets(evaluation.access), "{scopes:?}");
    }
});

/// Access entries with their actions sorted and deduplicated, sorted by resource.
fn as_sets(mut access: Vec<Access>) -> Vec<Access> {
    for entry in &mut access {
        entry.actions.sort();
        entry.actions.dedup();
    }
    access.sort_by(|a, b| (&a.resource_type, &a.name).cmp(&(&b.resource_type, &b.name)));
    access
}

/// Parses `text` as the policy file [`FILE`], checking the warnings' positions.
fn load(text: &str) -> Result<PolicySet, PolicyError> {
    let loaded =
        PolicySet::from_sources(&[PolicySource { path: PathBuf::from(FILE), text: text.to_owned() }])?;
    for warning in &loaded.warnings {
        let rest = warning.strip_prefix(&format!("{FILE}:")).expect("a warning names the file");
        let mut parts = rest.splitn(3, ':');
        let mut number = || parts.next().and_then(|part| part.parse::<usize>().ok()).expect("line:col");
        let (line, column) = (number(), number());
        assert_position_in(text, line, column, warning);
    }
    Ok(loaded.set)
}

/// A `#? WHO SCOPE...` line as a principal and its scopes.
fn request(line: &str) -> Option<(Principal, Vec<Scope>)> {
    let mut words = line.strip_prefix("#?")?.split_whitespace();
    let who = match words.next()? {
        "-" => Principal::Anonymous,
        word => {
            let (owns_name, word) = match word.strip_prefix('~') {
                Some(rest) => (false, rest),
                None => (true, word),
            };
            let mut names = word.split('+').map(str::to_owned);
            let name = names.next()?;
            Principal::User { name, groups: names.collect(), backend: "local".to_owned(), owns_name }
        }
    };
    Some((who, parse_scopes(words).ok()?))
}

/// Grants are within the request, each backed by an allow rule on a line of `text`, and the
/// token's access is exactly the granted decisions.
fn check_evaluation(text: &str, scopes: &[Scope], evaluation: &Evaluation) {
    let lines = text.split('\n').count();
    for decision in &evaluation.decisions {
        let requested = scopes.iter().any(|scope| {
            scope.resource_type == decision.resource_type
                && scope.name == decision.name
                && scope.actions.contains(&decision.action)
        });
        assert!(requested, "{decision} was not asked for");
        match &decision.reason {
            Reason::Allowed(rule) => {
                assert!(decision.granted, "{decision}");
                assert!(rule.file == PathBuf::from(FILE) && (1..=lines).contains(&rule.line), "{decision}");
            }
            _ => assert!(!decision.granted, "{decision}"),
        }
    }
    for access in &evaluation.access {
        assert!(!access.actions.is_empty(), "{access:?}");
        for action in &access.actions {
            let backed = evaluation.granted().any(|decision| {
                decision.resource_type == access.resource_type
                    && decision.name == access.name
                    && (decision.action == *action || decision.action == "*")
            });
            assert!(backed, "{action} on {} was granted by no decision", access.name);
            let explicit = access.resource_type == "registry" || action != "*";
            assert!(explicit, "a repository grant lists explicit actions: {access:?}");
        }
    }
    for decision in evaluation.granted() {
        let access = evaluation
            .access
            .iter()
            .find(|a| a.resource_type == decision.resource_type && a.name == decision.name);
        let access = access.unwrap_or_else(|| panic!("{decision} is missing from the access"));
        let listed = access.actions.contains(&decision.action)
            || (decision.action == "*" && access.resource_type == "repository");
        assert!(listed, "{decision} is missing from {access:?}");
    }
}
