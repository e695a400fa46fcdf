//! `regent authn test USER`: runs the backend chain of the configuration, as `regent serve`
//! builds it, and prints each step, the outcome and the policy subjects the identity gets.

use std::process::ExitCode;

use anyhow::{Context, bail};

use super::AuthnTestArgs;
use super::commands::{existing_config, read_password};
use crate::authn::{AuthnError, ChainOutcome, Trace, Verified};
use crate::config::Config;
use crate::server::build_chain;
use crate::subject::SubjectKind;
use crate::untrusted::check_name;

/// `regent authn test`.
pub(super) fn authn_test(args: AuthnTestArgs) -> anyhow::Result<ExitCode> {
    let Some(path) = existing_config(&args.config)? else {
        bail!("no configuration found: pass --config FILE");
    };
    let config = Config::load(&path)?;
    if let Err(error) = check_name(&args.user) {
        println!("outcome: {error}: /token refuses this name (400) before asking any backend");
        return Ok(ExitCode::FAILURE);
    }
    let password = read_password(false)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let (trace, outcome) = runtime.block_on(async {
        let chain = build_chain(&config)?;
        println!(
            "testing user {:?} with {} (backends in order: {})",
            args.user,
            path.display(),
            chain.names().join(", ")
        );
        let mut trace = Trace::default();
        let outcome = chain.authenticate_traced(&args.user, &password, &mut trace).await;
        anyhow::Ok((trace, outcome))
    })?;
    for step in trace.steps() {
        println!("  {step}");
    }
    println!("{}", outcome_line(&outcome));
    match outcome {
        Ok(ChainOutcome::Authenticated(verified)) => {
            println!("policy subjects: {}", policy_subjects(&verified).join(" "));
            Ok(ExitCode::SUCCESS)
        }
        _ => Ok(ExitCode::FAILURE),
    }
}

/// What `/token` would make of the chain's answer.
fn outcome_line(outcome: &Result<ChainOutcome, AuthnError>) -> String {
    match outcome {
        Ok(ChainOutcome::Authenticated(Verified { identity, owns_name })) => format!(
            "outcome: authenticated by {:?} as {}{:?}, groups {:?}{}{}",
            identity.backend,
            if identity.kind == SubjectKind::Robot { "robot " } else { "" },
            identity.name,
            identity.groups,
            identity.ceiling.as_ref().map(|c| format!(", at most {:?}", c.to_string())).unwrap_or_default(),
            if *owns_name { "" } else { " (an earlier backend was unavailable: not the owner of the name)" }
        ),
        Ok(ChainOutcome::Denied) => "outcome: wrong password (/token answers 401)".to_owned(),
        Ok(ChainOutcome::UnknownUser) => {
            "outcome: no backend knows this user (/token answers 401)".to_owned()
        }
        Err(error) => format!("outcome: {error} (/token answers 503)"),
    }
}

/// The `who` entries of policy rules that match `verified`: `user:NAME` (`robot:NAME` for a
/// robot) only when its backend owns the name.
fn policy_subjects(verified: &Verified) -> Vec<String> {
    let identity = &verified.identity;
    let (kind, backend) = (identity.kind.prefix(), &identity.backend);
    let mut subjects = Vec::new();
    if verified.owns_name {
        subjects.push(format!("{kind}:{}", identity.name));
    }
    subjects.push(format!("{kind}:{backend}/{}", identity.name));
    for group in &identity.groups {
        subjects.push(format!("group:{group}"));
        subjects.push(format!("group:{backend}/{group}"));
    }
    for claim in &identity.claims {
        subjects.push(claim.to_string());
        subjects.push(format!("claim:{backend}/{}:{}", claim.key(), claim.value()));
    }
    subjects.push("authenticated".to_owned());
    subjects.push("everyone".to_owned());
    subjects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::Identity;
    use crate::subject::{Ceiling, Claim};

    #[test]
    fn subjects_and_outcomes() {
        let identity = Identity::person("dir", "alice", vec!["dev".into()]);
        let owner = Verified { identity: identity.clone(), owns_name: true };
        assert_eq!(
            policy_subjects(&owner),
            ["user:alice", "user:dir/alice", "group:dev", "group:dir/dev", "authenticated", "everyone"]
        );
        let not_owner = Verified { identity, owns_name: false };
        assert_eq!(
            policy_subjects(&not_owner),
            ["user:dir/alice", "group:dev", "group:dir/dev", "authenticated", "everyone"]
        );
        assert!(outcome_line(&Ok(ChainOutcome::Authenticated(not_owner))).contains("not the owner"));
        let claim = Claim::new("project_path", "team/app").unwrap();
        let ceiling = Ceiling::parse(["repository:team/app:pull"]).unwrap();
        let robot = Identity::robot("ci", "deployer", vec![]).with_claims(vec![claim]).with_ceiling(ceiling);
        let robot = Verified { identity: robot, owns_name: true };
        assert_eq!(
            policy_subjects(&robot),
            [
                "robot:deployer",
                "robot:ci/deployer",
                "claim:project_path:team/app",
                "claim:ci/project_path:team/app",
                "authenticated",
                "everyone"
            ]
        );
        assert_eq!(
            outcome_line(&Ok(ChainOutcome::Authenticated(robot))),
            "outcome: authenticated by \"ci\" as robot \"deployer\", groups [], at most \"repository:team/app:pull\""
        );
        let down = Err(AuthnError::Unavailable { backend: "dir".into(), reason: "refused".into() });
        assert!(outcome_line(&down).ends_with("(/token answers 503)"));
        assert!(outcome_line(&Ok(ChainOutcome::Denied)).contains("wrong password"));
    }
}
