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
    assert_eq!(limits.max_connections_per_listener, 4096);
    assert_eq!((limits.max_header_bytes, limits.max_headers, limits.max_uri_bytes), (32768, 100, 8192));
    assert_eq!((limits.max_form_bytes, limits.http2_max_header_list_size), (16384, 65536));
    assert_eq!((limits.http1_max_buf_size(), limits.http1_max_headers()), (131072, 200));
}

#[test]
fn the_listener_cap_follows_max_connections_unless_given() {
    let limits = parse("[limits]\nmax_connections = 100\n").unwrap().limits;
    assert_eq!(limits.max_connections_per_listener, 100);
    let limits =
        parse("[limits]\nmax_connections = 100\nmax_connections_per_listener = 30\n").unwrap().limits;
    assert_eq!((limits.max_connections, limits.max_connections_per_listener), (100, 30));
    let small = parse("[limits]\nmax_header_bytes = 1024\n").unwrap().limits;
    assert_eq!(small.http1_max_buf_size(), 8192, "hyper's smallest buffer");
}

#[test]
fn every_key_parses() {
    let text = r#"[limits]
idle_timeout = "5s"
handshake_timeout = "3s"
header_read_timeout = "4s"
body_read_timeout = "2s"
max_header_bytes = 4096
max_headers = 20
max_uri_bytes = 2048
max_form_bytes = 2000
max_connections = 100
max_connections_per_listener = 60
max_connections_per_client = 10
http2_keep_alive_interval = "7s"
http2_keep_alive_timeout = "6s"
http2_max_concurrent_streams = 50
http2_max_header_list_size = 8192
"#;
    let expected = LimitsConfig {
        idle_timeout: Duration::from_secs(5),
        handshake_timeout: Duration::from_secs(3),
        header_read_timeout: Duration::from_secs(4),
        body_read_timeout: Duration::from_secs(2),
        max_header_bytes: 4096,
        max_headers: 20,
        max_uri_bytes: 2048,
        max_form_bytes: 2000,
        max_connections: 100,
        max_connections_per_listener: 60,
        max_connections_per_client: 10,
        http2_keep_alive_interval: Duration::from_secs(7),
        http2_keep_alive_timeout: Duration::from_secs(6),
        http2_max_concurrent_streams: 50,
        http2_max_header_list_size: 8192,
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
        ("[limits]\nmax_header_bytes = 5\n", ":11:20: max_header_bytes must be from 1024 to 1048576"),
        ("[limits]\nmax_headers = 0\n", ":11:15: max_headers must be from 1 to 10000"),
        ("[limits]\nmax_uri_bytes = 70000\n", ":11:17: max_uri_bytes must be from 1024 to 65534"),
        ("[limits]\nmax_form_bytes = -1\n", ":11:18: max_form_bytes must be from 1024"),
        ("[limits]\nmax_connections_per_listener = 0\n", ":11:32: max_connections_per_listener must be"),
        ("[limits]\nhttp2_max_header_list_size = 10\n", ":11:30: http2_max_header_list_size must be"),
        ("[limits]\nmax_body_bytes = 5\n", ":11:1: unknown field `max_body_bytes`"),
        ("[limits]\nidle_timeout = 5\n", ":11:16: invalid type: integer `5`, expected a string"),
    ];
    for (text, expected) in cases {
        let error = parse(text).unwrap_err();
        assert!(error.starts_with("/srv/regent/regent.toml:"), "{error}");
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}
