//! `regent policy explain`: per requested action, granted or denied and the rule (`file:line`)
//! that decided it, for a user looked up in the configured backends (their real groups), a
//! user or robot as given (`--group`, `--claim`, `--backend`, `--no-lookup`), or the anonymous
//! identity; within a credential's `--ceiling` when given.

use std::process::ExitCode;

use anyhow::Context;

use super::ExplainArgs;
use super::commands::{existing_config, load_policies};
use crate::authn::{Trace, Verified};
use crate::config::Config;
use crate::policy::{Ceiling, Principal};
use crate::scope::parse_scopes;
use crate::server::build_chain;
use crate::subject::{Claim, SubjectKind};

/// `regent policy explain`.
pub(super) fn policy_explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.config)?;
    let scopes = parse_scopes(args.scopes.iter().map(String::as_str))?;
    let mut ceiling = (!args.ceiling.is_empty())
        .then(|| Ceiling::parse(args.ceiling.iter().map(String::as_str)))
        .transpose()?;
    let as_given = args.no_lookup
        || !args.groups.is_empty()
        || !args.claims.is_empty()
        || args.backend.is_some()
        || args.not_owner;
    let named = match (args.user, args.robot) {
        (Some(name), _) => Some((SubjectKind::Person, name)),
        (None, Some(name)) => Some((SubjectKind::Robot, name)),
        (None, None) => None,
    };
    let found = match &named {
        Some((SubjectKind::Person, name)) if !as_given => look_up(&args.config, name)?,
        _ => None,
    };
    let principal = match (named, found) {
        (None, _) => Principal::Anonymous,
        (Some(_), Some(verified)) => {
            let (principal, credential_ceiling) = Principal::verified(verified);
            ceiling = ceiling.or(credential_ceiling);
            principal
        }
        (Some((kind, name)), None) => {
            let backend = args.backend.unwrap_or_default();
            println!("{} {name:?} as given: backend {backend:?}, groups {:?}", kind.prefix(), args.groups);
            let claims = args.claims.iter().map(|text| Claim::parse(text)).collect::<Result<_, _>>()?;
            Principal::User { kind, name, groups: args.groups, backend, owns_name: !args.not_owner, claims }
        }
    };
    let mut evaluation = loaded.set.evaluate(&principal, &scopes);
    if let Some(ceiling) = &ceiling {
        evaluation = evaluation.within(ceiling);
    }
    for decision in &evaluation.decisions {
        println!("{decision}");
    }
    let access = evaluation.granted_scopes();
    println!("token access: {}", if access.is_empty() { "(none)" } else { access.as_str() });
    Ok(ExitCode::SUCCESS)
}

/// Finds `name` in the configuration's backends, as `regent serve` builds them, printing each
/// backend's answer and the identity used; `None` (after saying so) when no backend knows it,
/// and the name is then explained as given.
fn look_up(config: &super::ConfigArg, name: &str) -> anyhow::Result<Option<Verified>> {
    let Some(path) = existing_config(config)? else {
        println!(
            "no configuration to look {name:?} up in (--config FILE): explaining the name without groups"
        );
        return Ok(None);
    };
    let config = Config::load(&path)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let mut trace = Trace::default();
    let verified = runtime.block_on(async {
        let chain = build_chain(&config)?;
        println!("looking up {name:?} in the backends of {} ({})", path.display(), chain.names().join(", "));
        anyhow::Ok(chain.find_user(name, &mut trace).await)
    })?;
    for step in trace.steps() {
        println!("  {step}");
    }
    match &verified {
        Some(Verified { identity, owns_name }) => println!(
            "as {} {:?} of backend {:?}, groups {:?}{}",
            identity.kind.prefix(),
            identity.name,
            identity.backend,
            identity.groups,
            if *owns_name { "" } else { " (an earlier backend was unavailable: not the owner of the name)" }
        ),
        None => println!(
            "no backend knows {name:?}: a login is refused (401); explaining the name without groups \
             (--group, --claim and --backend give them)"
        ),
    }
    Ok(verified)
}
