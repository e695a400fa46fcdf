//! `regent token create|list|revoke`: access tokens (personal and robot) in the tokens file of
//! the configuration's `kind = "tokens"` backend. `create` prints the secret once; nothing
//! else ever shows it (the file holds only its hash).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ConfigArg;
use super::commands::existing_config;
use crate::authn::tokens::last_used::{read_last_used, sidecar_path};
use crate::authn::tokens::store::{NewToken, TokenSubject, create_token, list_tokens, revoke_token};
use crate::clock::{Clock, SystemClock};
use crate::config::{BackendConfig, Config};

/// `regent token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an access token and print its secret (once).
    Create(CreateArgs),
    /// List the tokens (never their secrets or hashes).
    List(ListArgs),
    /// Revoke a token: every replica refuses it within about a second.
    Revoke(RevokeTokenArgs),
}

/// Arguments of `regent token create`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("subject").args(["owner", "robot"]).required(true)))]
pub struct CreateArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The user a personal token speaks for (never more than they may do).
    #[arg(long)]
    pub owner: Option<String>,
    /// The robot the token is for (its own subject `robot:NAME` in policies).
    #[arg(long)]
    pub robot: Option<String>,
    /// A name for the token, e.g. `ci-deploy`.
    #[arg(long)]
    pub name: String,
    /// A scope the token may use at most, e.g. `repository:team/app:pull,push` (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    pub scopes: Vec<String>,
    /// How long the token lasts, e.g. `90d` (default: until revoked).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expires: Option<std::time::Duration>,
}

/// Arguments of `regent token list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only the personal tokens of this user.
    #[arg(long)]
    pub owner: Option<String>,
}

/// Arguments of `regent token revoke`.
#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The token's id (from `regent token list`).
    pub id: String,
}

/// Runs `regent token ...`.
pub(super) fn token_command(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create(args) => create(args),
        TokenCommand::List(args) => list(args),
        TokenCommand::Revoke(args) => revoke(args),
    }
}

/// The tokens file of the configuration's `kind = "tokens"` backend.
fn tokens_file(arg: &ConfigArg) -> anyhow::Result<PathBuf> {
    let Some(path) = existing_config(arg)? else {
        bail!("no configuration found: pass --config FILE");
    };
    let config = Config::load(&path)?;
    let file = config.authn.iter().find_map(|authn| match &authn.backend {
        BackendConfig::Tokens { file } => Some(file.clone()),
        _ => None,
    });
    file.with_context(|| {
        format!(
            "{}: no access tokens are configured: add [[authn]] name = \"tokens\" kind = \"tokens\" first",
            path.display()
        )
    })
}

fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let file = tokens_file(&args.config)?;
    let subject = match (args.owner, args.robot) {
        (Some(owner), _) => TokenSubject::Owner(owner),
        (None, Some(robot)) => TokenSubject::Robot(robot),
        (None, None) => bail!("pass --owner USER or --robot NAME"),
    };
    let now = SystemClock.now();
    let expires = args.expires.map(|ttl| now + ttl);
    let new = NewToken { subject, name: args.name, scopes: args.scopes, expires };
    let (record, secret) = create_token(&file, new, now)?;
    eprintln!(
        "created token {} for {} ({}); the secret is shown only now:",
        record.id,
        record.subject,
        file.display()
    );
    println!("{}", secret.expose());
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let file = tokens_file(&args.config)?;
    let last_used = read_last_used(&sidecar_path(&file));
    let wanted = args.owner.map(|owner| TokenSubject::Owner(owner).to_string());
    println!("ID\tSUBJECT\tNAME\tSCOPES\tCREATED\tEXPIRES\tLAST USED");
    for record in list_tokens(&file)? {
        if wanted.as_ref().is_some_and(|wanted| *wanted != record.subject) {
            continue;
        }
        let used = last_used.get(&record.id).copied();
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            record.id,
            record.subject,
            record.name,
            record.scopes.join(" "),
            time_text(Some(record.created)),
            time_text(record.expires),
            time_text(used),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(args: RevokeTokenArgs) -> anyhow::Result<ExitCode> {
    let file = tokens_file(&args.config)?;
    match revoke_token(&file, &args.id)? {
        Some(record) => {
            println!("revoked token {} ({}, {})", record.id, record.subject, record.name);
            Ok(ExitCode::SUCCESS)
        }
        None => bail!("no token {:?} in {}", args.id, file.display()),
    }
}

/// Unix seconds as RFC 3339, `-` for none.
fn time_text(unix: Option<i64>) -> String {
    unix.and_then(|unix| OffsetDateTime::from_unix_timestamp(unix).ok())
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}
