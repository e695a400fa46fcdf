//! Tests only: the smallest valid `regent.toml` head, and parsing it with a table appended.

use std::path::Path;

use super::Config;

/// A valid `[token]` and `[policy]` (9 lines), for tests that append the table they check.
pub(crate) const HEAD: &str = r#"[token]
service = "registry.local"
issuer = "regent"
realm = "https://registry.local/token"
[[token.keys]]
key = "keys/token.key"
certificate = "keys/token.crt"
[policy]
directory = "policies"
"#;

/// Parses [`HEAD`] followed by `table` as `/srv/regent/regent.toml`; errors as their text.
pub(crate) fn parse_after_head(table: &str) -> Result<Config, String> {
    Config::parse(&format!("{HEAD}{table}"), Path::new("/srv/regent/regent.toml")).map_err(|e| e.to_string())
}
