//! `[[authn]]` tables -> [`AuthnConfig`]s: names, kinds, the fields each kind accepts, and the
//! htpasswd settings; the `ldap` and `http` settings are checked in their own modules.

mod http;
mod ldap;
mod ldap_groups;
mod ldap_login;
mod oidc;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_htpasswd;
#[cfg(test)]
mod tests_ldap;
#[cfg(test)]
mod tests_oidc;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, Locator, line_column};
use super::file::FileAuthn;
use super::validate::{duration, resolve, word};
use super::{AuthnConfig, BackendConfig};

pub use http::DEFAULT_HTTP_TIMEOUT;
pub use ldap::{
    DEFAULT_GROUP_NAME_ATTRIBUTE, DEFAULT_LDAP_CONNECT_TIMEOUT, DEFAULT_LDAP_FILTER, DEFAULT_LDAP_TIMEOUT,
    DEFAULT_NESTED_MAX_DEPTH, DEFAULT_POOL_SIZE,
};
pub use oidc::{
    DEFAULT_JWKS_MAX_AGE, DEFAULT_JWKS_MIN_INTERVAL, DEFAULT_OIDC_ALGORITHMS, DEFAULT_OIDC_LEEWAY,
    JwksSource, OidcConfig, OidcUserName,
};

/// The `[[authn]]` kinds regent knows.
pub const AUTHN_KINDS: &[&str] = &["tokens", "htpasswd", "ldap", "http", "oidc"];
/// The tokens file of a `kind = "tokens"` backend without `file`, next to regent.toml.
pub const DEFAULT_TOKENS_FILE: &str = "tokens.json";
/// The htpasswd identity cache lifetime when `cache_ttl` is not given.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
/// The highest bcrypt cost an htpasswd file may hold when `max_bcrypt_cost` is not given: one
/// verification at 14 takes about a second of one core; each step up doubles it.
pub const DEFAULT_MAX_BCRYPT_COST: u32 = 14;
/// How long an htpasswd login waits for a bcrypt slot when `verify_queue_timeout` is not given.
pub const DEFAULT_VERIFY_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// The bcrypt costs that exist (the format's limits).
const BCRYPT_COSTS: std::ops::RangeInclusive<i64> = 4..=31;
/// The ldap and http identity cache lifetime when `cache_ttl` is not given.
pub const DEFAULT_REMOTE_CACHE_TTL: Duration = Duration::from_secs(60);

/// The optional keys of each kind (`name` and `kind` belong to all).
const HTPASSWD_KEYS: &[&str] = &["file", "groups", "cache_ttl", "max_bcrypt_cost", "verify_queue_timeout"];
const LDAP_KEYS: &[&str] = &[
    "url",
    "urls",
    "starttls",
    "ca_file",
    "bind_dn",
    "bind_password_file",
    "bind_password_env",
    "base",
    "scope",
    "filter",
    "user_dn",
    "login_attribute",
    "group_attribute",
    "group_search_base",
    "group_filter",
    "group_name_attribute",
    "nested",
    "nested_max_depth",
    "lowercase",
    "pool_size",
    "connect_timeout",
    "timeout",
    "cache_ttl",
    "max_stale",
];
const HTTP_KEYS: &[&str] = &["url", "credentials", "ca_file", "timeout", "cache_ttl", "max_stale"];
const TOKENS_KEYS: &[&str] = &["file"];

/// Reads an environment variable (`std::env::var` outside tests).
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What validating one `[[authn]]` table needs besides the table.
pub(super) struct AuthnContext<'a> {
    /// Places errors.
    pub(super) locator: &'a Locator<'a>,
    /// The directory relative paths resolve against.
    pub(super) base: &'a Path,
    /// Reads `bind_password_env`.
    pub(super) env: EnvLookup<'a>,
    /// The backend's name (for messages).
    pub(super) name: &'a str,
    /// The span of the whole table (missing required keys are reported there).
    pub(super) table: std::ops::Range<usize>,
}

impl AuthnContext<'_> {
    /// An error at `span`, prefixed with the backend's name.
    pub(super) fn error(&self, span: std::ops::Range<usize>, message: impl std::fmt::Display) -> ConfigError {
        self.locator.at(span, format!("authn {:?}: {message}", self.name))
    }

    /// An error at the start of the table: `key` is required.
    pub(super) fn missing(&self, message: impl std::fmt::Display) -> ConfigError {
        self.error(self.table.clone(), message)
    }

    /// A humantime duration, or `default`.
    pub(super) fn duration_or(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        value.as_ref().map_or(Ok(default), |value| duration(self.locator, value, key))
    }

    /// An optional humantime duration.
    pub(super) fn optional_duration(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        value.as_ref().map(|value| duration(self.locator, value, key)).transpose()
    }

    /// A humantime duration that must not be zero, or `default`.
    pub(super) fn positive_duration_or(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let parsed = self.duration_or(value, key, default)?;
        match value {
            Some(value) if parsed.is_zero() => Err(self.error(value.span(), format!("{key} must not be 0"))),
            _ => Ok(parsed),
        }
    }

    /// A non-empty value without surrounding whitespace.
    pub(super) fn word(&self, value: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
        word(self.locator, value, key)
    }

    /// A path resolved against the config file's directory.
    pub(super) fn path(&self, value: &Spanned<String>, key: &str) -> Result<std::path::PathBuf, ConfigError> {
        resolve(self.locator, self.base, value, key)
    }
}

/// Checks every `[[authn]]` table, in order.
pub(super) fn authn(
    locator: &Locator<'_>,
    base: &Path,
    env: EnvLookup<'_>,
    tables: Vec<Spanned<FileAuthn>>,
) -> Result<Vec<AuthnConfig>, ConfigError> {
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut backends = Vec::with_capacity(tables.len());
    for table in tables {
        let span = table.span();
        let table = table.into_inner();
        let name = word(locator, &table.name, "authn name")?;
        if name.contains('/') {
            return Err(locator.at(
                table.name.span(),
                format!(
                    "authn name {name:?} must not contain `/` (policies name users as user:BACKEND/NAME)"
                ),
            ));
        }
        if let Some(&offset) = first_seen.get(&name) {
            let (line, _) = line_column(locator.text, offset);
            return Err(locator.at(
                table.name.span(),
                format!("duplicate authn name {name:?} (first used on line {line})"),
            ));
        }
        first_seen.insert(name.clone(), table.name.span().start);
        let kind = table.kind.get_ref().as_str();
        let keys = match kind {
            "htpasswd" => HTPASSWD_KEYS,
            "ldap" => LDAP_KEYS,
            "http" => HTTP_KEYS,
            "tokens" => TOKENS_KEYS,
            "oidc" => oidc::OIDC_KEYS,
            other => {
                return Err(locator.at(
                    table.kind.span(),
                    format!("unknown authn kind {other:?} (known: {})", AUTHN_KINDS.join(", ")),
                ));
            }
        };
        let context = AuthnContext { locator, base, env, name: &name, table: span };
        check_keys(&context, &table, kind, keys)?;
        let backend = match kind {
            "ldap" => BackendConfig::Ldap { config: ldap::ldap(&context, &table)? },
            "http" => BackendConfig::Http { config: http::http(&context, &table)? },
            "tokens" => tokens(&context, &table, backends.len())?,
            "oidc" => BackendConfig::Oidc { config: oidc::oidc(&context, &table)? },
            _ => htpasswd(&context, &table)?,
        };
        backends.push(AuthnConfig { name, backend });
    }
    Ok(backends)
}

/// Rejects an inline `bind_password` and every key that does not belong to `kind`, at its value.
fn check_keys(
    context: &AuthnContext<'_>,
    table: &FileAuthn,
    kind: &str,
    keys: &[&str],
) -> Result<(), ConfigError> {
    for (key, start) in table.present_fields() {
        if key == "bind_password" {
            return Err(context.error(
                start..start,
                "a password written in regent.toml is refused: put it in a file named by \
                 `bind_password_file` or in an environment variable named by `bind_password_env`",
            ));
        }
        if !keys.contains(&key) {
            return Err(context.error(start..start, format!("`{key}` does not apply to kind {kind:?}")));
        }
    }
    Ok(())
}

fn htpasswd(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<BackendConfig, ConfigError> {
    let Some(file) = &table.file else {
        return Err(context.locator.at(
            context.table.clone(),
            format!("authn {:?}: kind \"htpasswd\" needs `file` (the password file)", context.name),
        ));
    };
    Ok(BackendConfig::Htpasswd {
        file: context.path(file, "file")?,
        groups: table.groups.as_ref().map(|groups| context.path(groups, "groups")).transpose()?,
        cache_ttl: context.duration_or(&table.cache_ttl, "cache_ttl", DEFAULT_CACHE_TTL)?,
        max_bcrypt_cost: max_bcrypt_cost(context, &table.max_bcrypt_cost)?,
        verify_queue_timeout: context.positive_duration_or(
            &table.verify_queue_timeout,
            "verify_queue_timeout",
            DEFAULT_VERIFY_QUEUE_TIMEOUT,
        )?,
    })
}

/// `kind = "tokens"`: the first backend (a token must be checked before a password backend
/// would call it a wrong password), its `file` by default `tokens.json` next to regent.toml.
fn tokens(
    context: &AuthnContext<'_>,
    table: &FileAuthn,
    position: usize,
) -> Result<BackendConfig, ConfigError> {
    if position != 0 {
        return Err(context.error(
            table.kind.span(),
            "kind \"tokens\" must be the first [[authn]] (access tokens are checked before any \
             password backend, which would refuse one as a wrong password)",
        ));
    }
    let file = match &table.file {
        Some(file) => context.path(file, "file")?,
        None => context.base.join(DEFAULT_TOKENS_FILE),
    };
    Ok(BackendConfig::Tokens { file })
}

/// `max_bcrypt_cost`: a bcrypt cost (4..=31), or the default.
fn max_bcrypt_cost(context: &AuthnContext<'_>, value: &Option<Spanned<i64>>) -> Result<u32, ConfigError> {
    let Some(value) = value else {
        return Ok(DEFAULT_MAX_BCRYPT_COST);
    };
    match u32::try_from(*value.get_ref()) {
        Ok(cost) if BCRYPT_COSTS.contains(value.get_ref()) => Ok(cost),
        _ => Err(context.error(value.span(), "max_bcrypt_cost must be between 4 and 31 (a bcrypt cost)")),
    }
}
