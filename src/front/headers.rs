//! Header rewriting for the proxy: hop-by-hop headers out, the client's host and the
//! forwarding headers in (the registry builds upload `Location` URLs from them, preferring
//! `Forwarded` over `X-Forwarded-*`), and the registry's API version header where the upstream
//! left it out. Forwarding headers a client sent are dropped unless its address is a
//! configured `trusted_proxies` entry.

use std::net::IpAddr;

use axum::http::Uri;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `X-Forwarded-For`: the client addresses, appended hop by hop.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`: `https` on TLS listeners.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`: the host the client asked for.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `X-Forwarded-Port`: never set here, dropped from untrusted peers.
pub const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
/// `X-Real-IP`: never set here, dropped from untrusted peers.
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
/// The forwarding headers only a trusted proxy may send.
const FORWARDING_HEADERS: [HeaderName; 6] =
    [header::FORWARDED, X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, X_FORWARDED_PORT, X_REAL_IP];
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
    /// Whether the peer is a trusted proxy, whose forwarding headers are kept.
    pub trusted: bool,
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

/// The host the client asked for: the request target's authority (HTTP/2's `:authority`;
/// HTTP/1.x absolute-form targets are refused before routing), else the `Host` header.
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

/// Sets `Host` (to the client's host) and the forwarding headers of a request going upstream.
///
/// From an untrusted peer every forwarding header it sent is dropped and `X-Forwarded-For`,
/// `-Proto`, `-Host` and `Forwarded` are set from the connection. From a trusted proxy they are
/// kept: on a TLS listener `X-Forwarded-Host` and `-Proto` are still set, on a plain listener
/// the proxy's values stay; `X-Forwarded-For` and `Forwarded` (when present) get this hop
/// appended.
pub fn set_forwarded(headers: &mut HeaderMap, host: Option<&HeaderValue>, forwarding: Forwarding) {
    if !forwarding.trusted {
        for name in FORWARDING_HEADERS {
            headers.remove(name);
        }
    }
    let proto = if forwarding.tls { "https" } else { "http" };
    if (!forwarding.trusted || headers.contains_key(header::FORWARDED))
        && let Some(element) = forwarded_element(host, forwarding.client, proto)
    {
        append(headers, header::FORWARDED, &element);
    }
    if let Some(host) = host {
        headers.insert(header::HOST, host.clone());
        if forwarding.tls || !headers.contains_key(X_FORWARDED_HOST) {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
    }
    if forwarding.tls || !headers.contains_key(X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    }
    if let Some(client) = forwarding.client {
        append(headers, X_FORWARDED_FOR, &client.to_canonical().to_string());
    }
}

/// The client a trusted proxy forwarded: the last `X-Forwarded-For` entry (the address the
/// proxy itself saw; earlier entries are the client's word). `None` when absent or not an IP.
pub fn forwarded_client(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all(X_FORWARDED_FOR).iter().next_back()?;
    last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

/// Appends `item` to the comma-separated list of header `name`, leaving one header line.
fn append(headers: &mut HeaderMap, name: HeaderName, item: &str) {
    let earlier: Vec<&str> = headers.get_all(&name).iter().filter_map(|value| value.to_str().ok()).collect();
    let list = if earlier.is_empty() { item.to_owned() } else { format!("{}, {item}", earlier.join(", ")) };
    if let Ok(value) = HeaderValue::from_str(&list) {
        headers.insert(name, value);
    }
}

/// This hop's `Forwarded` element (RFC 7239): `for=PEER;host="HOST";proto=PROTO`, IPv6
/// addresses and the host quoted.
fn forwarded_element(host: Option<&HeaderValue>, client: Option<IpAddr>, proto: &str) -> Option<String> {
    let mut parts = Vec::with_capacity(3);
    match client.map(|client| client.to_canonical()) {
        Some(IpAddr::V4(v4)) => parts.push(format!("for={v4}")),
        Some(IpAddr::V6(v6)) => parts.push(format!("for=\"[{v6}]\"")),
        None => {}
    }
    if let Some(host) = host {
        let host = host.to_str().ok()?;
        parts.push(format!("host=\"{}\"", host.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    parts.push(format!("proto={proto}"));
    Some(parts.join(";"))
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
