//! Policy files (`[[allow]]`/`[[deny]]` rules), their evaluation, and the narrowing of a grant
//! to a credential's scope ceiling.
//!
//! The input is one policy file. Its comment lines (TOML ignores them) say what to evaluate:
//! `#? WHO SCOPE...` is a request, where `WHO` is `-` for anonymous, else
//! `[~][%]NAME[+GROUP|+KEY:VALUE]...`: a person (`%`: a robot) of backend `local` (`~`: a
//! backend that does not own the name) with groups and claims; `#! SCOPE...` is a ceiling every
//! request is also narrowed to. Without `#?` lines a few fixed requests are evaluated.
//!
//! Invariants: an error or warning names the file and a position in it; a grant never exceeds
//! what was requested and each granted action has a granting rule on a line of the file; the
//! token's `access` is exactly the granted decisions; a deny rule for everything appended to
//! the file leaves nothing granted; each scope evaluated alone grants what it grants in the
//! whole request; narrowed to a ceiling, the grant is the part of the grant the ceiling allows.

#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use regent::policy::{Evaluation, PolicyError, PolicySet, PolicySource, Principal, Reason};
use regent::scope::{Access, Scope, parse_scopes};
use regent::subject::{Ceiling, Claim, SubjectKind};
use regent_fuzz::assert_position_in;

const FILE: &str = "fuzz.toml";
/// Denies every action on every resource.
const DENY_ALL: &str = "\n[[deny]]\nwho = [\"everyone\"]\nrepositories = [\"**\"]\nactions = [\"*\"]\n\
    [[deny]]\nwho = [\"everyone\"]\nregistry = [\"catalog\"]\nactions = [\"*\"]\n";
/// The requests evaluated when the input names none.
const DEFAULT_REQUESTS: &str = "#? - repository:public/app:pull,push registry:catalog:*\n\
    #? alice+developers repository:alice/app:* repository:team/app:pull,push,delete\n\
    #? ~alice+admins repository:alice/app:pull,push registry:catalog:* repository:x/y:*\n\
    #? %ci+project:team/app repository:team/app:pull,push repository:ci/cache:*\n";

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
    let ceiling =
        text.lines().find_map(|line| Ceiling::parse(line.strip_prefix("#!")?.split_whitespace()).ok());
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
        assert_eq!(as_sets(alone), as_sets(evaluation.access.clone()), "{scopes:?}");
        if let Some(ceiling) = &ceiling {
            check_narrowed(text, &scopes, &evaluation, ceiling);
        }
    }
});

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
            let (kind, word) = match word.strip_prefix('%') {
                Some(rest) => (SubjectKind::Robot, rest),
                None => (SubjectKind::Person, word),
            };
            let mut parts = word.split('+');
            let name = parts.next()?.to_owned();
            let (mut groups, mut claims) = (Vec::new(), Vec::new());
            for part in parts {
                match part.contains(':') {
                    true => claims.push(Claim::parse(part).ok()?),
                    false => groups.push(part.to_owned()),
                }
            }
            Principal::User { kind, name, groups, backend: "local".to_owned(), owns_name, claims }
        }
    };
    Some((who, parse_scopes(words).ok()?))
}

/// Access entries with their actions sorted and deduplicated, sorted by resource.
fn as_sets(mut access: Vec<Access>) -> Vec<Access> {
    for entry in &mut access {
        entry.actions.sort();
        entry.actions.dedup();
    }
    access.sort_by(|a, b| (&a.resource_type, &a.name).cmp(&(&b.resource_type, &b.name)));
    access
}

/// Whether `scopes` ask for `action` on the resource, or for `*` on it.
fn asked(scopes: &[Scope], resource_type: &str, name: &str, action: &str, star_too: bool) -> bool {
    scopes.iter().any(|scope| {
        scope.resource_type == resource_type
            && scope.name == name
            && scope.actions.iter().any(|asked| asked == action || (star_too && asked == "*"))
    })
}

/// Grants are within the request, each backed by an allow rule on a line of `text`, and the
/// token's access is exactly the granted decisions.
fn check_evaluation(text: &str, scopes: &[Scope], evaluation: &Evaluation) {
    let lines = text.split('\n').count();
    for decision in &evaluation.decisions {
        let requested = asked(scopes, &decision.resource_type, &decision.name, &decision.action, false);
        assert!(requested, "{decision} was not asked for");
        match &decision.reason {
            Reason::Allowed(rule) => {
                assert!(decision.granted, "{decision}");
                assert!(rule.file == PathBuf::from(FILE) && (1..=lines).contains(&rule.line), "{decision}");
            }
            _ => assert!(!decision.granted, "{decision}"),
        }
    }
    check_access_matches_decisions(evaluation);
}

/// Every action of `access` is backed by a granted decision, and every granted decision is in
/// `access`; a repository grant lists explicit actions.
fn check_access_matches_decisions(evaluation: &Evaluation) {
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

/// Narrowed to `ceiling`, the access is exactly the part of the policies' access the ceiling
/// allows, a decision is granted only with an allow rule, and only what the request asked for
/// (or the actions of a `*` it asked for) is decided.
fn check_narrowed(text: &str, scopes: &[Scope], evaluation: &Evaluation, ceiling: &Ceiling) {
    let narrowed = evaluation.clone().within(ceiling);
    let mut expected = evaluation.access.clone();
    for entry in &mut expected {
        entry.actions.retain(|action| ceiling.allows(&entry.resource_type, &entry.name, action));
    }
    expected.retain(|entry| !entry.actions.is_empty());
    assert_eq!(as_sets(narrowed.access.clone()), as_sets(expected), "narrowed to {ceiling}");
    let lines = text.split('\n').count();
    for decision in &narrowed.decisions {
        let requested = asked(scopes, &decision.resource_type, &decision.name, &decision.action, true);
        assert!(requested, "{decision} was not asked for");
        match &decision.reason {
            Reason::Allowed(rule) => {
                assert!(decision.granted && (1..=lines).contains(&rule.line), "{decision}")
            }
            _ => assert!(!decision.granted, "{decision}"),
        }
    }
    check_access_matches_decisions(&narrowed);
}
