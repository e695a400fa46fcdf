//! `kind = "ldap"`: an LDAP or Active Directory server, in search or direct-bind mode.

use std::time::Duration;

use toml::Spanned;

use super::ldap_groups::groups;
use super::ldap_login::login_attribute;
use super::{AuthnContext, DEFAULT_REMOTE_CACHE_TTL};
use crate::config::error::ConfigError;
use crate::config::file::FileAuthn;
use crate::config::{LdapConfig, LdapMode, SearchScope};
use crate::secret::Secret;

/// The search filter when `filter` is not given.
pub const DEFAULT_LDAP_FILTER: &str = "(uid=${user})";
/// The group name attribute when `group_name_attribute` is not given.
pub const DEFAULT_GROUP_NAME_ATTRIBUTE: &str = "cn";
/// The deepest group-in-group chain followed when `nested_max_depth` is not given.
pub const DEFAULT_NESTED_MAX_DEPTH: usize = 8;
/// The service-account pool size when `pool_size` is not given.
pub const DEFAULT_POOL_SIZE: usize = 4;
/// The connect timeout when `connect_timeout` is not given.
pub const DEFAULT_LDAP_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The bind and search timeout when `timeout` is not given.
pub const DEFAULT_LDAP_TIMEOUT: Duration = Duration::from_secs(5);

/// The placeholder for the login name in `filter`, `user_dn` and `group_filter`.
pub(super) const USER: &str = "${user}";
/// The placeholder for the user's DN in `group_filter`.
pub(super) const DN: &str = "${dn}";

/// Checks an `ldap` table (its keys are already known to belong to the kind).
pub(super) fn ldap(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<LdapConfig, ConfigError> {
    let urls = urls(context, table)?;
    let starttls = table.starttls.as_ref().is_some_and(|value| *value.get_ref());
    if let (true, Some(value)) = (starttls, &table.starttls)
        && let Some(url) = urls.iter().find(|url| url.starts_with("ldaps://"))
    {
        return Err(context.error(
            value.span(),
            format!("starttls does not apply to {url:?}: ldaps:// is TLS from the start"),
        ));
    }
    let mode = mode(context, table)?;
    Ok(LdapConfig {
        urls,
        starttls,
        ca_file: table.ca_file.as_ref().map(|value| context.path(value, "ca_file")).transpose()?,
        login_attribute: login_attribute(context, table, &mode)?,
        mode,
        groups: groups(context, table)?,
        lowercase: table.lowercase.as_ref().is_some_and(|value| *value.get_ref()),
        pool_size: count(context, &table.pool_size, "pool_size", DEFAULT_POOL_SIZE)?,
        connect_timeout: context.positive_duration_or(
            &table.connect_timeout,
            "connect_timeout",
            DEFAULT_LDAP_CONNECT_TIMEOUT,
        )?,
        timeout: context.positive_duration_or(&table.timeout, "timeout", DEFAULT_LDAP_TIMEOUT)?,
        cache_ttl: context.duration_or(&table.cache_ttl, "cache_ttl", DEFAULT_REMOTE_CACHE_TTL)?,
        max_stale: context.optional_duration(&table.max_stale, "max_stale")?,
    })
}

/// `urls = [...]` or `url = "..."`: each `ldap://` or `ldaps://` with a host.
fn urls(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<Vec<String>, ConfigError> {
    let values: Vec<&Spanned<String>> = match (&table.urls, &table.url) {
        (Some(_), Some(url)) => {
            return Err(context.error(url.span(), "give either `url` or `urls`, not both"));
        }
        (None, None) => {
            return Err(context.missing("kind \"ldap\" needs `urls` (e.g. [\"ldaps://ldap.example.com\"])"));
        }
        (Some(urls), None) if urls.get_ref().is_empty() => {
            return Err(
                context.error(urls.span(), "urls is empty: list one or more ldap:// or ldaps:// URLs")
            );
        }
        (Some(urls), None) => urls.get_ref().iter().collect(),
        (None, Some(url)) => vec![url],
    };
    values
        .into_iter()
        .map(|value| {
            let text = value.get_ref();
            let rest = text.strip_prefix("ldaps://").or_else(|| text.strip_prefix("ldap://"));
            match rest {
                Some(rest)
                    if !rest.is_empty() && !rest.starts_with('/') && !text.contains(char::is_whitespace) =>
                {
                    Ok(text.clone())
                }
                _ => Err(context.error(
                    value.span(),
                    format!("{text:?} is not an ldap:// or ldaps:// URL, e.g. \"ldaps://ldap.example.com\""),
                )),
            }
        })
        .collect()
}

/// Search mode (`bind_dn`) or direct-bind mode (`user_dn`): exactly one.
fn mode(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<LdapMode, ConfigError> {
    match (&table.bind_dn, &table.user_dn) {
        (Some(_), Some(user_dn)) => Err(context.error(
            user_dn.span(),
            "give either `user_dn` (direct bind) or `bind_dn` (search with a service account), not both",
        )),
        (None, None) => Err(context.missing(
            "kind \"ldap\" needs `bind_dn` (search with a service account) or `user_dn` (direct bind)",
        )),
        (None, Some(user_dn)) => {
            let search_only = [
                ("bind_password_file", table.bind_password_file.as_ref().map(Spanned::span)),
                ("bind_password_env", table.bind_password_env.as_ref().map(Spanned::span)),
                ("base", table.base.as_ref().map(Spanned::span)),
                ("scope", table.scope.as_ref().map(Spanned::span)),
                ("filter", table.filter.as_ref().map(Spanned::span)),
            ];
            let mut present: Vec<_> =
                search_only.into_iter().filter_map(|(key, span)| span.map(|span| (key, span))).collect();
            present.sort_by_key(|(_, span)| span.start);
            if let Some((key, span)) = present.into_iter().next() {
                return Err(context.error(span, format!("`{key}` applies only to search mode (`bind_dn`)")));
            }
            let user_dn_text = context.word(user_dn, "user_dn")?;
            placeholder(context, user_dn, &[USER], "user_dn")?;
            Ok(LdapMode::DirectBind { user_dn: user_dn_text })
        }
        (Some(bind_dn), None) => {
            let Some(base) = &table.base else {
                return Err(
                    context.missing("search mode (`bind_dn`) needs `base` (where users are searched)")
                );
            };
            let filter = match &table.filter {
                Some(value) => {
                    let text = context.word(value, "filter")?;
                    placeholder(context, value, &[USER], "filter")?;
                    parenthesized(context, value, "filter")?;
                    text
                }
                None => DEFAULT_LDAP_FILTER.to_owned(),
            };
            Ok(LdapMode::Search {
                bind_dn: context.word(bind_dn, "bind_dn")?,
                bind_password: bind_password(context, table)?,
                base: context.word(base, "base")?,
                scope: scope(context, &table.scope)?,
                filter,
            })
        }
    }
}

/// The most a `bind_password_file` may hold: a password, not whatever a mistyped path (such as
/// `/dev/zero`) would feed a reader that never stops.
const PASSWORD_FILE_LIMIT: u64 = 4096;

/// The text of a password file, refused when it is larger than [`PASSWORD_FILE_LIMIT`] or not UTF-8.
fn read_password_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read as _;
    let unreadable =
        |error: std::io::Error| format!("cannot read bind_password_file {}: {error}", path.display());
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(PASSWORD_FILE_LIMIT + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > PASSWORD_FILE_LIMIT {
        return Err(format!(
            "bind_password_file {} holds more than {PASSWORD_FILE_LIMIT} bytes; it should hold only the password",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("bind_password_file {} is not UTF-8 text", path.display()))
}

/// The service account's password, read now from `bind_password_file` or `bind_password_env`.
fn bind_password(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<Secret, ConfigError> {
    let password = match (&table.bind_password_file, &table.bind_password_env) {
        (Some(_), Some(env)) => {
            return Err(context
                .error(env.span(), "give either `bind_password_file` or `bind_password_env`, not both"));
        }
        (None, None) => {
            return Err(context.missing(
                "search mode (`bind_dn`) needs `bind_password_file` or `bind_password_env` \
                 (the service account's password)",
            ));
        }
        (Some(file), None) => {
            let path = context.path(file, "bind_password_file")?;
            let text = read_password_file(&path).map_err(|why| context.error(file.span(), why))?;
            let text =
                text.strip_suffix('\n').map(|text| text.strip_suffix('\r').unwrap_or(text)).unwrap_or(&text);
            (file, text.to_owned())
        }
        (None, Some(env)) => {
            let variable = context.word(env, "bind_password_env")?;
            let Some(value) = (context.env)(&variable) else {
                return Err(context.error(env.span(), format!("environment variable {variable} is not set")));
            };
            (env, value)
        }
    };
    let (source, password) = password;
    if password.is_empty() {
        // An empty-password bind is an anonymous bind on many directories.
        return Err(context.error(source.span(), "the service account's password is empty"));
    }
    Ok(Secret::new(password))
}

fn scope(context: &AuthnContext<'_>, value: &Option<Spanned<String>>) -> Result<SearchScope, ConfigError> {
    match value.as_ref().map(|value| (value, value.get_ref().as_str())) {
        None | Some((_, "sub")) => Ok(SearchScope::Sub),
        Some((_, "one")) => Ok(SearchScope::One),
        Some((_, "base")) => Ok(SearchScope::Base),
        Some((value, other)) => {
            Err(context
                .error(value.span(), format!("scope {other:?}: expected \"base\", \"one\" or \"sub\"")))
        }
    }
}

/// An attribute name: letters, digits and `-` (or a numeric OID).
pub(super) fn attribute_name(
    context: &AuthnContext<'_>,
    value: &Spanned<String>,
    key: &str,
) -> Result<String, ConfigError> {
    let text = value.get_ref();
    let valid = text.chars().next().is_some_and(|first| first.is_ascii_alphanumeric())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid {
        return Err(context.error(value.span(), format!("{key} {text:?} is not an attribute name")));
    }
    Ok(text.clone())
}

/// `value` contains one of `placeholders`.
pub(super) fn placeholder(
    context: &AuthnContext<'_>,
    value: &Spanned<String>,
    placeholders: &[&str],
    key: &str,
) -> Result<(), ConfigError> {
    if placeholders.iter().any(|placeholder| value.get_ref().contains(placeholder)) {
        return Ok(());
    }
    let names: Vec<String> = placeholders.iter().map(|p| format!("`{p}`")).collect();
    Err(context.error(value.span(), format!("{key} must contain {}", names.join(" or "))))
}

/// A filter in parentheses with balanced parentheses.
pub(super) fn parenthesized(
    context: &AuthnContext<'_>,
    value: &Spanned<String>,
    key: &str,
) -> Result<(), ConfigError> {
    let text = value.get_ref();
    let mut depth = 0usize;
    let mut balanced = text.starts_with('(') && text.ends_with(')');
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => balanced = false,
            ')' => depth -= 1,
            _ => {}
        }
    }
    if !balanced || depth != 0 {
        return Err(context.error(
            value.span(),
            format!("{key} {text:?} is not a parenthesized LDAP filter, e.g. \"(uid=${{user}})\""),
        ));
    }
    Ok(())
}

/// A positive integer, or `default`.
pub(super) fn count(
    context: &AuthnContext<'_>,
    value: &Option<Spanned<i64>>,
    key: &str,
    default: usize,
) -> Result<usize, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match usize::try_from(*value.get_ref()) {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(context.error(value.span(), format!("{key} must be between 1 and 1000"))),
    }
}
