//! `[limits]`: how long a connection may sit idle or take to send its headers, how long
//! `POST /token` may take to send its form, and how many connections are served at once (in
//! total and per client address). Proxied registry transfers are never timed by these: a
//! multi-GiB upload streams as long as it takes.
//!
//! ```toml
//! [limits]
//! idle_timeout = "60s"                   # no request in flight (also: time to the first request)
//! handshake_timeout = "10s"              # the TLS handshake
//! header_read_timeout = "30s"            # HTTP/1.1: from ready-for-a-request to its last header
//! body_read_timeout = "10s"              # POST /token: the whole form; then 408
//! max_connections = 4096                 # open connections, all listeners together
//! max_connections_per_client = 256       # open connections from one IP address
//! http2_keep_alive_interval = "30s"      # ping an HTTP/2 client this often ...
//! http2_keep_alive_timeout = "20s"       # ... and close when the pong is this late
//! http2_max_concurrent_streams = 256     # requests in flight on one HTTP/2 connection
//! ```

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
    /// Open connections over all listeners; more are closed at once.
    pub max_connections: usize,
    /// Open connections from one client IP address; more are closed at once.
    pub max_connections_per_client: usize,
    /// How often an HTTP/2 connection is pinged.
    pub http2_keep_alive_interval: Duration,
    /// How long an HTTP/2 ping may go unanswered before the connection is closed.
    pub http2_keep_alive_timeout: Duration,
    /// Streams (requests) one HTTP/2 connection may have open at once.
    pub http2_max_concurrent_streams: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_connections_per_client: 256,
            http2_keep_alive_interval: Duration::from_secs(30),
            http2_keep_alive_timeout: Duration::from_secs(20),
            http2_max_concurrent_streams: 256,
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
    /// A count.
    max_connections: Option<Spanned<i64>>,
    /// A count.
    max_connections_per_client: Option<Spanned<i64>>,
    /// humantime.
    http2_keep_alive_interval: Option<Spanned<String>>,
    /// humantime.
    http2_keep_alive_timeout: Option<Spanned<String>>,
    /// A count.
    http2_max_concurrent_streams: Option<Spanned<i64>>,
}

/// Validates `[limits]`: durations above zero, counts from 1 up.
pub(crate) fn limits(locator: &Locator<'_>, file: Option<FileLimits>) -> Result<LimitsConfig, ConfigError> {
    let file = file.unwrap_or_default();
    let defaults = LimitsConfig::default();
    let time = |value: &Option<Spanned<String>>, what: &str, default: Duration| match value {
        None => Ok(default),
        Some(value) => match duration(locator, value, what)? {
            Duration::ZERO => Err(locator.at(value.span(), format!("{what} must be more than 0s"))),
            time => Ok(time),
        },
    };
    let count = |value: &Option<Spanned<i64>>, what: &str, default: u64, max: u64| match value {
        None => Ok(default),
        Some(value) => match u64::try_from(*value.get_ref()) {
            Ok(count) if (1..=max).contains(&count) => Ok(count),
            _ => Err(locator.at(value.span(), format!("{what} must be from 1 to {max}"))),
        },
    };
    let connections = |value, what, default: usize| {
        count(value, what, default as u64, u32::MAX.into()).map(|count| count as usize)
    };
    let streams = count(
        &file.http2_max_concurrent_streams,
        "http2_max_concurrent_streams",
        defaults.http2_max_concurrent_streams.into(),
        u32::MAX.into(),
    )?;
    Ok(LimitsConfig {
        idle_timeout: time(&file.idle_timeout, "idle_timeout", defaults.idle_timeout)?,
        handshake_timeout: time(&file.handshake_timeout, "handshake_timeout", defaults.handshake_timeout)?,
        header_read_timeout: time(
            &file.header_read_timeout,
            "header_read_timeout",
            defaults.header_read_timeout,
        )?,
        body_read_timeout: time(&file.body_read_timeout, "body_read_timeout", defaults.body_read_timeout)?,
        max_connections: connections(&file.max_connections, "max_connections", defaults.max_connections)?,
        max_connections_per_client: connections(
            &file.max_connections_per_client,
            "max_connections_per_client",
            defaults.max_connections_per_client,
        )?,
        http2_keep_alive_interval: time(
            &file.http2_keep_alive_interval,
            "http2_keep_alive_interval",
            defaults.http2_keep_alive_interval,
        )?,
        http2_keep_alive_timeout: time(
            &file.http2_keep_alive_timeout,
            "http2_keep_alive_timeout",
            defaults.http2_keep_alive_timeout,
        )?,
        http2_max_concurrent_streams: u32::try_from(streams).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
