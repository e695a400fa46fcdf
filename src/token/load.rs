//! `[token]` -> [`KeySet`]: the fixed `[[token.keys]]` pairs or the key directory, the files a
//! watcher must poll to reload them, and warnings about registries that will refuse the tokens.

use std::path::PathBuf;

use super::keydir::{KeyState, PENDING_DIR, list_pairs};
use super::{HeaderOptions, KeySet, KidFormat, SigningKey, TokenError};
use crate::config::TokenConfig;

/// The header options `[token]` asks for.
pub fn header_options(config: &TokenConfig) -> HeaderOptions {
    HeaderOptions { kid: config.kid, x5c: config.x5c }
}

/// Loads every key `[token]` names: each `[[token.keys]]` pair, or every pair in the key
/// directory (active and pending).
pub fn load_key_set(config: &TokenConfig) -> Result<KeySet, TokenError> {
    let options = header_options(config);
    let Some(directory) = &config.key_directory else {
        let keys = config
            .keys
            .iter()
            .map(|files| SigningKey::load(&files.key, &files.certificate))
            .collect::<Result<Vec<_>, _>>()?;
        return KeySet::with_options(keys, options);
    };
    let mut active = Vec::new();
    let mut pending = Vec::new();
    for pair in list_pairs(directory)? {
        let key = SigningKey::load(&pair.key, &pair.certificate)?;
        match pair.state {
            KeyState::Active => active.push((pair.name, key)),
            KeyState::Pending => pending.push((pair.name, key)),
        }
    }
    if active.is_empty() && pending.is_empty() {
        return Err(TokenError::KeyFile {
            path: directory.display().to_string(),
            message:
                "no NAME.key + NAME.crt pair in the key directory (`regent keys rotate --now` makes one)"
                    .to_owned(),
        });
    }
    KeySet::staged(active, pending, options)
}

/// The files and directories whose changes reload the key set.
pub fn watched_paths(config: &TokenConfig) -> Vec<PathBuf> {
    match &config.key_directory {
        Some(directory) => vec![directory.clone(), directory.join(PENDING_DIR)],
        None => config.keys.iter().flat_map(|files| [files.key.clone(), files.certificate.clone()]).collect(),
    }
}

/// What will refuse this key set's tokens, one sentence each (empty when registry 2.8 and 3
/// both accept them).
pub fn compatibility_warnings(keys: &KeySet) -> Vec<String> {
    let mut warnings = Vec::new();
    let options = keys.options();
    if keys.signing_key().algorithm() == "EdDSA" {
        warnings.push(
            "the signing key is Ed25519 (EdDSA): registry 3 accepts it, registry 2.8 refuses every token"
                .to_owned(),
        );
    }
    match (options.x5c, options.kid) {
        (false, KidFormat::Libtrust) => warnings.push(
            "x5c = false with kid = \"libtrust\": registry 2.8 (bundle) and registry 3 with \
             auth.token.jwks accept these tokens; registry 3 with only a rootcertbundle refuses them \
             (set kid = \"rfc7638\")"
                .to_owned(),
        ),
        (false, KidFormat::Rfc7638) => warnings.push(
            "x5c = false with kid = \"rfc7638\": registry 3 accepts these tokens (bundle or jwks), \
             registry 2.8 refuses them"
                .to_owned(),
        ),
        (true, _) => {}
    }
    warnings
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
