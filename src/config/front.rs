//! The TLS front end's settings: `[listen.tls]` (with `[[listen.tls.sni]]`), a listener's
//! `upstream`, and `[front]` with its `[[front.route]]` entries. File structs, validated types
//! and their checks live here so the rest of the config stays as it was.
//!
//! ```toml
//! [[listen]]
//! address = "0.0.0.0:443"
//! upstream = "http://127.0.0.1:5000"     # the registry behind this listener; optional
//! trusted_proxies = ["10.0.0.0/8"]       # optional: peers whose Forwarded/X-Forwarded-* are kept
//! [listen.tls]                           # without it the listener speaks plain HTTP
//! certificate = "certs/server.crt"       # the default certificate (chain, PEM)
//! key = "certs/server.key"
//! [[listen.tls.sni]]                     # optional: chosen when the client's SNI names one
//! names = ["registry.example.com"]
//! certificate = "certs/registry.crt"
//! key = "certs/registry.key"
//!
//! [front]
//! connect_timeout = "10s"                # connecting to an upstream
//! response_timeout = "60s"               # from the end of the request body to the response head
//! shutdown_timeout = "30s"               # SIGTERM: how long open transfers may take to finish
//! [[front.route]]                        # host and/or listener -> upstream; first match wins
//! host = "nexus.example.com"
//! listener = "0.0.0.0:443"
//! upstream = "http://127.0.0.1:8081"
//! registry = false                       # true: regent answers /token, /auth/token, /healthz
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::Uri;
use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::ListenConfig;
use super::error::{ConfigError, Locator};
use super::validate::{duration, resolve};

/// How long connecting to an upstream may take when `connect_timeout` is not given.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an upstream may take to start its answer (counted from the end of the request
/// body) when `response_timeout` is not given.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long open connections may take to finish after SIGTERM or SIGINT when
/// `shutdown_timeout` is not given; then they are cut.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// `[listen.tls]`: the certificates a TLS listener presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The default certificate chain (PEM), used when no SNI entry matches or SNI is absent.
    pub certificate: PathBuf,
    /// The default certificate's private key (PEM).
    pub key: PathBuf,
    /// Further certificates, chosen by the client's SNI name.
    pub sni: Vec<SniCertificate>,
}

/// One `[[listen.tls.sni]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniCertificate {
    /// The server names (lower case; `*.example.com` matches one label) it is presented for.
    pub names: Vec<String>,
    /// The certificate chain (PEM).
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

/// `[front]`: proxy timeouts and `[[front.route]]` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontConfig {
    /// Routes by host name and/or listener, in file order (the first match wins).
    pub routes: Vec<RouteConfig>,
    /// How long connecting to an upstream may take.
    pub connect_timeout: Duration,
    /// How long an upstream may take to send its response head after the request body ended.
    pub response_timeout: Duration,
    /// How long open connections (token requests, proxied transfers) may take to finish on
    /// shutdown before they are cut.
    pub shutdown_timeout: Duration,
}

impl Default for FrontConfig {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// One `[[front.route]]` entry: requests for `host` (and/or on `listener`) go to `upstream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// The request's host name (lower case, without port); `None` matches any host.
    pub host: Option<String>,
    /// The listener address; `None` matches every listener.
    pub listener: Option<SocketAddr>,
    /// Where matching requests go: `http://host:port`.
    pub upstream: Uri,
    /// Whether the upstream is a registry: then regent answers its token paths itself.
    pub registry: bool,
}

/// `[listen.tls]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileListenTls {
    /// The default certificate chain.
    pub(crate) certificate: Spanned<String>,
    /// The default key.
    pub(crate) key: Spanned<String>,
    /// `[[listen.tls.sni]]`.
    #[serde(default)]
    pub(crate) sni: Vec<FileSni>,
}

/// `[[listen.tls.sni]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSni {
    /// Server names.
    pub(crate) names: Spanned<Vec<Spanned<String>>>,
    /// The certificate chain.
    pub(crate) certificate: Spanned<String>,
    /// The key.
    pub(crate) key: Spanned<String>,
}

/// `[front]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileFront {
    /// humantime.
    pub(crate) connect_timeout: Option<Spanned<String>>,
    /// humantime.
    pub(crate) response_timeout: Option<Spanned<String>>,
    /// humantime.
    pub(crate) shutdown_timeout: Option<Spanned<String>>,
    /// `[[front.route]]`.
    #[serde(default)]
    pub(crate) route: Vec<Spanned<FileRoute>>,
}

/// `[[front.route]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRoute {
    /// Host name.
    pub(crate) host: Option<Spanned<String>>,
    /// Listener address.
    pub(crate) listener: Option<Spanned<String>>,
    /// Upstream URL.
    pub(crate) upstream: Spanned<String>,
    /// Whether it is a registry (default false).
    pub(crate) registry: Option<bool>,
}

/// Validates a listener's `tls` table.
pub(crate) fn listen_tls(
    locator: &Locator<'_>,
    base: &Path,
    tls: Option<FileListenTls>,
) -> Result<Option<TlsConfig>, ConfigError> {
    let Some(tls) = tls else { return Ok(None) };
    let mut sni = Vec::with_capacity(tls.sni.len());
    for entry in &tls.sni {
        if entry.names.get_ref().is_empty() {
            return Err(locator.at(entry.names.span(), "sni names must not be empty"));
        }
        let names = entry
            .names
            .get_ref()
            .iter()
            .map(|name| server_name(locator, name, "sni name", true))
            .collect::<Result<_, _>>()?;
        sni.push(SniCertificate {
            names,
            certificate: resolve(locator, base, &entry.certificate, "certificate")?,
            key: resolve(locator, base, &entry.key, "key")?,
        });
    }
    Ok(Some(TlsConfig {
        certificate: resolve(locator, base, &tls.certificate, "certificate")?,
        key: resolve(locator, base, &tls.key, "key")?,
        sni,
    }))
}

/// Validates `[front]` against the validated listeners.
pub(crate) fn front(
    locator: &Locator<'_>,
    front: Option<FileFront>,
    listeners: &[ListenConfig],
) -> Result<FrontConfig, ConfigError> {
    let front = front.unwrap_or_default();
    let timeout = |value: &Option<Spanned<String>>, what: &str, default: Duration| match value {
        Some(value) => match duration(locator, value, what)? {
            Duration::ZERO => Err(locator.at(value.span(), format!("{what} must be more than 0s"))),
            timeout => Ok(timeout),
        },
        None => Ok(default),
    };
    let connect_timeout = timeout(&front.connect_timeout, "connect_timeout", DEFAULT_CONNECT_TIMEOUT)?;
    let response_timeout = timeout(&front.response_timeout, "response_timeout", DEFAULT_RESPONSE_TIMEOUT)?;
    let shutdown_timeout = timeout(&front.shutdown_timeout, "shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT)?;
    let mut routes: Vec<RouteConfig> = Vec::with_capacity(front.route.len());
    for entry in &front.route {
        let route = route(locator, entry, listeners)?;
        if routes.iter().any(|seen| (&seen.host, seen.listener) == (&route.host, route.listener)) {
            return Err(locator.at(entry.span(), "a route for this host and listener is given twice"));
        }
        routes.push(route);
    }
    Ok(FrontConfig { routes, connect_timeout, response_timeout, shutdown_timeout })
}

fn route(
    locator: &Locator<'_>,
    entry: &Spanned<FileRoute>,
    listeners: &[ListenConfig],
) -> Result<RouteConfig, ConfigError> {
    let table = entry.get_ref();
    let host = match &table.host {
        Some(host) => Some(server_name(locator, host, "route host", false)?),
        None => None,
    };
    let listener = match &table.listener {
        Some(text) => {
            let address: SocketAddr = text.get_ref().parse().map_err(|_| {
                locator.at(text.span(), format!("bad route listener {:?}: expected ip:port", text.get_ref()))
            })?;
            if !listeners.iter().any(|listen| listen.address == address) {
                return Err(
                    locator.at(text.span(), format!("route listener {address} is not a [[listen]] address"))
                );
            }
            Some(address)
        }
        None => None,
    };
    if host.is_none() && listener.is_none() {
        return Err(locator.at(entry.span(), "a [[front.route]] needs `host`, `listener` or both"));
    }
    let upstream = upstream(locator, &table.upstream)?;
    Ok(RouteConfig { host, listener, upstream, registry: table.registry.unwrap_or(false) })
}

/// `trusted_proxies`: IP addresses (`10.0.0.5`) and CIDR networks (`10.0.0.0/8`, `fd00::/8`).
pub(crate) fn trusted_proxies(
    locator: &Locator<'_>,
    entries: Option<&[Spanned<String>]>,
) -> Result<Vec<IpNet>, ConfigError> {
    let parse = |entry: &Spanned<String>| {
        let text = entry.get_ref().trim();
        let network = match text.parse::<IpNet>() {
            Ok(network) => Some(network.trunc()),
            Err(_) => text.parse::<IpAddr>().ok().map(IpNet::from),
        };
        network.ok_or_else(|| {
            locator.at(
                entry.span(),
                format!(
                    "bad trusted proxy {:?}: expected an IP address or a CIDR network, e.g. \"10.0.0.0/8\"",
                    entry.get_ref()
                ),
            )
        })
    };
    entries.unwrap_or_default().iter().map(parse).collect()
}

/// An upstream URL: `http://host[:port]`, nothing after the authority but an optional `/`.
pub(crate) fn upstream(locator: &Locator<'_>, value: &Spanned<String>) -> Result<Uri, ConfigError> {
    let text = value.get_ref();
    let bad = |why: &str| locator.at(value.span(), format!("bad upstream {text:?}: {why}"));
    let uri: Uri = text.parse().map_err(|_| bad("not a URL, e.g. \"http://127.0.0.1:5000\""))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(bad("https upstreams are not supported; use http:// on a private address"));
        }
        _ => return Err(bad("expected http://host:port")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !matches!(uri.path_and_query().map(|p| p.as_str()), None | Some("/")) {
        return Err(bad("a path is not supported: requests keep their own path"));
    }
    Ok(uri)
}

/// A DNS name (or IP address) in lower case; with `wildcard`, a leading `*.` label is allowed.
fn server_name(
    locator: &Locator<'_>,
    value: &Spanned<String>,
    what: &str,
    wildcard: bool,
) -> Result<String, ConfigError> {
    let name = value.get_ref().to_ascii_lowercase();
    let plain = if wildcard { name.strip_prefix("*.").unwrap_or(&name) } else { &name };
    let valid = !plain.is_empty()
        && plain
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid {
        let hint = if wildcard { " (a name like registry.example.com or *.example.com)" } else { "" };
        return Err(locator.at(value.span(), format!("bad {what} {:?}{hint}", value.get_ref())));
    }
    Ok(name)
}

#[cfg(test)]
mod tests;
