//! Narrowing an evaluation to a credential's [`Ceiling`]: the grant is the intersection of what
//! the policies give and what the ceiling allows, and every action the ceiling removes says so
//! ([`Reason::OutsideCredentialScope`]).

use super::{Decision, Evaluation, Reason};
use crate::subject::Ceiling;

impl Evaluation {
    /// The evaluation narrowed to `ceiling` (applied after the policies, before signing).
    ///
    /// - `access` keeps only the actions `ceiling` allows; resources left without any are dropped.
    /// - A granted decision whose action the ceiling removes entirely becomes denied with
    ///   [`Reason::OutsideCredentialScope`]. A granted repository `*` the ceiling only narrows
    ///   stays granted, and each action removed from it gets a denied decision of its own, right
    ///   after it (unless the request decided that action separately).
    /// - Denied decisions keep the policies' reason.
    pub fn within(self, ceiling: &Ceiling) -> Evaluation {
        let Evaluation { access, decisions } = self;
        let narrowed = access
            .iter()
            .cloned()
            .filter_map(|mut entry| {
                entry.actions.retain(|action| ceiling.allows(&entry.resource_type, &entry.name, action));
                (!entry.actions.is_empty()).then_some(entry)
            })
            .collect();
        let granted_before = |decision: &Decision| -> Vec<String> {
            access
                .iter()
                .filter(|entry| entry.resource_type == decision.resource_type && entry.name == decision.name)
                .flat_map(|entry| entry.actions.iter().cloned())
                .filter(|action| decision.action == "*" || *action == decision.action)
                .collect()
        };
        let mut out: Vec<Decision> = Vec::with_capacity(decisions.len());
        for decision in &decisions {
            if !decision.granted {
                out.push(decision.clone());
                continue;
            }
            let actions = granted_before(decision);
            let (kept, removed): (Vec<String>, Vec<String>) = actions
                .into_iter()
                .partition(|action| ceiling.allows(&decision.resource_type, &decision.name, action));
            if kept.is_empty() {
                out.push(Decision {
                    granted: false,
                    reason: Reason::OutsideCredentialScope,
                    ..decision.clone()
                });
                continue;
            }
            out.push(decision.clone());
            for action in removed.into_iter().filter(|action| *action != decision.action) {
                let same = |d: &Decision| {
                    d.resource_type == decision.resource_type && d.name == decision.name && d.action == action
                };
                if !decisions.iter().any(same) && !out.iter().any(same) {
                    let reason = Reason::OutsideCredentialScope;
                    out.push(Decision { action, granted: false, reason, ..decision.clone() });
                }
            }
        }
        Evaluation { access: narrowed, decisions: out }
    }
}

#[cfg(test)]
mod tests;
