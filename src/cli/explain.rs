//! `regent policy explain`: per requested action, granted or denied and the rule (`file:line`)
//! that decided it, for a user looked up in the configured backends (their real groups), a
//! user as given (`--group`, `--backend`, `--no-lookup`), or the anonymous identity.

use std::process::ExitCode;

use anyhow::{Context, bail};

use super::ExplainArgs;
use super::commands::{existing_config, load_policies};
use crate::authn::{Trace, Verified};
use crate::config::Config;
use crate::policy::Principal;
use crate::scope::parse_scopes;
use crate::server::build_chain;

/// `regent policy explain`.
pub(super) fn policy_explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.config)?;
    let scopes = parse_scopes(args.scopes.iter().map(String::as_str))?;
    let as_given = args.no_lookup || !args.groups.is_empty() || args.backend.is_some() || args.not_owner;
    let principal = match args.user {
        None => Principal::Anonymous,
        Some(name) if as_given => {
            let backend = args.backend.unwrap_or_default();
            println!("user {name:?} as given: backend {backend:?}, groups {:?}", args.groups);
            Principal::User { name, groups: args.groups, backend, owns_name: !args.not_owner }
        }
        Some(name) => match look_up(&args.config, &name)? {
            Some(verified) => Principal::from(verified),
            None => return Ok(ExitCode::FAILURE),
        },
    };
    let evaluation = loaded.set.evaluate(&principal, &scopes);
    for decision in &evaluation.decisions {
        println!("{decision}");
    }
    let access = evaluation.granted_scopes();
    println!("token access: {}", if access.is_empty() { "(none)" } else { access.as_str() });
    Ok(ExitCode::SUCCESS)
}

/// Finds `name` in the configuration's backends, as `regent serve` builds them, printing each
/// backend's answer and the identity used; `None` (after saying so) when no backend knows it.
fn look_up(config: &super::ConfigArg, name: &str) -> anyhow::Result<Option<Verified>> {
    let Some(path) = existing_config(config)? else {
        bail!(
            "no configuration found: pass --config FILE to look {name:?} up in its backends, or \
             --no-lookup (with --group and --backend) to explain the user as given"
        );
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
            "as user {:?} of backend {:?}, groups {:?}{}",
            identity.name,
            identity.backend,
            identity.groups,
            if *owns_name { "" } else { " (an earlier backend was unavailable: not the owner of the name)" }
        ),
        None => println!(
            "no backend knows {name:?}: /token answers 401 (--no-lookup, --group and --backend explain a \
             user as given)"
        ),
    }
    Ok(verified)
}
