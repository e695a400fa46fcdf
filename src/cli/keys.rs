//! `regent keys list | rotate | activate | retire KID | bundle | jwks`: the key directory and
//! the files the registry reads (`rootcertbundle`, registry 3's `auth.token.jwks`).
//!
//! The order for a rotation with no failed pull: `rotate` (the new key is trusted, not signing)
//! -> `bundle`/`jwks` -> restart the registry -> `activate` (regent signs with it within ~2 s)
//! -> wait one token lifetime -> `retire OLD` -> `bundle`/`jwks` -> restart the registry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use time::format_description::well_known::Rfc3339;

mod files;

use files::{load_pairs, lock_key_directory, write_out};

use super::ConfigArg;
use super::KeyTypeArg;
use super::commands::existing_config;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, KeyType};
use crate::token::keydir::{
    KeyPairFiles, KeyState, PENDING_DIR, RETIRED_DIR, move_pair, name_taken, write_pair,
};
use crate::token::{KeySet, SigningKey, compatibility_warnings, generate_key, load_key_set};

/// `regent keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show every key: signing, trusted or pending, its algorithm and both kid formats.
    List(ConfigArg),
    /// Make a new key and certificate in the key directory's pending/ (trusted, not signing).
    Rotate(RotateArgs),
    /// Let pending keys sign: the newest signs from the next token on (no restart).
    Activate(KidArgs),
    /// Move a key to retired/: out of the bundle and the JWKS.
    Retire(RetireArgs),
    /// Write the registry's rootcertbundle: every trusted certificate (mode 0644).
    Bundle(OutArgs),
    /// Write registry 3's auth.token.jwks file: every trusted key (mode 0644).
    Jwks(OutArgs),
}

/// Arguments of `regent keys rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The key type [default: `[token] key_type`].
    #[arg(long = "type", value_enum)]
    pub key_type: Option<KeyTypeArg>,
    /// Sign with the new key at once (only when no registry trusts the old one yet: tokens
    /// signed before the registry reads the new bundle are refused).
    #[arg(long)]
    pub now: bool,
}

/// `KID`: a libtrust kid, an RFC 7638 thumbprint or a key's file name.
#[derive(Debug, Args)]
pub struct KidArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The key (kid in either format, or its file name); default: every pending key.
    pub kid: Option<String>,
}

/// Arguments of `regent keys retire`.
#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The key: its kid in either format, or its file name.
    pub kid: String,
    /// Retire the signing key too (another active key must remain; the next newest signs).
    #[arg(long)]
    pub force: bool,
}

/// `--out FILE`.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Where to write (`-` for stdout) [default: bundle.crt / jwks.json next to regent.toml].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `regent keys ...`.
pub(super) fn keys_command(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::List(config) => list(&load_config(&config)?),
        KeysCommand::Rotate(args) => rotate(&load_config(&args.config)?, &args),
        KeysCommand::Activate(args) => activate(&load_config(&args.config)?, args.kid.as_deref()),
        KeysCommand::Retire(args) => retire(&load_config(&args.config)?, &args.kid, args.force),
        KeysCommand::Bundle(args) => {
            let config = load_config(&args.config)?;
            let keys = key_set(&config)?;
            write_out(&config, args.out.as_deref(), "bundle.crt", &keys.certificates_pem())
        }
        KeysCommand::Jwks(args) => {
            let config = load_config(&args.config)?;
            let keys = key_set(&config)?;
            if config.token.x5c {
                eprintln!(
                    "warning: tokens carry x5c: a registry 3 with only auth.token.jwks (no rootcertbundle) \
                     refuses them; set [token] x5c = false for it"
                );
            }
            let text = serde_json::to_string_pretty(&keys.jwks()).context("encoding the JWKS")? + "\n";
            write_out(&config, args.out.as_deref(), "jwks.json", &text)
        }
    }
}

fn load_config(arg: &ConfigArg) -> anyhow::Result<Config> {
    let Some(path) = existing_config(arg)? else {
        bail!("no configuration found: pass --config FILE");
    };
    Ok(Config::load(&path)?)
}

/// The configured key set; prints what registries will refuse its tokens.
fn key_set(config: &Config) -> anyhow::Result<KeySet> {
    let keys = load_key_set(&config.token)?;
    for warning in compatibility_warnings(&keys) {
        eprintln!("warning: {warning}");
    }
    Ok(keys)
}

fn list(config: &Config) -> anyhow::Result<ExitCode> {
    let keys = key_set(config)?;
    println!("STATE    NAME  ALG  NOT-BEFORE  LIBTRUST-KID  RFC7638-KID");
    for (index, key) in keys.keys().iter().enumerate() {
        let state = match (index == keys.signing_index(), keys.is_pending(index)) {
            (true, _) => "signing",
            (false, true) => "pending",
            (false, false) => "trusted",
        };
        let name = match keys.name(index) {
            "" => "-",
            name => name,
        };
        let not_before = key.not_before().format(&Rfc3339).unwrap_or_default();
        println!("{state}  {name}  {}  {not_before}  {}  {}", key.algorithm(), key.kid(), key.thumbprint());
    }
    Ok(ExitCode::SUCCESS)
}

/// The key directory, or an error saying how to get one.
fn key_directory(config: &Config) -> anyhow::Result<&Path> {
    match &config.token.key_directory {
        Some(directory) => Ok(directory),
        None => bail!(
            "{}: [token] uses [[token.keys]]: rotate, activate and retire manage a key directory; \
             move the key pairs into one directory as NAME.key + NAME.crt and write \
             key_directory = \"DIR\" instead of the [[token.keys]] entries",
            config.path.display()
        ),
    }
}

fn rotate(config: &Config, args: &RotateArgs) -> anyhow::Result<ExitCode> {
    let directory = key_directory(config)?;
    let _lock = lock_key_directory(directory)?;
    let key_type = args.key_type.map_or(config.token.key_type, KeyType::from);
    let now = SystemClock.now();
    let stamp = now.replace_nanosecond(0).unwrap_or(now).format(&Rfc3339).unwrap_or_default();
    let base = format!("token-{}", stamp.replace([':', '-'], ""));
    let name = (1..)
        .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
        .find(|name| !name_taken(directory, name))
        .unwrap_or(base);
    let generated = generate_key(key_type, &config.token.issuer, now)?;
    let (target, state) = if args.now {
        (directory.to_path_buf(), KeyState::Active)
    } else {
        (directory.join(PENDING_DIR), KeyState::Pending)
    };
    let pair = write_pair(&target, &name, &generated, state)?;
    let key = SigningKey::load(&pair.key, &pair.certificate)?;
    println!("new {} key {name}: kid {} (rfc7638 {})", key.algorithm(), key.kid(), key.thumbprint());
    println!("  {}\n  {}", pair.key.display(), pair.certificate.display());
    if key.algorithm() == "EdDSA" {
        eprintln!("warning: Ed25519 (EdDSA) tokens work on registry 3 only; registry 2.8 refuses them");
    }
    if args.now {
        println!("it signs now: give the registry the new bundle/jwks (`regent keys bundle`) and restart it");
    } else {
        println!(
            "next: `regent keys bundle` / `regent keys jwks`, restart the registry, then `regent keys activate`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `wanted` names this pair: its libtrust kid, its thumbprint or its file name.
fn names(pair: &KeyPairFiles, key: &SigningKey, wanted: &str) -> bool {
    wanted == key.kid() || wanted == key.thumbprint() || wanted == pair.name
}

fn activate(config: &Config, wanted: Option<&str>) -> anyhow::Result<ExitCode> {
    let directory = key_directory(config)?;
    let _lock = lock_key_directory(directory)?;
    let pending: Vec<_> = load_pairs(directory)?
        .into_iter()
        .filter(|(pair, key)| pair.state == KeyState::Pending && wanted.is_none_or(|w| names(pair, key, w)))
        .collect();
    if pending.is_empty() {
        bail!(
            "no pending key{}: `regent keys rotate` makes one",
            wanted.map(|w| format!(" {w}")).unwrap_or_default()
        );
    }
    for (pair, key) in pending {
        move_pair(&pair, directory, KeyState::Active)?;
        println!("activated {} (kid {}, rfc7638 {})", pair.name, key.kid(), key.thumbprint());
    }
    let keys = key_set(config)?;
    println!("signing now: {} (kid {})", keys.name(keys.signing_index()), keys.signing_key().kid());
    Ok(ExitCode::SUCCESS)
}

fn retire(config: &Config, wanted: &str, force: bool) -> anyhow::Result<ExitCode> {
    let directory = key_directory(config)?;
    let _lock = lock_key_directory(directory)?;
    let keys = key_set(config)?;
    let pairs = load_pairs(directory)?;
    let Some((pair, key)) = pairs.iter().find(|(pair, key)| names(pair, key, wanted)) else {
        bail!("no key {wanted} in {} (see `regent keys list`)", directory.display());
    };
    if key.kid() == keys.signing_key().kid() && pair.state == KeyState::Active {
        let others = pairs.iter().filter(|(p, _)| p.state == KeyState::Active).count() - 1;
        if others == 0 {
            bail!(
                "{} is the only active key: `regent keys rotate` and `activate` a new one first",
                pair.name
            );
        }
        if !force {
            bail!(
                "{} signs the tokens in flight: activate a newer key first, or pass --force \
                 (the next newest active key signs)",
                pair.name
            );
        }
    }
    let retired = move_pair(pair, &directory.join(RETIRED_DIR), pair.state)?;
    println!(
        "retired {} (kid {}) to {}",
        pair.name,
        key.kid(),
        retired.key.parent().unwrap_or(directory).display()
    );
    println!("next: `regent keys bundle` / `regent keys jwks` and restart the registry");
    Ok(ExitCode::SUCCESS)
}
