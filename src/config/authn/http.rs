//! `kind = "http"`: an external HTTP auth API.

use std::time::Duration;

use toml::Spanned;

use super::{AuthnContext, DEFAULT_REMOTE_CACHE_TTL};
use crate::config::error::ConfigError;
use crate::config::file::FileAuthn;
use crate::config::{HttpAuthConfig, HttpCredentials};

/// The request timeout when `timeout` is not given.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks an `http` table (its keys are already known to belong to the kind).
pub(super) fn http(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<HttpAuthConfig, ConfigError> {
    let Some(url) = &table.url else {
        return Err(context.missing("kind \"http\" needs `url` (the auth API, http:// or https://)"));
    };
    let url_text = http_url(context, url)?;
    let credentials = match table.credentials.as_ref().map(|value| (value, value.get_ref().as_str())) {
        None | Some((_, "basic")) => HttpCredentials::Basic,
        Some((_, "json")) => HttpCredentials::Json,
        Some((value, other)) => {
            return Err(
                context.error(value.span(), format!("credentials {other:?}: expected \"basic\" or \"json\""))
            );
        }
    };
    let ca_file = match &table.ca_file {
        Some(ca_file) if !url_text.starts_with("https://") => {
            return Err(context.error(ca_file.span(), "ca_file applies only to an https:// url"));
        }
        Some(ca_file) => Some(context.path(ca_file, "ca_file")?),
        None => None,
    };
    Ok(HttpAuthConfig {
        url: url_text,
        credentials,
        ca_file,
        timeout: context.positive_duration_or(&table.timeout, "timeout", DEFAULT_HTTP_TIMEOUT)?,
        cache_ttl: context.duration_or(&table.cache_ttl, "cache_ttl", DEFAULT_REMOTE_CACHE_TTL)?,
        max_stale: context.optional_duration(&table.max_stale, "max_stale")?,
    })
}

/// An `http://` or `https://` URL with a host and no whitespace.
pub(super) fn http_url(context: &AuthnContext<'_>, value: &Spanned<String>) -> Result<String, ConfigError> {
    let text = value.get_ref();
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(host) if !host.is_empty() && !text.contains(char::is_whitespace) => Ok(text.clone()),
        _ => Err(context.error(
            value.span(),
            format!("url {text:?} is not an http(s) URL, e.g. \"https://auth.example.com/check\""),
        )),
    }
}
