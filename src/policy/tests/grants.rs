//! Properties of evaluation over generated rule sets: a grant never exceeds what a rule allows
//! (checked against a direct reading of the rules with the glob reference matcher), every
//! action the rules allow is granted, and narrowed to a credential's ceiling the grant is
//! exactly the part the ceiling allows.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::policy::glob::linear_tests::{pattern_text, reference};
use crate::subject::{Ceiling, Claim};

/// One generated rule, before it is written as TOML.
#[derive(Debug, Clone)]
struct GenRule {
    /// `[[allow]]` or `[[deny]]`.
    allow: bool,
    /// The `who` entries.
    who: Vec<&'static str>,
    /// Repository patterns; `None`: `registry = ["catalog"]`.
    repositories: Option<Vec<String>>,
    /// The actions.
    actions: Vec<&'static str>,
}

/// Per requested resource `(type, name)`, the granted actions.
type Grants = BTreeMap<(String, String), BTreeSet<String>>;

const SUBJECTS: [&str; 13] = [
    "user:a",
    "user:ab",
    "user:local/a",
    "user:corp/ab",
    "robot:a",
    "robot:corp/ab",
    "claim:project:x",
    "claim:corp/project:y",
    "group:dev",
    "group:corp/ops",
    "authenticated",
    "anonymous",
    "everyone",
];

fn rule() -> impl Strategy<Value = GenRule> {
    let who = prop::collection::vec(prop::sample::select(SUBJECTS.to_vec()), 1..3);
    let repositories = prop_oneof![
        1 => Just(None),
        6 => prop::collection::vec(pattern_text(), 1..3).prop_map(Some),
    ];
    let actions = prop::collection::vec(prop::sample::select(vec!["pull", "push", "delete", "*"]), 1..3);
    (any::<bool>(), who, repositories, actions).prop_map(|(allow, who, repositories, actions)| GenRule {
        allow,
        who,
        repositories,
        actions,
    })
}

fn principal() -> impl Strategy<Value = Principal> {
    let user = (
        prop::sample::select(vec!["a", "ab", "b-a"]),
        prop::sample::subsequence(vec!["dev", "ops"], 0..=2),
        prop::sample::select(vec!["local", "corp"]),
        any::<bool>(),
        any::<bool>(),
        prop::sample::subsequence(vec!["project:x", "project:y"], 0..=2),
    )
        .prop_map(|(name, groups, backend, owns_name, robot, claims)| {
            let mut who = user_from(backend, owns_name, name, &groups);
            if let Principal::User { kind, claims: held, .. } = &mut who {
                *kind = if robot { SubjectKind::Robot } else { SubjectKind::Person };
                *held = claims.into_iter().map(|claim| Claim::parse(claim).unwrap()).collect();
            }
            who
        });
    prop_oneof![1 => Just(Principal::Anonymous), 4 => user]
}

/// Valid repository names from the patterns' alphabet, so that many of them match.
fn repository_name() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec!["a", "b", "ab", "a-b", "b-a", "ba"]);
    prop::collection::vec(segment, 1..4).prop_map(|segments| segments.join("/"))
}

fn scope_text() -> impl Strategy<Value = String> {
    let actions =
        prop::collection::vec(prop::sample::select(vec!["pull", "push", "delete", "*", "other"]), 1..4);
    let resource = prop_oneof![
        6 => repository_name().prop_map(|name| format!("repository:{name}")),
        1 => Just("registry:catalog".to_owned()),
        1 => Just("registry:other".to_owned()),
    ];
    (resource, actions).prop_map(|(resource, actions)| format!("{resource}:{}", actions.join(",")))
}

/// The rules as one policy file.
fn toml_of(rules: &[GenRule]) -> String {
    let list = |items: &[&str]| items.iter().map(|item| format!("{item:?}")).collect::<Vec<_>>().join(", ");
    let mut text = String::new();
    for rule in rules {
        text.push_str(if rule.allow { "[[allow]]\n" } else { "[[deny]]\n" });
        text.push_str(&format!("who = [{}]\n", list(&rule.who)));
        match &rule.repositories {
            Some(patterns) => {
                let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
                text.push_str(&format!("repositories = [{}]\n", list(&patterns)));
            }
            None => text.push_str("registry = [\"catalog\"]\n"),
        }
        text.push_str(&format!("actions = [{}]\n\n", list(&rule.actions)));
    }
    text
}

/// Whether `subject` (a `who` entry) names `who`, read from the README's rules.
fn names(subject: &str, who: &Principal) -> bool {
    let Principal::User { kind, name, groups, backend, owns_name, claims } = who else {
        return matches!(subject, "anonymous" | "everyone");
    };
    match subject {
        "everyone" | "authenticated" => true,
        "anonymous" => false,
        _ => {
            let (prefix, rest) = subject.split_once(':').expect("kind:name");
            let (wanted_backend, wanted) = match rest.split_once('/') {
                Some((wanted_backend, wanted)) => (Some(wanted_backend), wanted),
                None => (None, rest),
            };
            let from = wanted_backend.is_none_or(|wanted_backend| wanted_backend == backend);
            let owned = wanted_backend.is_some() || *owns_name;
            match prefix {
                "user" | "robot" => from && owned && prefix == kind.prefix() && wanted == name,
                "claim" => from && claims.iter().any(|claim| claim.to_string() == format!("claim:{wanted}")),
                _ => from && groups.iter().any(|group| group == wanted),
            }
        }
    }
}

/// Whether `rule` applies to `who` doing `action` on `(resource_type, name)`.
fn applies(rule: &GenRule, who: &Principal, resource_type: &str, name: &str, action: &str) -> bool {
    let user = match who {
        Principal::User { kind: SubjectKind::Person, name, owns_name: true, .. } => Some(name.as_str()),
        _ => None,
    };
    let named_action = rule.actions.iter().any(|named| *named == action || *named == "*");
    rule.who.iter().any(|subject| names(subject, who))
        && match (&rule.repositories, resource_type) {
            (Some(patterns), "repository") => {
                named_action && patterns.iter().any(|pattern| reference(pattern, name, user))
            }
            (None, "registry") => name == "catalog" && action == "*" && rule.actions.contains(&"*"),
            _ => false,
        }
}

/// What the rules allow for the request: per resource, each known action some allow rule
/// applies to and no deny rule does (`*` on a repository stands for pull, push and delete).
fn allowed(rules: &[GenRule], who: &Principal, scopes: &[Scope]) -> Grants {
    let mut grants = Grants::new();
    for scope in scopes {
        for action in &scope.actions {
            let candidates: &[&str] = match (scope.resource_type.as_str(), action.as_str()) {
                ("repository", "*") => &["pull", "push", "delete"],
                ("repository", "pull") => &["pull"],
                ("repository", "push") => &["push"],
                ("repository", "delete") => &["delete"],
                ("registry", "*") => &["*"],
                _ => &[],
            };
            for candidate in candidates {
                let by = |allow: bool| {
                    rules
                        .iter()
                        .filter(|rule| rule.allow == allow)
                        .any(|rule| applies(rule, who, &scope.resource_type, &scope.name, candidate))
                };
                if by(true) && !by(false) {
                    let resource = (scope.resource_type.clone(), scope.name.clone());
                    grants.entry(resource).or_default().insert((*candidate).to_owned());
                }
            }
        }
    }
    grants
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn grants_never_exceed_what_a_rule_allows(
        rules in prop::collection::vec(rule(), 0..6),
        who in principal(),
        scopes in prop::collection::vec(scope_text(), 1..4),
        ceiling in prop::collection::vec(scope_text(), 0..3),
    ) {
        let text = toml_of(&rules);
        let source = PolicySource { path: PathBuf::from("gen.toml"), text: text.clone() };
        let set = PolicySet::from_sources(&[source]).expect("generated rules are valid").set;
        let scopes = parse_scopes(scopes.iter().map(String::as_str)).expect("generated scopes are valid");
        let evaluation = set.evaluate(&who, &scopes);
        let granted = grants_of(&evaluation);
        let allowed = allowed(&rules, &who, &scopes);
        for (resource, actions) in &granted {
            let permitted = allowed.get(resource).cloned().unwrap_or_default();
            prop_assert!(
                actions.is_subset(&permitted),
                "{:?} granted {:?}, the rules allow {:?}, as {:?}\n{}", resource, actions, permitted, who, text
            );
        }
        prop_assert_eq!(&granted, &allowed, "as {:?}\n{}", who, text);
        for decision in evaluation.decisions.iter().filter(|decision| decision.granted) {
            let Reason::Allowed(rule) = &decision.reason else {
                panic!("{decision} without an allow rule");
            };
            let header = text.lines().nth(rule.line - 1).unwrap_or_default();
            prop_assert_eq!(header, "[[allow]]", "{} names line {}", decision, rule.line);
        }

        let ceiling = Ceiling::parse(ceiling.iter().map(String::as_str)).expect("generated scopes are valid");
        let narrowed = grants_of(&evaluation.within(&ceiling));
        let mut within = allowed;
        for ((resource_type, name), actions) in &mut within {
            actions.retain(|action| ceiling.allows(resource_type, name, action));
        }
        within.retain(|_, actions| !actions.is_empty());
        for (resource, actions) in &narrowed {
            let permitted = within.get(resource).cloned().unwrap_or_default();
            prop_assert!(actions.is_subset(&permitted), "{:?} granted {:?} within {}", resource, actions, ceiling);
        }
        prop_assert_eq!(&narrowed, &within, "within {}", ceiling);
    }
}

/// An evaluation's access as [`Grants`].
fn grants_of(evaluation: &Evaluation) -> Grants {
    let entries = evaluation.access.iter().map(|access| {
        let actions = access.actions.iter().cloned().collect();
        ((access.resource_type.clone(), access.name.clone()), actions)
    });
    entries.collect()
}
