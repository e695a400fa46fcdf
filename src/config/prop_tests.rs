//! Properties of `Config::parse`: edits of a valid file and arbitrary text never panic, and
//! every error names the file and a line and column inside the text.

use std::path::Path;

use proptest::prelude::*;

use super::test_head::HEAD;
use super::{Config, ConfigError};

/// [`HEAD`] and a table of most kinds, all valid.
const VALID_TAIL: &str = r#"[[authn]]
name = "local"
kind = "htpasswd"
file = "htpasswd"
groups = "groups"
cache_ttl = "30s"
[[authn]]
name = "api"
kind = "http"
url = "https://auth.example.com/check"
[[listen]]
address = "127.0.0.1:5001"
upstream = "http://127.0.0.1:5000"
trusted_proxies = ["10.0.0.0/8"]
[limits]
idle_timeout = "60s"
[lockout]
max_failures = 10
"#;

/// One edit: replace `len` bytes at `at` (both scaled to the text) by `insert`.
fn edit() -> impl Strategy<Value = (prop::sample::Index, usize, String)> {
    let insert = prop_oneof![
        Just(String::new()),
        Just("\"".to_owned()),
        Just("\n[".to_owned()),
        Just("=".to_owned()),
        "[a-z_\\[\\]=\" .:/0-9\n]{1,12}",
        any::<String>(),
    ];
    (any::<prop::sample::Index>(), 0..8usize, insert)
}

/// Checks the result of parsing `text`.
fn check(text: &str) -> Result<(), TestCaseError> {
    let path = Path::new("/srv/regent/regent.toml");
    match Config::parse_with_env(text, path, &|_| None) {
        Ok(config) => prop_assert_eq!(config.path, path),
        Err(ConfigError::Invalid { path: named, line, column, message }) => {
            prop_assert_eq!(named, path);
            let line_text = text.split('\n').nth(line.saturating_sub(1));
            prop_assert!(line >= 1 && line_text.is_some(), "line {}: {}", line, message);
            let last = line_text.unwrap_or_default().chars().count() + 1;
            prop_assert!((1..=last).contains(&column), "{}:{}: {}", line, column, message);
        }
        Err(error) => prop_assert!(false, "parsing text reads no file: {}", error),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn edited_configs_never_panic_and_errors_point_into_the_text(edits in prop::collection::vec(edit(), 1..4)) {
        let mut text = format!("{HEAD}{VALID_TAIL}");
        for (at, len, insert) in edits {
            let mut start = at.index(text.len() + 1);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + len).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(start..end, &insert);
        }
        check(&text)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text)?;
    }
}

#[test]
fn the_unedited_file_is_valid() {
    let config =
        Config::parse_with_env(&format!("{HEAD}{VALID_TAIL}"), Path::new("/srv/regent/regent.toml"), &|_| {
            None
        });
    assert_eq!(config.map(|config| config.authn.len()).map_err(|error| error.to_string()), Ok(2));
}
