//! `regent authn test USER`: runs the backend chain of the configuration, as `regent serve`
//! builds it, and prints each step, the outcome and the policy subjects the identity gets.

use std::process::ExitCode;

use anyhow::{Context, bail};

use super::AuthnTestArgs;
use super::commands::{existing_config, read_password};
use crate::authn::{AuthnError, Identity, Outcome, Trace};
use crate::config::Config;
use crate::server::build_chain;
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
        Ok(Outcome::Authenticated(identity)) => {
            println!("policy subjects: {}", policy_subjects(&identity).join(" "));
            Ok(ExitCode::SUCCESS)
        }
        _ => Ok(ExitCode::FAILURE),
    }
}

/// What `/token` would make of the chain's answer.
fn outcome_line(outcome: &Result<Outcome, AuthnError>) -> String {
    match outcome {
        Ok(Outcome::Authenticated(identity)) => format!(
            "outcome: authenticated by {:?} as {:?}, groups {:?}",
            identity.backend, identity.name, identity.groups
        ),
        Ok(Outcome::Denied) => "outcome: wrong password (/token answers 401)".to_owned(),
        Ok(Outcome::UnknownUser) => "outcome: no backend knows this user (/token answers 401)".to_owned(),
        Err(error) => format!("outcome: {error} (/token answers 503)"),
    }
}

/// The `who` entries of policy rules that match `identity`.
fn policy_subjects(identity: &Identity) -> Vec<String> {
    let mut subjects = vec![format!("user:{}", identity.name)];
    subjects.extend(identity.groups.iter().map(|group| format!("group:{group}")));
    subjects.push("authenticated".to_owned());
    subjects.push("everyone".to_owned());
    subjects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_outcomes() {
        let identity = Identity { backend: "dir".into(), name: "alice".into(), groups: vec!["dev".into()] };
        assert_eq!(policy_subjects(&identity), ["user:alice", "group:dev", "authenticated", "everyone"]);
        let down = Err(AuthnError::Unavailable { backend: "dir".into(), reason: "refused".into() });
        assert!(outcome_line(&down).ends_with("(/token answers 503)"));
        assert!(outcome_line(&Ok(Outcome::Denied)).contains("wrong password"));
    }
}
