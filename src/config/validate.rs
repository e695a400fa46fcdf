//! [`FileConfig`] -> [`Config`]: value checks, defaults and path resolution, each error at the
//! span of the value at fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::authn::{EnvLookup, authn};
use super::error::{ConfigError, Locator};
use super::file::{FileConfig, FileListen};
use super::{Config, ListenConfig, PolicyConfig};

/// The token lifetime when `ttl` is not given.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);
/// The shortest token lifetime accepted.
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(60);

/// Checks `file` (read from `path`, whose text is `text`) and resolves its paths against the
/// directory of `path`; `env` reads the environment variables the file names.
pub(crate) fn validate(
    file: FileConfig,
    path: &Path,
    text: &str,
    env: EnvLookup<'_>,
) -> Result<Config, ConfigError> {
    let locator = Locator { path, text };
    let base = path.parent().unwrap_or(Path::new(""));
    let refresh = super::refresh::refresh(&locator, base, file.token.get_ref())?;
    let token = super::token::token(&locator, base, file.token)?;
    let authn = authn(&locator, base, env, file.authn)?;
    let policy =
        PolicyConfig { directory: resolve(&locator, base, &file.policy.directory, "policy directory")? };
    let listen = listen(&locator, base, file.listen)?;
    let front = super::front::front(&locator, file.front, &listen)?;
    let limits = super::limits::limits(&locator, file.limits)?;
    let metrics = super::metrics::metrics(&locator, file.metrics)?;
    let lockout = super::lockout::lockout(&locator, file.lockout)?;
    let log = super::log::log(&locator, base, file.log)?;
    Ok(Config {
        path: path.to_path_buf(),
        token,
        refresh,
        authn,
        policy,
        listen,
        front,
        limits,
        metrics,
        lockout,
        log,
    })
}

fn listen(
    locator: &Locator<'_>,
    base: &Path,
    entries: Vec<FileListen>,
) -> Result<Vec<ListenConfig>, ConfigError> {
    let mut listeners: Vec<ListenConfig> = Vec::with_capacity(entries.len());
    for entry in entries {
        let text = entry.address.get_ref();
        let address: SocketAddr = text.parse().map_err(|_| {
            locator.at(
                entry.address.span(),
                format!("bad listen address {text:?}: expected ip:port, e.g. \"127.0.0.1:5001\""),
            )
        })?;
        if listeners.iter().any(|seen| seen.address == address) {
            return Err(locator.at(entry.address.span(), format!("listen address {address} is given twice")));
        }
        let tls = super::front::listen_tls(locator, base, entry.tls)?;
        let upstream = match &entry.upstream {
            Some(upstream) => Some(super::front::upstream(locator, upstream)?),
            None => None,
        };
        let trusted_proxies = super::front::trusted_proxies(locator, entry.trusted_proxies.as_deref())?;
        listeners.push(ListenConfig { address, tls, upstream, trusted_proxies });
    }
    Ok(listeners)
}

/// A non-empty value without surrounding whitespace.
pub(super) fn word(
    locator: &Locator<'_>,
    value: &Spanned<String>,
    what: &str,
) -> Result<String, ConfigError> {
    let text = value.get_ref();
    if text.trim().is_empty() {
        return Err(locator.at(value.span(), format!("{what} must not be empty")));
    }
    if text.trim() != text {
        return Err(
            locator.at(value.span(), format!("{what} {text:?} must not start or end with whitespace"))
        );
    }
    Ok(text.clone())
}

/// An `http://` or `https://` URL with a host.
pub(super) fn realm(locator: &Locator<'_>, value: &Spanned<String>) -> Result<String, ConfigError> {
    let text = value.get_ref();
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(host) if !host.is_empty() && !text.contains(char::is_whitespace) => Ok(text.clone()),
        _ => Err(locator.at(
            value.span(),
            format!("realm {text:?} is not an http(s) URL, e.g. \"https://auth.example.com/token\""),
        )),
    }
}

/// A humantime duration (`"300s"`, `"5m"`).
pub(super) fn duration(
    locator: &Locator<'_>,
    value: &Spanned<String>,
    what: &str,
) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value.get_ref()).map_err(|error| {
        locator.at(
            value.span(),
            format!("bad {what} {:?}: {error} (write e.g. \"300s\" or \"5m\")", value.get_ref()),
        )
    })
}

/// A non-empty path, resolved against `base` when relative.
pub(super) fn resolve(
    locator: &Locator<'_>,
    base: &Path,
    value: &Spanned<String>,
    what: &str,
) -> Result<PathBuf, ConfigError> {
    if value.get_ref().is_empty() {
        return Err(locator.at(value.span(), format!("{what} path must not be empty")));
    }
    Ok(base.join(value.get_ref()))
}
