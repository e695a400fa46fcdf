//! `Config::parse`: the accepted file, and one case per error with its exact `file:line:col`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const VALID: &str = r#"[token]
service = "registry.local"
issuer = "regent"
realm = "http://127.0.0.1:5001/token"
ttl = "10m"
[[token.keys]]
key = "keys/token.key"
certificate = "/etc/regent/token.crt"

[[authn]]
name = "local"
kind = "htpasswd"
file = "htpasswd"
groups = "groups"
cache_ttl = "0s"

[policy]
directory = "policies"

[[listen]]
address = "127.0.0.1:5001"
[[listen]]
address = "[::1]:5002"
"#;

/// `VALID` with the first occurrence of `from` replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from:?} is not in VALID");
    VALID.replacen(from, to, 1)
}

fn parse_error(text: &str) -> String {
    match Config::parse(text, Path::new("/srv/regent/regent.toml")) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn valid_file_parses_with_resolved_paths() {
    let config = Config::parse(VALID, Path::new("/srv/regent/regent.toml")).unwrap();
    let expected = Config {
        path: PathBuf::from("/srv/regent/regent.toml"),
        token: TokenConfig {
            service: "registry.local".into(),
            issuer: "regent".into(),
            realm: "http://127.0.0.1:5001/token".into(),
            ttl: Duration::from_secs(600),
            keys: vec![KeyFiles {
                key: PathBuf::from("/srv/regent/keys/token.key"),
                certificate: PathBuf::from("/etc/regent/token.crt"),
            }],
            key_directory: None,
            kid: KidFormat::Libtrust,
            x5c: true,
            key_type: KeyType::Rsa,
        },
        refresh: RefreshConfig {
            ttl: DEFAULT_REFRESH_TTL,
            revocations: PathBuf::from("/srv/regent/revocations.toml"),
        },
        authn: vec![AuthnConfig {
            name: "local".into(),
            backend: BackendConfig::Htpasswd {
                file: PathBuf::from("/srv/regent/htpasswd"),
                groups: Some(PathBuf::from("/srv/regent/groups")),
                cache_ttl: Duration::ZERO,
                max_bcrypt_cost: DEFAULT_MAX_BCRYPT_COST,
                verify_queue_timeout: DEFAULT_VERIFY_QUEUE_TIMEOUT,
            },
        }],
        policy: PolicyConfig { directory: PathBuf::from("/srv/regent/policies") },
        listen: vec![
            ListenConfig {
                address: "127.0.0.1:5001".parse().unwrap(),
                tls: None,
                upstream: None,
                trusted_proxies: Vec::new(),
            },
            ListenConfig {
                address: "[::1]:5002".parse().unwrap(),
                tls: None,
                upstream: None,
                trusted_proxies: Vec::new(),
            },
        ],
        front: FrontConfig::default(),
        limits: LimitsConfig::default(),
        metrics: crate::config::MetricsConfig::default(),
        lockout: crate::config::LockoutConfig::default(),
        log: crate::config::LogConfig::default(),
    };
    assert_eq!(config, expected);
}

#[test]
fn defaults_apply_when_optional_keys_are_absent() {
    let text = r#"
[token]
service = "s"
issuer = "i"
realm = "https://auth.example.com/token"
[[token.keys]]
key = "k"
certificate = "c"
[[authn]]
name = "local"
kind = "htpasswd"
file = "htpasswd"
[policy]
directory = "p"
"#;
    let config = Config::parse(text, Path::new("/d/regent.toml")).unwrap();
    assert_eq!(config.token.ttl, DEFAULT_TOKEN_TTL);
    assert!(config.listen.is_empty());
    assert_eq!(
        config.authn[0].backend,
        BackendConfig::Htpasswd {
            file: PathBuf::from("/d/htpasswd"),
            groups: None,
            cache_ttl: DEFAULT_CACHE_TTL,
            max_bcrypt_cost: 14,
            verify_queue_timeout: Duration::from_secs(5),
        }
    );
}

#[test]
fn errors_name_file_line_and_column() {
    let duplicate_authn =
        format!("{VALID}\n[[authn]]\nname = \"local\"\nkind = \"htpasswd\"\nfile = \"other\"\n");
    let cases: Vec<(&str, String, &str)> = vec![
        ("syntax error", edited("issuer = \"regent\"", "issuer = regent"), "3:10"),
        ("unknown key in [token]", edited("ttl = \"10m\"", "tll = \"10m\""), "5:1"),
        ("unknown top-level table", format!("{VALID}[extra]\nx = 1\n"), "24:2"),
        ("unknown key in [[authn]]", edited("groups = ", "group = "), "14:1"),
        ("missing service", edited("service = \"registry.local\"\n", ""), "1:1"),
        ("unknown table", VALID.replacen("[token]", "[tokens]", 1), "1:2"),
        ("missing [token]", VALID[VALID.find("\n[[authn]]").unwrap()..].to_string(), "1:1"),
        ("missing authn kind", edited("kind = \"htpasswd\"\n", ""), "10:1"),
        ("bad ttl", edited("ttl = \"10m\"", "ttl = \"ten minutes\""), "5:7"),
        ("ttl under 60s", edited("ttl = \"10m\"", "ttl = \"59s\""), "5:7"),
        ("empty service", edited("service = \"registry.local\"", "service = \"\""), "2:11"),
        ("empty issuer", edited("issuer = \"regent\"", "issuer = \" \""), "3:10"),
        ("realm not http", edited("realm = \"http://", "realm = \"ftp://"), "4:9"),
        (
            "realm without host",
            edited("realm = \"http://127.0.0.1:5001/token\"", "realm = \"https:///token\""),
            "4:9",
        ),
        ("unknown authn kind", edited("kind = \"htpasswd\"", "kind = \"kerberos\""), "12:8"),
        ("htpasswd without file", edited("file = \"htpasswd\"\n", ""), "10:1"),
        ("bad cache_ttl", edited("cache_ttl = \"0s\"", "cache_ttl = \"soon\""), "15:13"),
        ("duplicate authn name", duplicate_authn, "26:8"),
        ("slash in authn name", edited("name = \"local\"", "name = \"lo/cal\""), "11:8"),
        ("bad listen address", edited("\"127.0.0.1:5001\"\n", "\"localhost\"\n"), "21:11"),
        ("duplicate listen address", edited("[::1]:5002", "127.0.0.1:5001"), "23:11"),
        (
            "missing [[token.keys]]",
            edited("[[token.keys]]\nkey = \"keys/token.key\"\ncertificate = \"/etc/regent/token.crt\"\n", ""),
            "1:1",
        ),
        (
            "empty token.keys",
            edited(
                "[[token.keys]]\nkey = \"keys/token.key\"\ncertificate = \"/etc/regent/token.crt\"\n",
                "keys = []\n",
            ),
            "6:8",
        ),
        ("missing certificate", edited("certificate = \"/etc/regent/token.crt\"\n", ""), "6:1"),
        ("empty key path", edited("key = \"keys/token.key\"", "key = \"\""), "7:7"),
        ("wrong type", edited("directory = \"policies\"", "directory = 3"), "18:13"),
    ];
    let mut failures = Vec::new();
    for (name, text, position) in &cases {
        let message = parse_error(text);
        let prefix = format!("/srv/regent/regent.toml:{position}: ");
        if !message.starts_with(&prefix) {
            failures.push(format!("{name}: expected {prefix:?}, got {message:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_messages_say_what_is_wrong() {
    let cases = [
        (edited("ttl = \"10m\"", "ttl = \"30s\""), "ttl must be at least 60s"),
        (
            edited("kind = \"htpasswd\"", "kind = \"kerberos\""),
            "unknown authn kind \"kerberos\" (known: htpasswd, ldap, http)",
        ),
        (edited("ttl = \"10m\"", "tll = \"10m\""), "unknown field `tll`"),
        (
            edited("name = \"local\"", "name = \"lo/cal\""),
            "authn name \"lo/cal\" must not contain `/` (policies name users as user:BACKEND/NAME)",
        ),
        (edited("service = \"registry.local\"\n", ""), "missing field `service`"),
    ];
    for (text, expected) in cases {
        let message = parse_error(&text);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn load_reports_io_errors_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.toml");
    let error = Config::load(&missing).unwrap_err();
    assert!(matches!(error, ConfigError::Io { .. }));
    assert!(error.to_string().starts_with(&format!("{}: ", missing.display())));
}

#[test]
fn load_resolves_relative_paths_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regent.toml");
    std::fs::write(&path, VALID).unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.path, path);
    assert_eq!(config.token.keys[0].key, dir.path().join("keys/token.key"));
    assert_eq!(config.policy.directory, dir.path().join("policies"));
}
