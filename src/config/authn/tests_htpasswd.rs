//! `[[authn]]` tables of kind `htpasswd`: the bcrypt limits, their defaults, and one case per
//! error with its exact `file:line:col`.

use std::path::PathBuf;
use std::time::Duration;

use super::tests::{HTTP_TABLE, LDAP_TABLE, assert_errors, backend};
use crate::config::*;

/// An `htpasswd` table: `name` and `kind` on lines 11-12, `file` on line 13.
const HTPASSWD: &str = "name = \"local\"\nkind = \"htpasswd\"\nfile = \"htpasswd\"\n";

#[test]
fn htpasswd_bcrypt_limits_and_their_defaults() {
    let table = format!("{HTPASSWD}max_bcrypt_cost = 12\nverify_queue_timeout = \"250ms\"\n");
    let expected = BackendConfig::Htpasswd {
        file: PathBuf::from("/srv/regent/htpasswd"),
        groups: None,
        cache_ttl: DEFAULT_CACHE_TTL,
        max_bcrypt_cost: 12,
        verify_queue_timeout: Duration::from_millis(250),
    };
    assert_eq!(backend(&table), expected);
    let BackendConfig::Htpasswd { max_bcrypt_cost, verify_queue_timeout, .. } = backend(HTPASSWD) else {
        panic!("not htpasswd")
    };
    assert_eq!((max_bcrypt_cost, verify_queue_timeout), (14, Duration::from_secs(5)));
    for cost in [4, 31] {
        let BackendConfig::Htpasswd { max_bcrypt_cost, .. } =
            backend(&format!("{HTPASSWD}max_bcrypt_cost = {cost}\n"))
        else {
            panic!("not htpasswd")
        };
        assert_eq!(max_bcrypt_cost, cost);
    }
}

#[test]
fn htpasswd_bcrypt_limit_errors_name_file_line_and_column() {
    let cost_error = "max_bcrypt_cost must be between 4 and 31";
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("cost 3", format!("{HTPASSWD}max_bcrypt_cost = 3\n"), "14:19", cost_error),
        ("cost 32", format!("{HTPASSWD}max_bcrypt_cost = 32\n"), "14:19", cost_error),
        ("negative cost", format!("{HTPASSWD}max_bcrypt_cost = -1\n"), "14:19", cost_error),
        ("cost as a string", format!("{HTPASSWD}max_bcrypt_cost = \"14\"\n"), "14:19", "invalid type"),
        (
            "zero queue timeout",
            format!("{HTPASSWD}verify_queue_timeout = \"0s\"\n"),
            "14:24",
            "verify_queue_timeout must not be 0",
        ),
        (
            "bad queue timeout",
            format!("{HTPASSWD}verify_queue_timeout = \"soon\"\n"),
            "14:24",
            "bad verify_queue_timeout \"soon\"",
        ),
        (
            "ldap gets no bcrypt limit",
            format!("{LDAP_TABLE}max_bcrypt_cost = 12\n"),
            "17:19",
            "`max_bcrypt_cost` does not apply to kind \"ldap\"",
        ),
        (
            "http gets no queue timeout",
            format!("{HTTP_TABLE}verify_queue_timeout = \"1s\"\n"),
            "14:24",
            "`verify_queue_timeout` does not apply to kind \"http\"",
        ),
    ];
    assert_errors(&cases);
}

#[test]
fn htpasswd_rejects_keys_of_other_kinds() {
    let table = "name = \"local\"\nkind = \"htpasswd\"\nfile = \"htpasswd\"\ntimeout = \"5s\"\n";
    assert_errors(&[("timeout", table.to_owned(), "14:11", "`timeout` does not apply to kind \"htpasswd\"")]);
}

#[test]
fn a_tokens_backend_comes_first_and_its_file_defaults_to_the_data_directory() {
    let tokens = "name = \"tokens\"\nkind = \"tokens\"\n";
    assert_eq!(backend(tokens), BackendConfig::Tokens { file: PathBuf::from("/srv/regent/tokens.json") });
    let named = format!("{tokens}file = \"keys/t.json\"\n");
    assert_eq!(backend(&named), BackendConfig::Tokens { file: PathBuf::from("/srv/regent/keys/t.json") });
    let second = format!("{HTPASSWD}\n[[authn]]\n{tokens}");
    assert_errors(&[
        ("tokens second", second, "17:8", "kind \"tokens\" must be the first [[authn]]"),
        (
            "a foreign key",
            format!("{tokens}groups = \"g\"\n"),
            "13:10",
            "`groups` does not apply to kind \"tokens\"",
        ),
    ]);
}
