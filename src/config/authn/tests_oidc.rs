//! `[[authn]]` tables of kind `oidc`: defaults, every setting, and the refusals (`none`, HS*,
//! both or neither JWKS source) at their exact `file:line:col`.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::tests::{assert_errors, backend, edit};
use crate::config::*;

/// An `oidc` table: `name` and `kind` on lines 11-12, `issuer` 13, `audiences` 14, `jwks_url` 15.
const OIDC: &str = r#"name = "ci"
kind = "oidc"
issuer = "https://token.actions.githubusercontent.com"
audiences = ["registry.example.com"]
jwks_url = "https://token.actions.githubusercontent.com/.well-known/jwks"
"#;

fn oidc(table: &str) -> OidcConfig {
    match backend(table) {
        BackendConfig::Oidc { config } => config,
        other => panic!("not oidc: {other:?}"),
    }
}

#[test]
fn oidc_defaults() {
    let config = oidc(OIDC);
    assert_eq!(
        config,
        OidcConfig {
            issuer: "https://token.actions.githubusercontent.com".to_owned(),
            audiences: vec!["registry.example.com".to_owned()],
            jwks: JwksSource::Url("https://token.actions.githubusercontent.com/.well-known/jwks".to_owned()),
            ca_file: None,
            timeout: DEFAULT_HTTP_TIMEOUT,
            algorithms: DEFAULT_OIDC_ALGORITHMS.to_vec(),
            subject_claim: "sub".to_owned(),
            groups_claim: None,
            required_claims: vec![],
            policy_claims: vec![],
            robot: false,
            leeway: DEFAULT_OIDC_LEEWAY,
            user_name: OidcUserName::Any,
            jwks_min_interval: DEFAULT_JWKS_MIN_INTERVAL,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
        }
    );
}

#[test]
fn oidc_every_setting() {
    let table = format!(
        "{}{}",
        edit(
            OIDC,
            "jwks_url = \"https://token.actions.githubusercontent.com/.well-known/jwks\"",
            "jwks_file = \"jwks.json\""
        ),
        r#"algorithms = ["ES256", "EdDSA", "ES256"]
subject_claim = "repository"
groups_claim = "groups"
claims = { repository_owner = "acme", ref = "refs/heads/main" }
policy_claims = ["repository", "environment"]
robot = true
leeway = "10s"
user_name = "subject"
jwks_min_interval = "1s"
jwks_max_age = "5m"
"#
    );
    let config = oidc(&table);
    assert_eq!(config.jwks, JwksSource::File(PathBuf::from("/srv/regent/jwks.json")));
    assert_eq!(config.algorithms, vec![Algorithm::ES256, Algorithm::EdDSA]);
    assert_eq!(config.subject_claim, "repository");
    assert_eq!(config.groups_claim.as_deref(), Some("groups"));
    let required = vec![
        ("ref".to_owned(), "refs/heads/main".to_owned()),
        ("repository_owner".to_owned(), "acme".to_owned()),
    ];
    assert_eq!(config.required_claims, required);
    assert_eq!(config.policy_claims, vec!["repository".to_owned(), "environment".to_owned()]);
    assert!(config.robot);
    assert_eq!(config.leeway, Duration::from_secs(10));
    assert_eq!(config.user_name, OidcUserName::Subject);
    assert_eq!(config.jwks_min_interval, Duration::from_secs(1));
    assert_eq!(config.jwks_max_age, Duration::from_secs(300));
}

#[test]
fn oidc_errors_name_file_line_and_column() {
    let without = |key: &str| {
        OIDC.lines().filter(|line| !line.starts_with(key)).map(|line| format!("{line}\n")).collect::<String>()
    };
    assert_errors(&[
        ("alg none", format!("{OIDC}algorithms = [\"RS256\", \"none\"]\n"), "16:24", "\"none\" is refused"),
        ("alg HS256", format!("{OIDC}algorithms = [\"HS256\"]\n"), "16:15", "\"HS256\" is refused"),
        ("unknown alg", format!("{OIDC}algorithms = [\"RS1\"]\n"), "16:15", "unknown algorithm"),
        ("empty algs", format!("{OIDC}algorithms = []\n"), "16:14", "at least one"),
        ("no issuer", without("issuer"), "10:1", "needs `issuer`"),
        ("no audiences", without("audiences"), "10:1", "needs `audiences`"),
        ("empty audiences", edit(OIDC, "[\"registry.example.com\"]", "[]"), "14:13", "at least one"),
        ("no jwks", without("jwks_url"), "10:1", "`jwks_file` or `jwks_url`"),
        ("both jwks", format!("{OIDC}jwks_file = \"k.json\"\n"), "15:12", "not both"),
        (
            "bad url",
            edit(OIDC, "https://token.actions.githubusercontent.com/.well-known", "ftp:/"),
            "15:12",
            "not an http(s) URL",
        ),
        (
            "bad user_name",
            format!("{OIDC}user_name = \"root\"\n"),
            "16:13",
            "expected \"any\" or \"subject\"",
        ),
        ("bad claim key", format!("{OIDC}policy_claims = [\"a:b\"]\n"), "16:18", "policy_claims"),
        ("empty claim", format!("{OIDC}claims = {{ owner = \"\" }}\n"), "16:20", "must not be empty"),
        ("http key", format!("{OIDC}credentials = \"basic\"\n"), "16:15", "does not apply to kind \"oidc\""),
        (
            "oidc key elsewhere",
            "name = \"api\"\nkind = \"http\"\nurl = \"http://a\"\nissuer = \"x\"\n".to_owned(),
            "14:10",
            "`issuer` does not apply to kind \"http\"",
        ),
    ]);
}
