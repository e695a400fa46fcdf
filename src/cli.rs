//! The `regent` command line: `init`, `serve`, `passwd`, `policy check`, `policy explain`,
//! `policy test`, `authn test`, `keys list|rotate|activate|retire|bundle|jwks`, `doctor`, `revoke`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::clock::{Clock, SystemClock};
use crate::config::{BackendConfig, Config, ConfigSource, locate};
use crate::init::{InitOptions, init};
use crate::policy::examples::EXAMPLE_POLICY_DIRECTORY;
use crate::token::KeyType;

mod authn;
mod commands;
mod doctor;
mod keys;
mod logging;
mod policy_test;
mod revoke;

pub use doctor::DoctorArgs;
pub use keys::{KeysCommand, KidArgs, OutArgs, RetireArgs, RotateArgs};
pub use logging::{DEFAULT_LOG_FILTER, init_logging, use_colour};
pub use revoke::RevokeArgs;

/// regent: a token-auth server for Docker/OCI registries.
#[derive(Debug, Parser)]
#[command(name = "regent", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a working data directory: regent.toml, keys, htpasswd, policies.
    Init(InitArgs),
    /// Serve /token (config from --config, $REGENT_CONFIG, ./regent.toml, or the embedded default).
    Serve(ServeArgs),
    /// Add, change or delete a user in the htpasswd file (bcrypt).
    Passwd(PasswdArgs),
    /// Check or explain the policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Debug the authentication backends.
    #[command(subcommand)]
    Authn(AuthnCommand),
    /// Manage the signing keys: list, rotate, activate, retire; write the registry's bundle/JWKS.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check that a registry accepts regent's tokens: one line per check with a fix; exit
    /// status 1 on any failure, 2 on a usage or configuration error.
    Doctor(DoctorArgs),
    /// Revoke USER's refresh tokens (docker identity tokens), or everyone's with --all: every
    /// replica refuses them within about a second; `docker login` works again.
    Revoke(RevokeArgs),
}

/// `regent authn ...`.
#[derive(Debug, Subcommand)]
pub enum AuthnCommand {
    /// Ask for USER's password and show, step by step, what each backend does with it, the
    /// outcome and the policy subjects the identity gets; exit status 1 unless authenticated.
    Test(AuthnTestArgs),
}

/// Arguments of `regent authn test`.
#[derive(Debug, Args)]
pub struct AuthnTestArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The user name, as typed at `docker login`.
    pub user: String,
}

/// `--config FILE`, shared by the commands that read a configuration.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArg {
    /// The configuration file (default: $REGENT_CONFIG, then ./regent.toml, then the embedded default).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `regent init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write into.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The registry's service name (the token's `aud`).
    #[arg(long, default_value = "registry.local")]
    pub service: String,
    /// The token issuer (`iss`).
    #[arg(long, default_value = "regent")]
    pub issuer: String,
    /// The URL clients ask for tokens [default: https://HOST:PORT/token of the TLS listener with
    /// --host, else http://LISTEN/token].
    #[arg(long)]
    pub realm: Option<String>,
    /// The signing key type.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::Rsa)]
    pub key_type: KeyTypeArg,
    /// The address regent listens on (plain HTTP).
    #[arg(long, default_value = "127.0.0.1:5001")]
    pub listen: SocketAddr,
    /// A name for the TLS server certificate (DNS name or IP address; repeatable): makes a local
    /// CA and a server certificate in certs/ unless certs/server.crt and server.key exist. On a
    /// directory that already has a regent.toml, adds only the certificates and the TLS listener
    /// (the signing key stays).
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// The TLS listen address (with --host).
    #[arg(long, default_value = "0.0.0.0:5443", requires = "hosts")]
    pub tls_listen: SocketAddr,
    /// The registry the TLS listener forwards to (with --host).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:5000", requires = "hosts")]
    pub upstream: String,
    /// Replace existing keys, certificates and config (a new signing key: the registry then
    /// needs the new certificate).
    #[arg(long)]
    pub force: bool,
}

/// The signing key type on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyTypeArg {
    /// RSA 2048, RS256.
    Rsa,
    /// RSA 3072, RS256.
    Rsa3072,
    /// ECDSA P-256, ES256.
    Ec,
    /// Ed25519, EdDSA (registry 3 only).
    Ed25519,
}

/// Arguments of `regent serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Add a plain-HTTP listener (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,
}

/// Arguments of `regent passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// The configuration whose first htpasswd backend holds the user.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The htpasswd file to edit (instead of the configured one).
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    pub file: Option<PathBuf>,
    /// The user name.
    pub user: String,
    /// Delete the user instead of setting a password.
    #[arg(long)]
    pub delete: bool,
    /// bcrypt cost; at most the backend's `max_bcrypt_cost` (14 unless configured, also with --file).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub cost: u32,
}

/// `regent policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate every policy file; prints `file:line:col: message`; exit status 1 on error.
    Check(ConfigArg),
    /// For each requested action: granted or denied, and the rule that decided it.
    Explain(ExplainArgs),
    /// Run policy test files (`[[case]]`: who, scope, granted); prints each mismatch with the
    /// rule that decided it; exit status 1 when a case fails, 2 when a file is invalid.
    Test(PolicyTestArgs),
}

/// Arguments of `regent policy test`.
#[derive(Debug, Args)]
pub struct PolicyTestArgs {
    /// The configuration whose policy directory is tested.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The policy directory to test instead of the configuration's.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Policy test files, e.g. policies/tests/*.toml.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Arguments of `regent policy explain`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("named").args(["user", "robot"])))]
pub struct ExplainArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The user (a person) asking.
    #[arg(long, required_unless_present_any = ["anonymous", "robot"])]
    pub user: Option<String>,
    /// The robot asking (for `robot:NAME` rules; `user:NAME` and `${user}` never match it).
    #[arg(long, conflicts_with = "user")]
    pub robot: Option<String>,
    /// A group of the user or robot (repeatable).
    #[arg(long = "group", requires = "named")]
    pub groups: Vec<String>,
    /// A claim of the credential, `KEY:VALUE` (repeatable; for `claim:KEY:VALUE` rules).
    #[arg(long = "claim", value_name = "KEY:VALUE", requires = "named")]
    pub claims: Vec<String>,
    /// A scope of the credential's ceiling, e.g. an access token's (repeatable): the grant is
    /// at most these; every action it removes says "outside the credential's scope".
    #[arg(long = "ceiling", value_name = "SCOPE", requires = "named")]
    pub ceiling: Vec<String>,
    /// The backend that authenticated the user or robot (for `user:BACKEND/NAME`,
    /// `robot:BACKEND/NAME`, `group:BACKEND/NAME` and `claim:BACKEND/KEY:VALUE` rules; without
    /// it such rules do not apply).
    #[arg(long, requires = "named")]
    pub backend: Option<String>,
    /// The backend is not proven to own the name (an earlier backend was unavailable):
    /// `user:NAME`, `robot:NAME` and `${user}` rules do not apply.
    #[arg(long, requires = "named")]
    pub not_owner: bool,
    /// Ask as the anonymous identity (a request without credentials).
    #[arg(long, conflicts_with_all = ["user", "robot"])]
    pub anonymous: bool,
    /// Scopes, e.g. `repository:team/app:pull,push`.
    #[arg(required = true)]
    pub scopes: Vec<String>,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => commands::init_command(args),
        Command::Serve(args) => commands::serve_command(args),
        Command::Passwd(args) => commands::passwd_command(args),
        Command::Policy(PolicyCommand::Check(args)) => commands::policy_check(args),
        Command::Policy(PolicyCommand::Explain(args)) => commands::policy_explain(args),
        Command::Policy(PolicyCommand::Test(args)) => policy_test::policy_test(args),
        Command::Authn(AuthnCommand::Test(args)) => authn::authn_test(args),
        Command::Keys(command) => keys::keys_command(command),
        Command::Doctor(args) => Ok(doctor::doctor_command(args)),
        Command::Revoke(args) => revoke::revoke_command(args),
    }
}

/// The data directory of the embedded default configuration.
pub const EMBEDDED_DEFAULT_DIR: &str = "regent-data";

/// Finds the configuration the way every command does; `None` is the embedded default.
fn find_config(arg: &ConfigArg) -> anyhow::Result<Option<PathBuf>> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let env = std::env::var_os("REGENT_CONFIG");
    match locate(arg.config.as_deref(), env.as_deref(), &cwd)? {
        ConfigSource::File(path) => Ok(Some(path)),
        ConfigSource::EmbeddedDefault => Ok(None),
    }
}

/// Runs `regent init` into `dir` with default settings (the embedded default's first run).
fn init_default(dir: &Path) -> anyhow::Result<()> {
    let opts = InitOptions { dir: dir.to_path_buf(), ..InitOptions::default() };
    init(&opts, EXAMPLE_POLICY_DIRECTORY, SystemClock.now())
        .with_context(|| format!("initialising {}", dir.display()))?;
    Ok(())
}

/// The first configured htpasswd file and its backend's `max_bcrypt_cost`.
fn htpasswd_file(config: &Config) -> anyhow::Result<(PathBuf, u32)> {
    let file = config.authn.iter().find_map(|authn| match &authn.backend {
        BackendConfig::Htpasswd { file, max_bcrypt_cost, .. } => Some((file.clone(), *max_bcrypt_cost)),
        _ => None,
    });
    match file {
        Some(found) => Ok(found),
        None => bail!("{}: no htpasswd backend is configured", config.path.display()),
    }
}

impl From<KeyTypeArg> for KeyType {
    fn from(value: KeyTypeArg) -> Self {
        match value {
            KeyTypeArg::Rsa => KeyType::Rsa,
            KeyTypeArg::Rsa3072 => KeyType::Rsa3072,
            KeyTypeArg::Ec => KeyType::Ec,
            KeyTypeArg::Ed25519 => KeyType::Ed25519,
        }
    }
}
