//! `[limits]`: defaults, every key, and each error's `file:line:col`.

use std::time::Duration;

use crate::config::test_head::parse_after_head;
use crate::config::{Config, LimitsConfig};

fn parse(limits: &str) -> Result<Config, String> {
    parse_after_head(limits)
}

#[test]
fn defaults_without_a_limits_table() {
    let limits = parse("").unwrap().limits;
    assert_eq!(limits, LimitsConfig::default());
    assert_eq!(limits.idle_timeout, Duration::from_secs(60));
    assert_eq!(limits.body_read_timeout, Duration::from_secs(10));
    assert_eq!((limits.max_connections, limits.max_connections_per_client), (4096, 256));
}

#[test]
fn every_key_parses() {
    let text = r#"[limits]
idle_timeout = "5s"
handshake_timeout = "3s"
header_read_timeout = "4s"
body_read_timeout = "2s"
max_connections = 100
max_connections_per_client = 10
http2_keep_alive_interval = "7s"
http2_keep_alive_timeout = "6s"
http2_max_concurrent_streams = 50
"#;
    let expected = LimitsConfig {
        idle_timeout: Duration::from_secs(5),
        handshake_timeout: Duration::from_secs(3),
        header_read_timeout: Duration::from_secs(4),
        body_read_timeout: Duration::from_secs(2),
        max_connections: 100,
        max_connections_per_client: 10,
        http2_keep_alive_interval: Duration::from_secs(7),
        http2_keep_alive_timeout: Duration::from_secs(6),
        http2_max_concurrent_streams: 50,
    };
    assert_eq!(parse(text).unwrap().limits, expected);
}

#[test]
fn errors_name_file_line_and_column() {
    let cases = [
        ("[limits]\nidle_timeout = \"0s\"\n", ":11:16: idle_timeout must be more than 0s"),
        ("[limits]\nbody_read_timeout = \"soon\"\n", ":11:21: bad body_read_timeout \"soon\""),
        ("[limits]\nmax_connections = 0\n", ":11:19: max_connections must be from 1 to"),
        ("[limits]\nmax_connections_per_client = -3\n", ":11:30: max_connections_per_client must be from 1"),
        ("[limits]\nmax_header_bytes = 5\n", ":11:1: unknown field `max_header_bytes`"),
        ("[limits]\nidle_timeout = 5\n", ":11:16: invalid type: integer `5`, expected a string"),
    ];
    for (text, expected) in cases {
        let error = parse(text).unwrap_err();
        assert!(error.starts_with("/srv/regent/regent.toml:"), "{error}");
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}
