//! `[limits]`: how long a connection may sit idle or take to send its headers, how large a
//! request head and a `POST /token` form may be, and how many connections are served at once
//! (in total, per listener and per client address). Proxied registry transfers are never timed
//! or size-limited by these: a multi-GiB upload streams as long as it takes.
//!
//! ```toml
//! [limits]
//! idle_timeout = "60s"                   # no request in flight (also: time to the first request)
//! handshake_timeout = "10s"              # the TLS handshake
//! header_read_timeout = "30s"            # HTTP/1.1: from ready-for-a-request to its last header
//! body_read_timeout = "10s"              # POST /token: the whole form; then 408
//! max_header_bytes = 32768               # request line + header fields; then 431
//! max_headers = 100                      # header fields in one request; then 431
//! max_uri_bytes = 8192                   # the request target (path and query); then 414
//! max_form_bytes = 16384                 # a POST /token form; then 413 (never proxied bodies)
//! max_connections = 4096                 # open connections, all listeners together
//! max_connections_per_listener = 4096    # open connections on one listener (default: max_connections)
//! max_connections_per_client = 256       # open connections from one IP address
//! http2_keep_alive_interval = "30s"      # ping an HTTP/2 client this often ...
//! http2_keep_alive_timeout = "20s"       # ... and close when the pong is this late
//! http2_max_concurrent_streams = 256     # requests in flight on one HTTP/2 connection
//! http2_max_header_list_size = 65536     # HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE
//! ```
//!
//! A head over `max_header_bytes` or `max_headers`, or a target over `max_uri_bytes`, is
//! answered with a registry-style JSON error. HTTP/1.1 heads over 4 x `max_header_bytes` (or
//! with more than 2 x `max_headers` fields) are refused by hyper while reading them, with a 431
//! and no body; HTTP/2 header lists over `http2_max_header_list_size` by h2, with a 431 and no
//! body, then the stream reset. Both bound the memory one request head can take.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::validate::duration;

/// The validated `[limits]` table; every field has a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// A connection with no request in flight for this long is closed (also one that sends
    /// nothing at all, after TCP, after the TLS handshake or after the HTTP/2 preface).
    pub idle_timeout: Duration,
    /// How long a client may take to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// HTTP/1.1: how long a request's head may take, counted from when the connection is ready
    /// for it (accepted, or the previous response sent).
    pub header_read_timeout: Duration,
    /// How long the form of a `POST /token` may take to arrive; then the answer is 408.
    pub body_read_timeout: Duration,
    /// The largest request head (request line and header fields, counted as HTTP/1.1 sends
    /// them); larger ones are answered 431.
    pub max_header_bytes: usize,
    /// The most header fields one request may carry; more are answered 431.
    pub max_headers: usize,
    /// The longest request target (path and query); longer ones are answered 414.
    pub max_uri_bytes: usize,
    /// The largest `POST /token` form; larger ones are answered 413. Proxied bodies have no limit.
    pub max_form_bytes: usize,
    /// Open connections over all listeners; more are closed at once.
    pub max_connections: usize,
    /// Open connections on one listener; more are closed at once.
    pub max_connections_per_listener: usize,
    /// Open connections from one client IP address; more are closed at once.
    pub max_connections_per_client: usize,
    /// How often an HTTP/2 connection is pinged.
    pub http2_keep_alive_interval: Duration,
    /// How long an HTTP/2 ping may go unanswered before the connection is closed.
    pub http2_keep_alive_timeout: Duration,
    /// Streams (requests) one HTTP/2 connection may have open at once.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2's `SETTINGS_MAX_HEADER_LIST_SIZE`: the largest header list (names, values and 32
    /// bytes per field) h2 decodes; larger ones are refused with a bare 431 and a stream reset.
    pub http2_max_header_list_size: u32,
}

impl LimitsConfig {
    /// hyper's HTTP/1.1 read buffer: heads up to 4 x `max_header_bytes` reach regent (which
    /// answers those over the limit with a JSON 431); hyper refuses larger ones itself.
    pub fn http1_max_buf_size(&self) -> usize {
        self.max_header_bytes.saturating_mul(4).max(HYPER_MIN_BUF_SIZE)
    }

    /// hyper's HTTP/1.1 header field cap: 2 x `max_headers`, for the same reason.
    pub fn http1_max_headers(&self) -> usize {
        self.max_headers.saturating_mul(2)
    }
}

/// The smallest read buffer hyper accepts (`max_buf_size` panics below it).
const HYPER_MIN_BUF_SIZE: usize = 8192;

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
            max_header_bytes: 32 * 1024,
            max_headers: 100,
            max_uri_bytes: 8 * 1024,
            max_form_bytes: 16 * 1024,
            max_connections: 4096,
            max_connections_per_listener: 4096,
            max_connections_per_client: 256,
            http2_keep_alive_interval: Duration::from_secs(30),
            http2_keep_alive_timeout: Duration::from_secs(20),
            http2_max_concurrent_streams: 256,
            http2_max_header_list_size: 64 * 1024,
        }
    }
}

/// `[limits]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileLimits {
    /// humantime.
    idle_timeout: Option<Spanned<String>>,
    /// humantime.
    handshake_timeout: Option<Spanned<String>>,
    /// humantime.
    header_read_timeout: Option<Spanned<String>>,
    /// humantime.
    body_read_timeout: Option<Spanned<String>>,
    /// Bytes.
    max_header_bytes: Option<Spanned<i64>>,
    /// A count.
    max_headers: Option<Spanned<i64>>,
    /// Bytes.
    max_uri_bytes: Option<Spanned<i64>>,
    /// Bytes.
    max_form_bytes: Option<Spanned<i64>>,
    /// A count.
    max_connections: Option<Spanned<i64>>,
    /// A count.
    max_connections_per_listener: Option<Spanned<i64>>,
    /// A count.
    max_connections_per_client: Option<Spanned<i64>>,
    /// humantime.
    http2_keep_alive_interval: Option<Spanned<String>>,
    /// humantime.
    http2_keep_alive_timeout: Option<Spanned<String>>,
    /// A count.
    http2_max_concurrent_streams: Option<Spanned<i64>>,
    /// Bytes.
    http2_max_header_list_size: Option<Spanned<i64>>,
}

/// The smallest size limit accepted (anything smaller refuses ordinary requests).
const MIN_SIZE: u64 = 1024;
/// The largest request head or form accepted (1 MiB).
const MAX_SIZE: u64 = 1 << 20;
/// The most header fields a request may be allowed.
const MAX_HEADERS: u64 = 10_000;
/// hyper's own cap on a request target (it answers 414 beyond it).
const MAX_URI: u64 = u16::MAX as u64 - 1;

/// Validates `[limits]`: durations above zero, counts from 1 up, sizes within their ranges.
pub(crate) fn limits(locator: &Locator<'_>, file: Option<FileLimits>) -> Result<LimitsConfig, ConfigError> {
    let file = file.unwrap_or_default();
    let d = LimitsConfig::default();
    let time = |value: &Option<Spanned<String>>, what: &str, default: Duration| match value {
        None => Ok(default),
        Some(value) => match duration(locator, value, what)? {
            Duration::ZERO => Err(locator.at(value.span(), format!("{what} must be more than 0s"))),
            time => Ok(time),
        },
    };
    let number = |value: &Option<Spanned<i64>>, what: &str, default: u64, min: u64, max: u64| match value {
        None => Ok(default),
        Some(value) => match u64::try_from(*value.get_ref()) {
            Ok(count) if (min..=max).contains(&count) => Ok(count),
            _ => Err(locator.at(value.span(), format!("{what} must be from {min} to {max}"))),
        },
    };
    // Every bound below is at most u32::MAX, so the conversions never truncate.
    let count = |value, what, default: usize| {
        number(value, what, default as u64, 1, u32::MAX.into()).map(|count| count as usize)
    };
    let size = |value, what, default: usize, max: u64| {
        number(value, what, default as u64, MIN_SIZE, max).map(|size| size as usize)
    };
    let max_connections = count(&file.max_connections, "max_connections", d.max_connections)?;
    let streams = count(
        &file.http2_max_concurrent_streams,
        "http2_max_concurrent_streams",
        d.http2_max_concurrent_streams as usize,
    )?;
    let header_list = size(
        &file.http2_max_header_list_size,
        "http2_max_header_list_size",
        d.http2_max_header_list_size as usize,
        u32::MAX.into(),
    )?;
    Ok(LimitsConfig {
        idle_timeout: time(&file.idle_timeout, "idle_timeout", d.idle_timeout)?,
        handshake_timeout: time(&file.handshake_timeout, "handshake_timeout", d.handshake_timeout)?,
        header_read_timeout: time(&file.header_read_timeout, "header_read_timeout", d.header_read_timeout)?,
        body_read_timeout: time(&file.body_read_timeout, "body_read_timeout", d.body_read_timeout)?,
        max_header_bytes: size(&file.max_header_bytes, "max_header_bytes", d.max_header_bytes, MAX_SIZE)?,
        max_headers: number(&file.max_headers, "max_headers", d.max_headers as u64, 1, MAX_HEADERS)? as usize,
        max_uri_bytes: size(&file.max_uri_bytes, "max_uri_bytes", d.max_uri_bytes, MAX_URI)?,
        max_form_bytes: size(&file.max_form_bytes, "max_form_bytes", d.max_form_bytes, MAX_SIZE)?,
        max_connections,
        max_connections_per_listener: count(
            &file.max_connections_per_listener,
            "max_connections_per_listener",
            max_connections,
        )?,
        max_connections_per_client: count(
            &file.max_connections_per_client,
            "max_connections_per_client",
            d.max_connections_per_client,
        )?,
        http2_keep_alive_interval: time(
            &file.http2_keep_alive_interval,
            "http2_keep_alive_interval",
            d.http2_keep_alive_interval,
        )?,
        http2_keep_alive_timeout: time(
            &file.http2_keep_alive_timeout,
            "http2_keep_alive_timeout",
            d.http2_keep_alive_timeout,
        )?,
        http2_max_concurrent_streams: u32::try_from(streams).unwrap_or(u32::MAX),
        http2_max_header_list_size: u32::try_from(header_list).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
