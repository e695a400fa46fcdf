//! `[token]`'s key settings: `key_directory`, `kid`, `x5c`, `key_type`, and their errors at
//! `file:line:col`.

use std::path::{Path, PathBuf};

use super::*;

const DIRECTORY: &str = r#"[token]
service = "registry.local"
issuer = "regent"
realm = "http://127.0.0.1:5001/token"
key_directory = "keys"
kid = "rfc7638"
x5c = false
key_type = "ed25519"

[policy]
directory = "policies"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/srv/regent/regent.toml"))
}

#[test]
fn a_key_directory_with_kid_x5c_and_key_type_parses() {
    let token = parse(DIRECTORY).unwrap().token;
    assert_eq!(token.key_directory, Some(PathBuf::from("/srv/regent/keys")));
    assert!(token.keys.is_empty());
    assert_eq!((token.kid, token.x5c, token.key_type), (KidFormat::Rfc7638, false, KeyType::Ed25519));
}

#[test]
fn kid_x5c_and_key_type_have_defaults() {
    let text = DIRECTORY.replace("kid = \"rfc7638\"\nx5c = false\nkey_type = \"ed25519\"\n", "");
    let token = parse(&text).unwrap().token;
    assert_eq!((token.kid, token.x5c, token.key_type), (KidFormat::Libtrust, true, KeyType::Rsa));
    for (value, expected) in [
        ("rsa", KeyType::Rsa),
        ("rsa3072", KeyType::Rsa3072),
        ("ec", KeyType::Ec),
        ("ed25519", KeyType::Ed25519),
    ] {
        let text = DIRECTORY.replace("\"ed25519\"", &format!("{value:?}"));
        assert_eq!(parse(&text).unwrap().token.key_type, expected, "{value}");
    }
}

#[test]
fn key_setting_errors_name_file_line_and_column() {
    let both = DIRECTORY.replace(
        "key_type = \"ed25519\"\n",
        "key_type = \"ed25519\"\n[[token.keys]]\nkey = \"k\"\ncertificate = \"c\"\n",
    );
    let cases = [
        (
            "bad kid",
            DIRECTORY.replace("\"rfc7638\"", "\"jwk\""),
            "6:7",
            "expected \"libtrust\" or \"rfc7638\"",
        ),
        ("bad key_type", DIRECTORY.replace("\"ed25519\"", "\"dsa\""), "8:12", "\"rsa3072\""),
        ("x5c not a bool", DIRECTORY.replace("x5c = false", "x5c = \"no\""), "7:7", ""),
        ("empty key_directory", DIRECTORY.replace("\"keys\"", "\"\""), "5:17", "must not be empty"),
        ("both forms", both, "5:17", "either key_directory or [[token.keys]]"),
        (
            "neither form",
            DIRECTORY.replace("key_directory = \"keys\"\n", ""),
            "1:1",
            "key_directory = \"keys\"",
        ),
        ("unknown key", DIRECTORY.replace("x5c = false", "x5u = false"), "7:1", "unknown field"),
    ];
    for (what, text, position, message) in cases {
        let error = match parse(&text) {
            Ok(config) => panic!("{what}: expected an error, got {config:?}"),
            Err(error) => error.to_string(),
        };
        assert!(error.starts_with(&format!("/srv/regent/regent.toml:{position}: ")), "{what}: {error}");
        assert!(error.contains(message), "{what}: {error}");
    }
}
