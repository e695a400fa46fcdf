//! `kind = "ldap"`: one case per error with its exact `file:line:col` (keys appended to the
//! search-mode table start on line 17).

use super::tests::{LDAP_TABLE as LDAP, assert_errors, edit, parse};
use crate::config::BackendConfig;

fn with(extra: &str) -> String {
    format!("{LDAP}{extra}\n")
}

/// The table in direct-bind mode (`user_dn` on line 14) followed by `extra` (line 15 on).
fn direct(user_dn: &str, extra: &str) -> String {
    let start = LDAP.find("bind_dn").unwrap();
    format!("{}user_dn = \"{user_dn}\"\n{extra}", &LDAP[..start])
}

#[test]
fn ldap_errors_name_file_line_and_column() {
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "inline bind_password",
            with("bind_password = \"secret\""),
            "17:17",
            "a password written in regent.toml is refused",
        ),
        ("htpasswd key", with("file = \"x\""), "17:8", "`file` does not apply to kind \"ldap\""),
        (
            "http key",
            with("credentials = \"json\""),
            "17:15",
            "`credentials` does not apply to kind \"ldap\"",
        ),
        ("starttls with ldaps://", with("starttls = true"), "17:12", "starttls does not apply to \"ldaps://"),
        ("starttls not a bool", with("starttls = \"yes\""), "17:12", "invalid type"),
        (
            "not an ldap URL",
            edit(LDAP, "\"ldaps://ldap", "\"http://ldap"),
            "13:33",
            "is not an ldap:// or ldaps:// URL",
        ),
        (
            "URL without host",
            edit(LDAP, "ldap://127.0.0.1:389", "ldap:///x"),
            "13:9",
            "is not an ldap:// or ldaps:// URL",
        ),
        (
            "empty urls",
            edit(LDAP, "[\"ldap://127.0.0.1:389\", \"ldaps://ldap.example.org\"]", "[]"),
            "13:8",
            "urls is empty",
        ),
        ("url and urls", with("url = \"ldap://x\""), "17:7", "either `url` or `urls`"),
        (
            "no url",
            edit(LDAP, "urls = [\"ldap://127.0.0.1:389\", \"ldaps://ldap.example.org\"]\n", ""),
            "10:1",
            "needs `urls`",
        ),
        ("bind_dn and user_dn", with("user_dn = \"uid=${user},dc=x\""), "17:11", "either `user_dn`"),
        (
            "neither bind_dn nor user_dn",
            edit(LDAP, "bind_dn = \"cn=regent,dc=example,dc=org\"\n", ""),
            "10:1",
            "needs `bind_dn`",
        ),
        ("user_dn without ${user}", direct("uid=alice,dc=x", ""), "14:11", "user_dn must contain `${user}`"),
        (
            "direct bind with base",
            direct("uid=${user},dc=x", "base = \"dc=x\"\n"),
            "15:8",
            "`base` applies only to search mode",
        ),
        (
            "direct bind with filter",
            direct("uid=${user},dc=x", "filter = \"(uid=${user})\"\n"),
            "15:10",
            "`filter` applies only",
        ),
        (
            "filter without ${user}",
            with("filter = \"(uid=alice)\""),
            "17:10",
            "filter must contain `${user}`",
        ),
        (
            "unbalanced filter",
            with("filter = \"(uid=${user}\""),
            "17:10",
            "is not a parenthesized LDAP filter",
        ),
        ("filter without parentheses", with("filter = \"uid=${user}\""), "17:10", "parenthesized"),
        ("bad scope", with("scope = \"subtree\""), "17:9", "expected \"base\", \"one\" or \"sub\""),
        ("no base", edit(LDAP, "base = \"ou=people,dc=example,dc=org\"\n", ""), "10:1", "needs `base`"),
        (
            "two password sources",
            with("bind_password_file = \"pw\""),
            "15:21",
            "either `bind_password_file` or `bind_password_env`",
        ),
        (
            "no password source",
            edit(LDAP, "bind_password_env = \"LDAP_PW\"\n", ""),
            "10:1",
            "needs `bind_password_file` or `bind_password_env`",
        ),
        (
            "unset variable",
            edit(LDAP, "LDAP_PW", "UNSET_VAR"),
            "15:21",
            "environment variable UNSET_VAR is not set",
        ),
        ("empty password", edit(LDAP, "LDAP_PW", "EMPTY"), "15:21", "password is empty"),
        (
            "missing password file",
            edit(LDAP, "bind_password_env = \"LDAP_PW\"", "bind_password_file = \"missing\""),
            "15:22",
            "cannot read bind_password_file /srv/regent/missing",
        ),
        ("bad nested", with("nested = \"deep\""), "17:10", "expected \"off\", \"expand\" or \"ad_in_chain\""),
        ("nested without groups", with("nested = \"expand\""), "17:10", "nested groups need a group source"),
        (
            "group base without filter",
            with("group_search_base = \"ou=groups\""),
            "17:21",
            "needs `group_filter`",
        ),
        (
            "group filter without base",
            with("group_filter = \"(member=${dn})\""),
            "17:16",
            "needs `group_search_base`",
        ),
        (
            "group filter without placeholder",
            with("group_search_base = \"ou=g\"\ngroup_filter = \"(cn=admins)\""),
            "18:16",
            "group_filter must contain `${dn}` or `${user}`",
        ),
        (
            "name attribute without search",
            with("group_name_attribute = \"cn\""),
            "17:24",
            "applies only to a group search",
        ),
        ("bad attribute name", with("group_attribute = \"member Of\""), "17:19", "is not an attribute name"),
        ("bad login attribute", with("login_attribute = \"\""), "17:19", "is not an attribute name"),
        (
            "filter comparing the user with two attributes",
            with("filter = \"(|(uid=${user})(mail=${user}))\""),
            "17:10",
            "filter compares `${user}` with more than one attribute, so the attribute holding the \
             canonical login name is unknown: set `login_attribute`",
        ),
        (
            "filter using the user in a longer value",
            with("filter = \"(mail=${user}@example.org)\""),
            "17:10",
            "filter uses `${user}` other than as a whole `(attribute=${user})` equality",
        ),
        (
            "direct bind without an attribute=${user} RDN",
            direct("${user}@corp.example.com", ""),
            "14:11",
            "user_dn does not start with an `attribute=${user},` RDN, so the attribute holding the \
             canonical login name is unknown: set `login_attribute`",
        ),
        ("zero pool_size", with("pool_size = 0"), "17:13", "pool_size must be between 1 and 1000"),
        (
            "negative depth",
            with("nested_max_depth = -1"),
            "17:20",
            "nested_max_depth must be between 1 and 1000",
        ),
        ("bad timeout", with("timeout = \"soon\""), "17:11", "bad timeout"),
        ("zero connect_timeout", with("connect_timeout = \"0s\""), "17:19", "connect_timeout must not be 0"),
        ("bad cache_ttl", with("cache_ttl = \"1 fortnight\""), "17:13", "bad cache_ttl"),
        ("bad max_stale", with("max_stale = \"x\""), "17:13", "bad max_stale"),
        (
            "empty bind_dn",
            edit(LDAP, "\"cn=regent,dc=example,dc=org\"", "\"\""),
            "14:11",
            "bind_dn must not be empty",
        ),
    ];
    assert_errors(&cases);
}

/// The login attribute a loaded table ends up with.
fn login_attribute(table: &str) -> String {
    match parse(table) {
        Ok(config) => match &config.authn[0].backend {
            BackendConfig::Ldap { config } => config.login_attribute.clone(),
            other => panic!("not ldap: {other:?}"),
        },
        Err(error) => panic!("{table}: {error}"),
    }
}

#[test]
fn login_attribute_defaults_to_the_attribute_matched_with_the_user() {
    assert_eq!(login_attribute(LDAP), "uid", "the default filter (uid=${{user}})");
    let ad = with("filter = \"(&(objectClass=user)(sAMAccountName=${user}))\"");
    assert_eq!(login_attribute(&ad), "sAMAccountName");
    // login_attribute, when given, wins and lets any filter or DN template through.
    let either = with("filter = \"(|(uid=${user})(mail=${user}))\"\nlogin_attribute = \"uid\"");
    assert_eq!(login_attribute(&either), "uid");
    let upn = direct("${user}@corp.example.com", "login_attribute = \"sAMAccountName\"\n");
    assert_eq!(login_attribute(&upn), "sAMAccountName");
    assert_eq!(login_attribute(&direct("cn=${user},ou=people,dc=x", "")), "cn");
}
