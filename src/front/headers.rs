//! Header rewriting for the proxy: hop-by-hop headers out, the client's host and the
//! `X-Forwarded-*` headers in (the registry builds upload `Location` URLs from them), and the
//! registry's API version header where the upstream left it out.

use std::net::IpAddr;

use axum::http::Uri;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `X-Forwarded-For`: the client addresses, appended hop by hop.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`: `https` on TLS listeners.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`: the host the client asked for.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// The header every registry response carries.
pub const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");
/// Its value.
pub const API_VERSION_VALUE: HeaderValue = HeaderValue::from_static("registry/2.0");

/// Headers that describe one connection, never forwarded (RFC 9110 section 7.6.1), plus
/// `Expect` (this proxy answers `100-continue` itself).
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// How the client reached this proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarding {
    /// The client's address, when known.
    pub client: Option<IpAddr>,
    /// Whether it came over TLS.
    pub tls: bool,
}

/// Removes the hop-by-hop headers and any header the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    for name in named {
        headers.remove(name);
    }
}

/// The host the client asked for: the request target's authority (HTTP/2's `:authority`, or
/// an absolute-form HTTP/1.1 target), else the `Host` header.
pub fn client_host(uri: &Uri, headers: &HeaderMap) -> Option<HeaderValue> {
    match uri.authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => headers.get(header::HOST).cloned(),
    }
}

/// The host name of a `Host` value: lower case, without port or IPv6 brackets.
pub fn host_name(host: &HeaderValue) -> Option<String> {
    let text = host.to_str().ok()?;
    let name = match text.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next()?,
        None => text.rsplit_once(':').map_or(text, |(name, _port)| name),
    };
    Some(name.to_ascii_lowercase())
}

/// Sets `Host` (to the client's host) and the `X-Forwarded-*` headers of a request going
/// upstream. On a TLS listener `Host` and `Proto` are set; on a plain listener a load balancer
/// in front may have set them already, and its values are kept. `For` is appended to.
pub fn set_forwarded(headers: &mut HeaderMap, host: Option<&HeaderValue>, forwarding: Forwarding) {
    if let Some(host) = host {
        headers.insert(header::HOST, host.clone());
        if forwarding.tls || !headers.contains_key(X_FORWARDED_HOST) {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
    }
    if forwarding.tls || !headers.contains_key(X_FORWARDED_PROTO) {
        let proto = if forwarding.tls { "https" } else { "http" };
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    }
    if let Some(client) = forwarding.client {
        let earlier: Vec<&str> =
            headers.get_all(X_FORWARDED_FOR).iter().filter_map(|value| value.to_str().ok()).collect();
        let client = client.to_string();
        let chain = if earlier.is_empty() { client } else { format!("{}, {client}", earlier.join(", ")) };
        if let Ok(value) = HeaderValue::from_str(&chain) {
            headers.insert(X_FORWARDED_FOR, value);
        }
    }
}

/// Adds `Docker-Distribution-Api-Version: registry/2.0` unless the response has one.
pub fn add_api_version(headers: &mut HeaderMap) {
    if !headers.contains_key(API_VERSION) {
        headers.insert(API_VERSION, API_VERSION_VALUE);
    }
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
