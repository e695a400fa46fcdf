//! `regent revoke USER` / `regent revoke --all`: refresh tokens issued until now stop working.
//!
//! Writes a not-before time into the revocations file (`[token] revocations`, by default next
//! to `regent.toml`), which every replica watches: within about a second their refresh grants
//! refuse the tokens (`invalid_grant`). Access tokens already issued run out on their own
//! (`[token] ttl`); the user's password is untouched, so `docker login` works again at once.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::ConfigArg;
use super::commands::existing_config;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::token::refresh::record_revocation;
use crate::untrusted::check_name;

/// Arguments of `regent revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The configuration (the revocations file is its `[token] revocations`).
    #[command(flatten)]
    pub config: ConfigArg,
    /// The user whose refresh tokens (docker identity tokens) to revoke, as the backend names
    /// them (the token's subject).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub user: Option<String>,
    /// Revoke every user's refresh tokens.
    #[arg(long)]
    pub all: bool,
}

/// `regent revoke`.
pub(super) fn revoke_command(args: RevokeArgs) -> anyhow::Result<ExitCode> {
    let Some(path) = existing_config(&args.config)? else {
        bail!("no configuration found: pass --config FILE");
    };
    let config = Config::load(&path)?;
    if let Some(user) = &args.user {
        check_name(user).with_context(|| format!("{user:?} is not a user name"))?;
    }
    let file = &config.refresh.revocations;
    let now = SystemClock.now();
    record_revocation(file, args.user.as_deref(), now)?;
    let whom = args.user.as_deref().map_or_else(|| "every user".to_owned(), |user| format!("{user:?}"));
    println!("revoked the refresh tokens of {whom} issued until now ({})", file.display());
    if config.refresh.ttl.is_zero() {
        println!("note: refresh tokens are turned off (refresh_ttl = \"0s\")");
    }
    Ok(ExitCode::SUCCESS)
}
