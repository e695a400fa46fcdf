//! `[token] refresh_ttl` and `revocations`: defaults, values, and errors at file:line:col.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const TOKEN: &str =
    "[token]\nservice = \"registry.local\"\nissuer = \"regent\"\nrealm = \"http://127.0.0.1:5001/token\"\n";
const REST: &str = "[[token.keys]]\nkey = \"k\"\ncertificate = \"c\"\n[policy]\ndirectory = \"p\"\n";

fn parse(extra: &str) -> Result<Config, ConfigError> {
    Config::parse(&format!("{TOKEN}{extra}{REST}"), Path::new("/srv/regent/regent.toml"))
}

#[test]
fn refresh_settings_default_and_parse() {
    let defaults = parse("").unwrap().refresh;
    assert_eq!(defaults.ttl, Duration::from_secs(30 * 86_400));
    assert_eq!(defaults.revocations, PathBuf::from("/srv/regent/revocations.toml"));
    let set = parse("refresh_ttl = \"7d\"\nrevocations = \"state/revoked.toml\"\n").unwrap().refresh;
    assert_eq!(set.ttl, Duration::from_secs(7 * 86_400));
    assert_eq!(set.revocations, PathBuf::from("/srv/regent/state/revoked.toml"));
    assert_eq!(parse("refresh_ttl = \"0s\"\n").unwrap().refresh.ttl, Duration::ZERO, "off");
}

#[test]
fn bad_refresh_settings_name_file_line_and_column() {
    let cases = [
        (
            "refresh_ttl = \"30s\"\n",
            "/srv/regent/regent.toml:5:15: refresh_ttl must be \"0s\" (off) or at least 60s",
        ),
        ("refresh_ttl = \"a month\"\n", "/srv/regent/regent.toml:5:15: bad refresh_ttl \"a month\""),
        ("revocations = \"\"\n", "/srv/regent/regent.toml:5:15: revocations path must not be empty"),
        ("refresh_tl = \"1d\"\n", "/srv/regent/regent.toml:5:1: unknown field `refresh_tl`"),
    ];
    for (extra, expected) in cases {
        let error = parse(extra).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{extra:?}: {error}");
    }
}
