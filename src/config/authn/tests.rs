//! `[[authn]]` tables of kind `ldap` and `http`: accepted settings, defaults, and one case per
//! error with its exact `file:line:col`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::*;
use crate::secret::Secret;

/// Lines 1-9; the `[[authn]]` table starts on line 10 and its keys on line 11.
const HEADER: &str = r#"[token]
service = "s"
issuer = "i"
realm = "https://auth.example.com/token"
[[token.keys]]
key = "k"
certificate = "c"
[policy]
directory = "p"
[[authn]]
"#;

/// An `ldap` table in search mode: `name` and `kind` on lines 11-12, the keys on lines 13-16.
const LDAP: &str = r#"name = "dir"
kind = "ldap"
urls = ["ldap://127.0.0.1:389", "ldaps://ldap.example.org"]
bind_dn = "cn=regent,dc=example,dc=org"
bind_password_env = "LDAP_PW"
base = "ou=people,dc=example,dc=org"
"#;

/// An `http` table: `name` and `kind` on lines 11-12, `url` on line 13.
const HTTP: &str = r#"name = "api"
kind = "http"
url = "https://auth.example.com/check"
"#;

/// The environment the tests see.
fn env(name: &str) -> Option<String> {
    match name {
        "LDAP_PW" => Some("service-pw".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

pub(super) fn parse(table: &str) -> Result<Config, ConfigError> {
    Config::parse_with_env(&format!("{HEADER}{table}"), Path::new("/srv/regent/regent.toml"), &env)
}

pub(super) fn backend(table: &str) -> BackendConfig {
    match parse(table) {
        Ok(config) => config.authn[0].backend.clone(),
        Err(error) => panic!("{table}: {error}"),
    }
}

/// `base` with the first `from` replaced by `to`.
pub(super) fn edit(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from:?} is not in the table");
    base.replacen(from, to, 1)
}

/// Checks that each case fails at `line:col` with a message containing `expected`.
pub(super) fn assert_errors(cases: &[(&str, String, &str, &str)]) {
    let mut failures = Vec::new();
    for (name, table, position, expected) in cases {
        let message = match parse(table) {
            Ok(config) => format!("no error: {config:?}"),
            Err(error) => error.to_string(),
        };
        let prefix = format!("/srv/regent/regent.toml:{position}: ");
        if !message.starts_with(&prefix) || !message.contains(expected) {
            failures.push(format!("{name}: expected {prefix:?} and {expected:?}, got {message:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ldap_search_mode_with_every_key() {
    let table = format!(
        "{LDAP}{}",
        r#"starttls = true
ca_file = "ca.pem"
scope = "one"
filter = "(&(objectClass=person)(uid=${user}))"
login_attribute = "uid"
group_attribute = "memberOf"
group_search_base = "ou=groups,dc=example,dc=org"
group_filter = "(&(objectClass=groupOfNames)(member=${dn}))"
group_name_attribute = "ou"
nested = "expand"
nested_max_depth = 3
lowercase = true
pool_size = 2
connect_timeout = "1s"
timeout = "2s"
cache_ttl = "90s"
max_stale = "1h"
"#
    )
    .replace("ldaps://ldap.example.org", "ldap://backup.example.org");
    let expected = LdapConfig {
        urls: vec!["ldap://127.0.0.1:389".into(), "ldap://backup.example.org".into()],
        starttls: true,
        ca_file: Some(PathBuf::from("/srv/regent/ca.pem")),
        mode: LdapMode::Search {
            bind_dn: "cn=regent,dc=example,dc=org".into(),
            bind_password: Secret::new("service-pw"),
            base: "ou=people,dc=example,dc=org".into(),
            scope: SearchScope::One,
            filter: "(&(objectClass=person)(uid=${user}))".into(),
        },
        login_attribute: "uid".into(),
        groups: LdapGroups {
            attribute: Some("memberOf".into()),
            search: Some(GroupSearch {
                base: "ou=groups,dc=example,dc=org".into(),
                filter: "(&(objectClass=groupOfNames)(member=${dn}))".into(),
                name_attribute: "ou".into(),
            }),
            nested: NestedGroups::Expand,
            max_depth: 3,
        },
        lowercase: true,
        pool_size: 2,
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        cache_ttl: Duration::from_secs(90),
        max_stale: Some(Duration::from_secs(3600)),
    };
    assert_eq!(backend(&table), BackendConfig::Ldap { config: expected });
}

#[test]
fn ldap_defaults() {
    let BackendConfig::Ldap { config } = backend(LDAP) else { panic!("not ldap") };
    assert!(!config.starttls && !config.lowercase);
    assert_eq!(config.ca_file, None);
    assert_eq!(config.login_attribute, "uid", "the attribute of the default filter");
    assert_eq!(
        config.groups,
        LdapGroups {
            attribute: None,
            search: None,
            nested: NestedGroups::Off,
            max_depth: DEFAULT_NESTED_MAX_DEPTH
        }
    );
    let LdapMode::Search { scope, filter, .. } = &config.mode else { panic!("not search mode") };
    assert_eq!((*scope, filter.as_str()), (SearchScope::Sub, DEFAULT_LDAP_FILTER));
    assert_eq!(config.pool_size, DEFAULT_POOL_SIZE);
    assert_eq!(config.connect_timeout, Duration::from_secs(3));
    assert_eq!(config.timeout, Duration::from_secs(5));
    assert_eq!(config.cache_ttl, Duration::from_secs(60));
    assert_eq!(config.max_stale, None);
}

#[test]
fn ldap_direct_bind_with_a_single_url_and_group_search_defaults() {
    let table = r#"name = "dir"
kind = "ldap"
url = "ldaps://ldap.example.org:636"
user_dn = "uid=${user},ou=people,dc=example,dc=org"
group_search_base = "ou=groups,dc=example,dc=org"
group_filter = "(memberUid=${user})"
nested = "ad_in_chain"
"#;
    let BackendConfig::Ldap { config } = backend(table) else { panic!("not ldap") };
    assert_eq!(config.urls, ["ldaps://ldap.example.org:636"]);
    assert_eq!(
        config.mode,
        LdapMode::DirectBind { user_dn: "uid=${user},ou=people,dc=example,dc=org".into() }
    );
    assert_eq!(config.login_attribute, "uid", "the attribute of user_dn's first RDN");
    let search = config.groups.search.expect("group search");
    assert_eq!(search.name_attribute, DEFAULT_GROUP_NAME_ATTRIBUTE);
    assert_eq!(config.groups.nested, NestedGroups::AdInChain);
}

#[test]
fn bind_password_file_is_read_at_load_time_without_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ldap-password"), "s3cret\r\n").unwrap();
    let path = dir.path().join("regent.toml");
    let table = edit(LDAP, "bind_password_env = \"LDAP_PW\"", "bind_password_file = \"ldap-password\"");
    std::fs::write(&path, format!("{HEADER}{table}")).unwrap();
    let config = Config::load_with_env(&path, &|_| None).unwrap();
    let BackendConfig::Ldap { config } = &config.authn[0].backend else { panic!("not ldap") };
    let LdapMode::Search { bind_password, .. } = &config.mode else { panic!("not search mode") };
    assert_eq!(bind_password.expose(), "s3cret");
    assert!(!format!("{config:?}").contains("s3cret"), "Debug hides the password");
}

#[test]
fn bind_password_file_that_never_ends_or_is_too_large_is_refused_at_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big"), "x".repeat(5000)).unwrap();
    let path = dir.path().join("regent.toml");
    for (file, expected) in
        [("/dev/zero", "holds more than 4096 bytes"), ("big", "holds more than 4096 bytes")]
    {
        let table =
            edit(LDAP, "bind_password_env = \"LDAP_PW\"", &format!("bind_password_file = \"{file}\""));
        std::fs::write(&path, format!("{HEADER}{table}")).unwrap();
        let error = Config::load_with_env(&path, &|_| None).unwrap_err().to_string();
        assert!(error.contains(expected), "{file}: {error}");
        assert!(error.contains("regent.toml:"), "{file}: names the key's place: {error}");
    }
}

#[test]
fn http_with_every_key_and_with_defaults() {
    let table = format!(
        "{HTTP}credentials = \"json\"\nca_file = \"/etc/ca.pem\"\ntimeout = \"2s\"\ncache_ttl = \"0s\"\nmax_stale = \"10m\"\n"
    );
    let expected = HttpAuthConfig {
        url: "https://auth.example.com/check".into(),
        credentials: HttpCredentials::Json,
        ca_file: Some(PathBuf::from("/etc/ca.pem")),
        timeout: Duration::from_secs(2),
        cache_ttl: Duration::ZERO,
        max_stale: Some(Duration::from_secs(600)),
    };
    assert_eq!(backend(&table), BackendConfig::Http { config: expected });
    let defaults = HttpAuthConfig {
        url: "https://auth.example.com/check".into(),
        credentials: HttpCredentials::Basic,
        ca_file: None,
        timeout: DEFAULT_HTTP_TIMEOUT,
        cache_ttl: DEFAULT_REMOTE_CACHE_TTL,
        max_stale: None,
    };
    assert_eq!(backend(HTTP), BackendConfig::Http { config: defaults });
}

#[test]
fn http_errors_name_file_line_and_column() {
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("no url", edit(HTTP, "url = \"https://auth.example.com/check\"\n", ""), "10:1", "needs `url`"),
        ("not http", edit(HTTP, "https://auth", "ftp://auth"), "13:7", "is not an http(s) URL"),
        (
            "no host",
            edit(HTTP, "https://auth.example.com/check", "http:///check"),
            "13:7",
            "not an http(s) URL",
        ),
        (
            "bad credentials",
            format!("{HTTP}credentials = \"form\"\n"),
            "14:15",
            "expected \"basic\" or \"json\"",
        ),
        (
            "ca_file with http://",
            format!("{}ca_file = \"ca.pem\"\n", edit(HTTP, "https://", "http://")),
            "14:11",
            "ca_file applies only to an https:// url",
        ),
        ("ldap key", format!("{HTTP}base = \"dc=x\"\n"), "14:8", "`base` does not apply to kind \"http\""),
        (
            "htpasswd key",
            format!("{HTTP}groups = \"g\"\n"),
            "14:10",
            "`groups` does not apply to kind \"http\"",
        ),
        ("zero timeout", format!("{HTTP}timeout = \"0s\"\n"), "14:11", "timeout must not be 0"),
        ("bad max_stale", format!("{HTTP}max_stale = \"later\"\n"), "14:13", "bad max_stale"),
        ("inline password", format!("{HTTP}bind_password = \"x\"\n"), "14:17", "bind_password_file"),
    ];
    assert_errors(&cases);
}

pub(super) const LDAP_TABLE: &str = LDAP;
pub(super) const HTTP_TABLE: &str = HTTP;
