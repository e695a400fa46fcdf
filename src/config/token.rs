//! `[token]`: what tokens say, which keys sign them (`[[token.keys]]` or `key_directory`), the
//! `kid` format, `x5c`, and the key type `regent keys rotate` makes.

use std::path::Path;

use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::file::{FileKeyFiles, FileToken};
use super::validate::{duration, realm, resolve, word};
use super::{DEFAULT_TOKEN_TTL, KeyFiles, KeyType, KidFormat, MIN_TOKEN_TTL, TokenConfig};

/// The accepted `kid` values.
const KID_FORMATS: &str = "\"libtrust\" or \"rfc7638\"";
/// The accepted `key_type` values.
const KEY_TYPES: &str = "\"rsa\", \"rsa3072\", \"ec\" or \"ed25519\"";

/// Validates `[token]`, resolving key paths against `base`.
pub(super) fn token(
    locator: &Locator<'_>,
    base: &Path,
    table: Spanned<FileToken>,
) -> Result<TokenConfig, ConfigError> {
    let span = table.span();
    let table = table.into_inner();
    let service = word(locator, &table.service, "service")?;
    let issuer = word(locator, &table.issuer, "issuer")?;
    let realm = realm(locator, &table.realm)?;
    let ttl = match &table.ttl {
        Some(ttl) => duration(locator, ttl, "ttl")?,
        None => DEFAULT_TOKEN_TTL,
    };
    if ttl < MIN_TOKEN_TTL {
        let at = table.ttl.as_ref().map_or(span.clone(), Spanned::span);
        return Err(locator.at(at, "ttl must be at least 60s"));
    }
    let key_directory = match &table.key_directory {
        Some(directory) => Some(resolve(locator, base, directory, "key_directory")?),
        None => None,
    };
    let keys = match (table.keys, &table.key_directory) {
        (Some(_), Some(directory)) => {
            return Err(locator.at(
                directory.span(),
                "give either key_directory or [[token.keys]], not both \
                 (key_directory holds every NAME.key + NAME.crt pair)",
            ));
        }
        (None, Some(_)) => Vec::new(),
        (None, None) => {
            return Err(locator.at(
                span,
                "[token] needs key_directory = \"keys\" (NAME.key + NAME.crt pairs) or at least \
                 one [[token.keys]] entry (key and certificate)",
            ));
        }
        (Some(keys), None) if keys.get_ref().is_empty() => {
            return Err(locator.at(keys.span(), "token.keys is empty: add a key and certificate"));
        }
        (Some(keys), None) => {
            keys.get_ref().iter().map(|entry| key_files(locator, base, entry)).collect::<Result<_, _>>()?
        }
    };
    let kid = match &table.kid {
        None => KidFormat::default(),
        Some(value) => match value.get_ref().as_str() {
            "libtrust" => KidFormat::Libtrust,
            "rfc7638" => KidFormat::Rfc7638,
            other => return Err(locator.at(value.span(), format!("kid {other:?}: expected {KID_FORMATS}"))),
        },
    };
    let key_type = match &table.key_type {
        None => KeyType::default(),
        Some(value) => match value.get_ref().as_str() {
            "rsa" => KeyType::Rsa,
            "rsa3072" => KeyType::Rsa3072,
            "ec" => KeyType::Ec,
            "ed25519" => KeyType::Ed25519,
            other => {
                return Err(locator.at(value.span(), format!("key_type {other:?}: expected {KEY_TYPES}")));
            }
        },
    };
    let x5c = table.x5c.unwrap_or(true);
    Ok(TokenConfig { service, issuer, realm, ttl, keys, key_directory, kid, x5c, key_type })
}

fn key_files(locator: &Locator<'_>, base: &Path, entry: &FileKeyFiles) -> Result<KeyFiles, ConfigError> {
    Ok(KeyFiles {
        key: resolve(locator, base, &entry.key, "key")?,
        certificate: resolve(locator, base, &entry.certificate, "certificate")?,
    })
}
