use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::policy::{PolicySet, PolicySource, Principal};
use crate::scope::{Scope, parse_scopes};
use crate::subject::SubjectKind;

const POLICY: &str = r#"
[[allow]]
who = ["robot:ci"]
repositories = ["team/**"]
actions = ["*"]

[[allow]]
who = ["robot:ci"]
registry = ["catalog"]
actions = ["*"]
"#;

fn set(text: &str) -> PolicySet {
    let source = PolicySource { path: PathBuf::from("p.toml"), text: text.to_owned() };
    PolicySet::from_sources(&[source]).expect("valid policy").set
}

fn robot() -> Principal {
    Principal::User {
        kind: SubjectKind::Robot,
        name: "ci".into(),
        groups: vec![],
        backend: "tokens".into(),
        owns_name: true,
        claims: vec![],
    }
}

/// `(access as type:name:actions, decisions as text)` for `scopes` within `ceiling`.
fn within(scopes: &str, ceiling: &[&str]) -> (Vec<String>, Vec<String>) {
    let scopes = parse_scopes([scopes]).unwrap();
    let evaluation =
        set(POLICY).evaluate(&robot(), &scopes).within(&Ceiling::parse(ceiling.iter().copied()).unwrap());
    let access = evaluation
        .access
        .iter()
        .map(|a| format!("{}:{}:{}", a.resource_type, a.name, a.actions.join(",")))
        .collect();
    (access, evaluation.decisions.iter().map(ToString::to_string).collect())
}

#[test]
fn the_grant_is_the_intersection_and_each_removed_action_says_why() {
    let (access, decisions) =
        within("repository:team/app:pull,push repository:team/other:pull", &["repository:team/app:pull"]);
    assert_eq!(access, ["repository:team/app:pull"]);
    assert_eq!(
        decisions,
        [
            "repository:team/app:pull granted (allowed by p.toml:2)",
            "repository:team/app:push denied (outside the credential's scope)",
            "repository:team/other:pull denied (outside the credential's scope)",
        ]
    );
}

#[test]
fn a_narrowed_star_stays_granted_and_lists_the_removed_actions() {
    let (access, decisions) = within("repository:team/app:*", &["repository:team/app:pull,delete"]);
    assert_eq!(access, ["repository:team/app:pull,delete"]);
    assert_eq!(
        decisions,
        [
            "repository:team/app:* granted (allowed by p.toml:2)",
            "repository:team/app:push denied (outside the credential's scope)",
        ]
    );
    // An action the request decides itself is not listed twice.
    let (_, decisions) = within("repository:team/app:*,push", &["repository:team/app:pull"]);
    assert_eq!(
        decisions,
        [
            "repository:team/app:* granted (allowed by p.toml:2)",
            "repository:team/app:delete denied (outside the credential's scope)",
            "repository:team/app:push denied (outside the credential's scope)",
        ]
    );
}

#[test]
fn ceiling_stars_registry_resources_and_policy_denials() {
    let (access, _) = within(
        "repository:team/app:pull,push registry:catalog:*",
        &["repository:team/app:*", "registry:catalog:*"],
    );
    assert_eq!(access, ["repository:team/app:pull,push", "registry:catalog:*"]);
    let (access, decisions) = within("registry:catalog:*", &["repository:team/app:*"]);
    assert_eq!(access, Vec::<String>::new());
    assert_eq!(decisions, ["registry:catalog:* denied (outside the credential's scope)"]);
    // Denied by the policies: the ceiling allowing it changes nothing, the reason stays.
    let (access, decisions) = within("repository:other/app:pull", &["repository:other/app:pull"]);
    assert_eq!(access, Vec::<String>::new());
    assert_eq!(decisions, ["repository:other/app:pull denied (no allow rule matched)"]);
}

/// Repository names, actions and scopes drawn from small sets so that they collide often.
fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["team/a", "team/b", "other/a", "x"]).prop_map(str::to_owned)
}

fn actions() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(vec!["pull", "push", "delete", "*"]), 1..4)
        .prop_map(|actions| actions.into_iter().map(str::to_owned).collect())
}

fn scope() -> impl Strategy<Value = Scope> {
    (name(), actions()).prop_map(|(name, mut actions)| {
        actions.dedup();
        Scope { resource_type: "repository".into(), name, actions }
    })
}

/// A random rule `[[allow]]`/`[[deny]]` for the robot on one pattern with some actions.
fn rule() -> impl Strategy<Value = String> {
    let pattern = prop::sample::select(vec!["team/**", "team/a", "**", "*/a", "x"]);
    (any::<bool>(), pattern, actions()).prop_map(|(allow, pattern, actions)| {
        let actions: Vec<String> = actions.iter().map(|a| format!("{a:?}")).collect();
        let effect = if allow { "allow" } else { "deny" };
        format!(
            "[[{effect}]]\nwho = [\"robot:ci\"]\nrepositories = [\"{pattern}\"]\nactions = [{}]\n",
            actions.join(", ")
        )
    })
}

/// The granted `(name, action)` pairs of an access list.
fn pairs(access: &[crate::scope::Access]) -> Vec<(String, String)> {
    access.iter().flat_map(|a| a.actions.iter().map(|action| (a.name.clone(), action.clone()))).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The grant never exceeds the policies or the ceiling, and is exactly their intersection;
    /// every granted action the ceiling removed has a decision saying so.
    #[test]
    fn the_grant_never_exceeds_the_policies_or_the_ceiling(
        rules in prop::collection::vec(rule(), 0..5),
        scopes in prop::collection::vec(scope(), 1..5),
        ceiling in prop::collection::vec(scope(), 0..4),
    ) {
        let set = set(&rules.join("\n"));
        let ceiling = Ceiling::new(ceiling);
        let policy = set.evaluate(&robot(), &scopes);
        let narrowed = policy.clone().within(&ceiling);
        let (before, after) = (pairs(&policy.access), pairs(&narrowed.access));
        for (name, action) in &after {
            prop_assert!(before.contains(&(name.clone(), action.clone())), "{name}:{action} beyond the policies");
            prop_assert!(ceiling.allows("repository", name, action), "{name}:{action} beyond the ceiling");
        }
        for (name, action) in &before {
            let kept = after.contains(&(name.clone(), action.clone()));
            prop_assert_eq!(kept, ceiling.allows("repository", name, action), "{}:{}", name, action);
            if !kept {
                let said = narrowed.decisions.iter().any(|d| {
                    &d.name == name
                        && !d.granted
                        && d.reason == Reason::OutsideCredentialScope
                        && (d.action == *action || d.action == "*")
                });
                prop_assert!(said, "{}:{} removed without a decision: {:?}", name, action, narrowed.decisions);
            }
        }
        // Policy denials are kept as they were; nothing the policies denied becomes granted.
        for decision in policy.denied() {
            prop_assert!(narrowed.decisions.contains(decision));
        }
        prop_assert!(narrowed.granted().count() <= policy.granted().count());
    }
}
