//! `regent init --host NAME --dir EXISTING`: adds TLS to a data directory that already has a
//! `regent.toml`, without `--force`: the local CA and server certificate when `certs/` lacks
//! them, and the TLS `[[listen]]` block when the config has no TLS listener. The signing key,
//! users and policies are never touched (`--force` remains the way to regenerate everything).
//!
//! The config keeps its comments and layout: the TLS block is appended, and a plain `http://`
//! realm becomes the TLS listener's `https://` one (clients then reach `/token` over TLS). When
//! the result would not be a valid config (e.g. `listen` written as an inline array), nothing is
//! written and the error shows the block to add by hand.

#[cfg(test)]
mod tests;

use std::path::Path;

use time::OffsetDateTime;

use super::files::{self, Outcome};
use super::templates::tls_listener_text;
use super::{InitError, InitOptions, InitReport, TlsHost, tls};
use crate::config::Config;

/// Adds TLS to the data directory `dir` whose config is `config_path` (see the module docs).
pub(super) fn add_tls(
    opts: &InitOptions,
    dir: &Path,
    config_path: &Path,
    hosts: &[TlsHost],
    now: OffsetDateTime,
) -> Result<InitReport, InitError> {
    let config = Config::load(config_path).map_err(InitError::ExistingConfig)?;
    let text = std::fs::read_to_string(config_path).map_err(files::io_error(config_path))?;
    let edited = if config.listen.iter().any(|listen| listen.tls.is_some()) {
        None
    } else {
        Some(with_tls_listener(&text, config_path, opts)?)
    };
    let Some(plan) = tls::plan(dir, hosts, false, now)? else {
        return Err(InitError::InvalidOption { message: "no --host for the server certificate".to_owned() });
    };

    let mut outcomes = Vec::new();
    if let Some(key_directory) = &config.token.key_directory {
        outcomes.push((Outcome::Kept, key_directory.clone()));
    }
    for keys in &config.token.keys {
        outcomes.push((Outcome::Kept, keys.key.clone()));
        outcomes.push((Outcome::Kept, keys.certificate.clone()));
    }
    let tls = tls::apply(dir, plan, hosts, opts.tls_listen.port(), &mut outcomes)?;
    let mut notes = Vec::new();
    match edited {
        Some(edited) => {
            let file = files::prepare(config_path, edited.text.as_bytes(), 0o644)?;
            outcomes.push((files::replace(file, config_path)?, config_path.to_path_buf()));
            notes.push(format!("added the TLS listener on {} to {}", opts.tls_listen, config_path.display()));
            if let Some(old) = edited.replaced_realm {
                notes.push(format!(
                    "the realm was {old}, now {}: give the registry the new auth.token.realm below",
                    opts.realm
                ));
            }
        }
        None => {
            outcomes.push((Outcome::Kept, config_path.to_path_buf()));
            notes.push(format!("{} already has a TLS listener: left as it is", config_path.display()));
        }
    }
    let config = Config::load(config_path).map_err(InitError::ExistingConfig)?;
    let (written, kept) =
        outcomes.into_iter().partition::<Vec<_>, _>(|(outcome, _)| *outcome == Outcome::Written);
    let first_keys = config.token.keys.first();
    Ok(InitReport {
        dir: dir.to_path_buf(),
        config: config_path.to_path_buf(),
        key: first_keys.map_or_else(|| dir.join(super::KEY_FILE), |keys| keys.key.clone()),
        certificate: first_keys
            .map_or_else(|| dir.join(super::CERTIFICATE_FILE), |keys| keys.certificate.clone()),
        htpasswd: dir.join(super::HTPASSWD_FILE),
        groups: dir.join(super::GROUPS_FILE),
        policies: config.policy.directory.clone(),
        written: written.into_iter().map(|(_, path)| path).collect(),
        kept: kept.into_iter().map(|(_, path)| path).collect(),
        service: config.token.service,
        issuer: config.token.issuer,
        realm: config.token.realm,
        root_cert_bundle: first_keys
            .map_or_else(|| dir.join(super::CERTIFICATE_FILE), |keys| keys.certificate.clone()),
        tls: Some(tls),
        notes,
    })
}

/// The config text with the TLS listener added.
struct EditedConfig {
    /// The new text.
    text: String,
    /// The plain-HTTP realm that was replaced by `opts.realm`, if it was.
    replaced_realm: Option<String>,
}

/// `text` with the TLS `[[listen]]` block appended and a plain `http://` realm replaced by
/// `opts.realm`, validated as a config; an error showing the block when that does not work.
fn with_tls_listener(text: &str, path: &Path, opts: &InitOptions) -> Result<EditedConfig, InitError> {
    let block = tls_listener_text(opts);
    let refuse =
        |reason: String| InitError::ConfigEdit { path: path.to_path_buf(), reason, block: block.clone() };
    let mut document: toml_edit::DocumentMut =
        text.parse().map_err(|err: toml_edit::TomlError| refuse(err.to_string()))?;
    let mut replaced_realm = None;
    if let Some(realm) =
        document.get_mut("token").and_then(|token| token.get_mut("realm")).and_then(|r| r.as_value_mut())
        && let Some(old) = realm.as_str().filter(|old| old.starts_with("http://")).map(str::to_owned)
        && opts.realm.starts_with("https://")
    {
        let decor = realm.decor().clone();
        *realm = toml_edit::Value::from(opts.realm.as_str());
        *realm.decor_mut() = decor;
        replaced_realm = Some(old);
    }
    let mut edited = document.to_string();
    if !edited.ends_with('\n') {
        edited.push('\n');
    }
    edited.push_str(&block);
    Config::parse(&edited, path).map_err(|err| refuse(err.to_string()))?;
    Ok(EditedConfig { text: edited, replaced_realm })
}
