//! Evaluation: every requested action against the rules; deny wins, then allow, else denied.

use super::glob::is_valid_repository_name;
use super::rule::{Action, Effect, Resource, Rule};
use super::{Decision, Evaluation, Principal, Reason};
use crate::scope::{Access, Scope};

/// The repository actions in token order.
const REPOSITORY_ACTIONS: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];

/// The granted actions collected for one requested resource.
struct Grant {
    /// The resource type.
    resource_type: String,
    /// The resource name.
    name: String,
    /// The granted actions (`*` only for registry resources).
    actions: Vec<Action>,
}

/// Decides every requested action of `scopes` for `who` against `rules`.
pub(crate) fn evaluate(rules: &[Rule], who: &Principal, scopes: &[Scope]) -> Evaluation {
    let mut grants: Vec<Grant> = Vec::new();
    let mut decisions: Vec<Decision> = Vec::new();
    for scope in scopes {
        let position = match grants
            .iter()
            .position(|g| g.resource_type == scope.resource_type && g.name == scope.name)
        {
            Some(position) => position,
            None => {
                grants.push(Grant {
                    resource_type: scope.resource_type.clone(),
                    name: scope.name.clone(),
                    actions: Vec::new(),
                });
                grants.len() - 1
            }
        };
        for action in &scope.actions {
            let already_decided = decisions.iter().any(|d| {
                d.resource_type == scope.resource_type && d.name == scope.name && d.action == *action
            });
            if already_decided {
                continue;
            }
            let (granted_actions, reason) = decide_requested(rules, who, scope, action);
            let grant = &mut grants[position];
            for granted in &granted_actions {
                if !grant.actions.contains(granted) {
                    grant.actions.push(*granted);
                }
            }
            decisions.push(Decision {
                resource_type: scope.resource_type.clone(),
                name: scope.name.clone(),
                action: action.clone(),
                granted: !granted_actions.is_empty(),
                reason,
            });
        }
    }
    let access = grants
        .into_iter()
        .filter(|grant| !grant.actions.is_empty())
        .map(|grant| Access {
            resource_type: grant.resource_type,
            name: grant.name,
            actions: [Action::Pull, Action::Push, Action::Delete, Action::All]
                .into_iter()
                .filter(|action| grant.actions.contains(action))
                .map(|action| action.as_str().to_owned())
                .collect(),
        })
        .collect();
    Evaluation { access, decisions }
}

/// Decides one requested action: the actions it grants (several for a repository `*`) and why.
fn decide_requested(rules: &[Rule], who: &Principal, scope: &Scope, action: &str) -> (Vec<Action>, Reason) {
    let (resource, candidates) = match (scope.resource_type.as_str(), Action::parse(action)) {
        ("repository", Some(Action::All)) => (Resource::Repository(&scope.name), REPOSITORY_ACTIONS.to_vec()),
        ("repository", Some(known)) => (Resource::Repository(&scope.name), vec![known]),
        ("registry", Some(Action::All)) => (Resource::Registry(&scope.name), vec![Action::All]),
        ("repository" | "registry", _) => return (Vec::new(), Reason::UnknownAction),
        _ => return (Vec::new(), Reason::UnknownResourceType),
    };
    if let Resource::Repository(name) = resource
        && !is_valid_repository_name(name)
    {
        return (Vec::new(), Reason::NoAllowRule);
    }
    let reasons: Vec<(Action, Reason)> = candidates
        .into_iter()
        .map(|candidate| (candidate, decide(rules, who, resource, candidate)))
        .collect();
    let granted: Vec<Action> = reasons
        .iter()
        .filter(|(_, reason)| matches!(reason, Reason::Allowed(_)))
        .map(|(action, _)| *action)
        .collect();
    // The reason shown for `*`: the first grant, else the first deny rule, else no allow rule.
    let shown = reasons
        .iter()
        .map(|(_, reason)| reason)
        .find(|reason| matches!(reason, Reason::Allowed(_)))
        .or_else(|| {
            reasons.iter().map(|(_, reason)| reason).find(|reason| matches!(reason, Reason::DeniedBy(_)))
        })
        .cloned()
        .unwrap_or(Reason::NoAllowRule);
    (granted, shown)
}

/// Decides one known action on one resource.
fn decide(rules: &[Rule], who: &Principal, resource: Resource<'_>, action: Action) -> Reason {
    let first = |effect: Effect| {
        rules.iter().filter(|rule| rule.effect == effect).find(|rule| rule.matches(who, resource, action))
    };
    match (first(Effect::Deny), first(Effect::Allow)) {
        (Some(deny), _) => Reason::DeniedBy(deny.at.clone()),
        (None, Some(allow)) => Reason::Allowed(allow.at.clone()),
        (None, None) => Reason::NoAllowRule,
    }
}
