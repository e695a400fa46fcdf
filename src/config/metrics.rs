//! `[metrics]`: where `/metrics` is served.
//!
//! ```toml
//! [metrics]
//! address = "127.0.0.1:9090"   # a separate plain-HTTP listener for /metrics, /healthz, /readyz
//! ```
//!
//! Without `address`, `/metrics` is served on the plain-HTTP `[[listen]]` entries bound to a
//! loopback address only: never over TLS or on a public address, where it would tell anyone
//! the backends' names and how busy they are.

use std::net::SocketAddr;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Locator};

/// The validated `[metrics]` table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// A separate plain-HTTP listener for `/metrics`, `/healthz` and `/readyz`; then no other
    /// listener serves `/metrics`.
    pub address: Option<SocketAddr>,
}

/// `[metrics]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileMetrics {
    /// `ip:port`.
    address: Option<Spanned<String>>,
}

/// Validates `[metrics]`.
pub(crate) fn metrics(
    locator: &Locator<'_>,
    file: Option<FileMetrics>,
) -> Result<MetricsConfig, ConfigError> {
    let file = file.unwrap_or_default();
    let address = match &file.address {
        None => None,
        Some(value) => Some(value.get_ref().parse::<SocketAddr>().map_err(|_| {
            locator.at(
                value.span(),
                format!(
                    "bad metrics address {:?}: expected ip:port, e.g. \"127.0.0.1:9090\"",
                    value.get_ref()
                ),
            )
        })?),
    };
    Ok(MetricsConfig { address })
}

#[cfg(test)]
mod tests {

    use crate::config::test_head::parse_after_head;
    use crate::config::{Config, MetricsConfig};

    fn parse(table: &str) -> Result<Config, String> {
        parse_after_head(table)
    }

    #[test]
    fn address_is_optional_and_parsed() {
        assert_eq!(parse("").unwrap().metrics, MetricsConfig::default());
        let config = parse("[metrics]\naddress = \"127.0.0.1:9090\"\n").unwrap();
        assert_eq!(config.metrics.address, Some("127.0.0.1:9090".parse().unwrap()));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let error = parse("[metrics]\naddress = \"localhost\"\n").unwrap_err();
        assert!(error.starts_with("/srv/regent/regent.toml:11:11:"), "{error}");
        assert!(error.contains("bad metrics address"), "{error}");
        let error = parse("[metrics]\nport = 9090\n").unwrap_err();
        assert!(error.starts_with("/srv/regent/regent.toml:11:"), "{error}");
    }
}
