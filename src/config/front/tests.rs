//! `[listen.tls]`, `upstream` and `[front]`: what is accepted, and each error's `file:line:col`.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::test_head::parse_after_head;
use crate::config::{Config, FrontConfig, RouteConfig, SniCertificate, TlsConfig};

const FRONT: &str = r#"[[listen]]
address = "0.0.0.0:443"
upstream = "http://127.0.0.1:5000"
[listen.tls]
certificate = "certs/server.crt"
key = "/etc/ssl/server.key"
[[listen.tls.sni]]
names = ["Registry.Example.com", "*.example.org"]
certificate = "certs/registry.crt"
key = "certs/registry.key"
[[listen]]
address = "127.0.0.1:5001"
[front]
connect_timeout = "3s"
response_timeout = "2m"
[[front.route]]
host = "Nexus.Example.com"
listener = "0.0.0.0:443"
upstream = "http://127.0.0.1:8081/"
[[front.route]]
host = "docker.example.com"
upstream = "http://registry-internal:5000"
registry = true
"#;

fn parse(front: &str) -> Result<Config, String> {
    parse_after_head(front)
}

#[test]
fn tls_upstream_and_routes_parse() {
    let config = parse(FRONT).unwrap();
    let tls = TlsConfig {
        certificate: PathBuf::from("/srv/regent/certs/server.crt"),
        key: PathBuf::from("/etc/ssl/server.key"),
        sni: vec![SniCertificate {
            names: vec!["registry.example.com".into(), "*.example.org".into()],
            certificate: PathBuf::from("/srv/regent/certs/registry.crt"),
            key: PathBuf::from("/srv/regent/certs/registry.key"),
        }],
    };
    assert_eq!(config.listen[0].tls, Some(tls));
    assert_eq!(config.listen[0].upstream, Some("http://127.0.0.1:5000".parse().unwrap()));
    assert_eq!((&config.listen[1].tls, &config.listen[1].upstream), (&None, &None));
    let expected = FrontConfig {
        routes: vec![
            RouteConfig {
                host: Some("nexus.example.com".into()),
                listener: Some("0.0.0.0:443".parse().unwrap()),
                upstream: "http://127.0.0.1:8081/".parse().unwrap(),
                registry: false,
            },
            RouteConfig {
                host: Some("docker.example.com".into()),
                listener: None,
                upstream: "http://registry-internal:5000".parse().unwrap(),
                registry: true,
            },
        ],
        connect_timeout: Duration::from_secs(3),
        response_timeout: Duration::from_secs(120),
        shutdown_timeout: Duration::from_secs(30),
    };
    assert_eq!(config.front, expected);
}

#[test]
fn front_defaults_when_absent() {
    let config = parse("[[listen]]\naddress = \"127.0.0.1:5001\"\n").unwrap();
    assert_eq!(config.front, FrontConfig::default());
    assert_eq!(config.front.connect_timeout, Duration::from_secs(10));
    assert_eq!(config.front.response_timeout, Duration::from_secs(60));
    assert_eq!(config.front.shutdown_timeout, Duration::from_secs(30));
}

#[test]
fn shutdown_timeout_parses_and_its_errors_name_line_and_column() {
    let config = parse("[front]\nshutdown_timeout = \"45s\"\n").unwrap();
    assert_eq!(config.front.shutdown_timeout, Duration::from_secs(45));
    // HEAD has 9 lines: `[front]` is line 10, the key line 11.
    let cases = [
        ("shutdown_timeout = \"0s\"", "11:20: shutdown_timeout must be more than 0s"),
        ("shutdown_timeout = \"later\"", "11:20: bad shutdown_timeout \"later\""),
        ("shutdown_timout = \"5s\"", "11:1: unknown field `shutdown_timout`"),
    ];
    for (line, expected) in cases {
        let error = parse(&format!("[front]\n{line}\n")).unwrap_err();
        assert!(error.starts_with(&format!("/srv/regent/regent.toml:{expected}")), "{line}: {error}");
    }
}

#[test]
fn errors_name_line_column_and_say_what_is_wrong() {
    // Lines are counted in HEAD + FRONT: HEAD has 9 lines, so FRONT's line N is line 9 + N.
    let cases = [
        (
            "https upstream",
            "upstream = \"http://127.0.0.1:5000\"",
            "upstream = \"https://r:5000\"",
            "12:12",
            "https upstreams are not supported",
        ),
        (
            "upstream path",
            "upstream = \"http://127.0.0.1:5000\"",
            "upstream = \"http://r:5000/v2\"",
            "12:12",
            "a path is not supported",
        ),
        (
            "upstream not a URL",
            "upstream = \"http://127.0.0.1:5000\"",
            "upstream = \"registry\"",
            "12:12",
            "expected http://host:port",
        ),
        (
            "unknown tls key",
            "key = \"/etc/ssl/server.key\"",
            "keyfile = \"x\"",
            "15:1",
            "unknown field `keyfile`",
        ),
        (
            "empty sni names",
            "names = [\"Registry.Example.com\", \"*.example.org\"]",
            "names = []",
            "17:9",
            "sni names must not be empty",
        ),
        ("bad sni name", "\"*.example.org\"", "\"a b\"", "17:34", "bad sni name \"a b\""),
        (
            "zero timeout",
            "connect_timeout = \"3s\"",
            "connect_timeout = \"0s\"",
            "23:19",
            "connect_timeout must be more than 0s",
        ),
        (
            "bad timeout",
            "response_timeout = \"2m\"",
            "response_timeout = \"soon\"",
            "24:20",
            "bad response_timeout",
        ),
        (
            "unknown listener",
            "listener = \"0.0.0.0:443\"",
            "listener = \"0.0.0.0:8443\"",
            "27:12",
            "not a [[listen]] address",
        ),
        ("bad route host", "host = \"Nexus.Example.com\"", "host = \"nexus:8081\"", "26:8", "bad route host"),
        (
            "duplicate route",
            "host = \"docker.example.com\"",
            "host = \"nexus.example.com\"\nlistener = \"0.0.0.0:443\"",
            "29:1",
            "given twice",
        ),
        (
            "route needs host or listener",
            "host = \"docker.example.com\"\n",
            "",
            "29:1",
            "needs `host`, `listener` or both",
        ),
    ];
    for (what, from, to, at, message) in cases {
        assert!(FRONT.contains(from), "{what}: {from:?} is not in FRONT");
        let error = parse(&FRONT.replacen(from, to, 1)).expect_err(what);
        assert!(error.starts_with(&format!("/srv/regent/regent.toml:{at}: ")), "{what}: {error}");
        assert!(error.contains(message), "{what}: {error}");
    }
}

#[test]
fn trusted_proxies_take_addresses_and_networks() {
    let text = "[[listen]]\naddress = \"127.0.0.1:8080\"\ntrusted_proxies = [\"127.0.0.1\", \"10.1.2.3/8\", \"fd00::/8\"]\n";
    let listen = &parse(text).unwrap().listen[0];
    let expected: Vec<ipnet::IpNet> =
        ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"].iter().map(|net| net.parse().unwrap()).collect();
    assert_eq!(listen.trusted_proxies, expected);
    assert!(parse(FRONT).unwrap().listen[0].trusted_proxies.is_empty(), "none unless configured");

    let bad =
        "[[listen]]\naddress = \"127.0.0.1:8080\"\ntrusted_proxies = [\"10.0.0.0/8\", \"lb.example\"]\n";
    let error = parse(bad).unwrap_err();
    assert!(error.starts_with("/srv/regent/regent.toml:12:34: "), "{error}");
    assert!(error.contains("bad trusted proxy \"lb.example\": expected an IP address or a CIDR"), "{error}");
}
