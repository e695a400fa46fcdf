//! The texts `regent init` writes: `regent.toml`, the htpasswd header and the groups file.

use super::InitOptions;
use crate::config::KeyType;

/// The key directory (`[token] key_directory`); [`KEY_FILE`] and [`CERTIFICATE_FILE`] are its
/// first pair.
pub(super) const KEY_DIRECTORY: &str = "keys";
/// The key file, relative to the data directory.
pub const KEY_FILE: &str = "keys/token.key";
/// The certificate file, relative to the data directory.
pub const CERTIFICATE_FILE: &str = "keys/token.crt";
/// The htpasswd file, relative to the data directory.
pub const HTPASSWD_FILE: &str = "htpasswd";
/// The AuthGroupFile, relative to the data directory.
pub const GROUPS_FILE: &str = "groups";
/// The policy directory, relative to the data directory.
pub const POLICY_DIR: &str = "policies";
/// The policy tests' subdirectory of the policy directory.
pub const POLICY_TESTS_DIR: &str = "tests";

/// The header of a new, empty htpasswd file.
pub const HTPASSWD_TEXT: &str = "\
# regent's local users: one `user:bcrypt-hash` line each (Apache htpasswd format).
# Add a user or change a password with `regent passwd USER`.
";

/// A new AuthGroupFile: comments and a commented-out example.
pub const GROUPS_TEXT: &str = "\
# Groups of local users (Apache AuthGroupFile format): one `group: user user ...` line each.
# Policies can grant by group. For example:
# admins: alice bob
";

/// A TOML string literal for `value`, quoted and escaped.
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// The commented `regent.toml` for `opts`, working as is; its paths are relative to its
/// directory.
pub fn config_text(opts: &InitOptions) -> String {
    let mut text = base_config_text(opts);
    if !opts.hosts.is_empty() {
        text.push_str(&tls_listener_text(opts));
    }
    text
}

/// The TLS listener for `--host`: the front end serving /token and proxying to the registry.
pub(super) fn tls_listener_text(opts: &InitOptions) -> String {
    format!(
        r#"
# The TLS front end (regent init --host): one HTTPS endpoint for /token and, through it, the
# registry at `upstream`. Its certificate names {hosts}.
[[listen]]
address = {address}
upstream = {upstream}
[listen.tls]
certificate = {certificate}
key = {key}
"#,
        hosts = opts.hosts.join(", "),
        address = quoted(&opts.tls_listen.to_string()),
        upstream = quoted(&opts.upstream),
        certificate = quoted(super::tls::SERVER_CERTIFICATE_FILE),
        key = quoted(super::tls::SERVER_KEY_FILE),
    )
}

fn base_config_text(opts: &InitOptions) -> String {
    format!(
        r#"# regent configuration, written by `regent init`.
# Relative paths are resolved against the directory of this file.

[token]
# The registry's auth.token.service; /token requires ?service= equal to it.
service = {service}
# The `iss` claim of every token; the registry's auth.token.issuer.
issuer = {issuer}
# Where clients ask for tokens; the registry's auth.token.realm.
realm = {realm}
# Token lifetime ("300s", "5m"); at least 60s.
ttl = "5m"

# Signing keys: every NAME.key + NAME.crt pair in this directory (pending/ too) is trusted and
# the newest certificate signs; `regent keys rotate|activate|retire` manage it without a restart.
# The registry's rootcertbundle (`regent keys bundle`) or registry 3's auth.token.jwks
# (`regent keys jwks`) must hold every trusted key.
key_directory = {key_directory}
# The kid header: "libtrust" (registry 2.8 and, with x5c, 3.x) or "rfc7638" (registry 3).
kid = "libtrust"
# Tokens carry the signing certificate (x5c): registry 2.8 and 3.x with a rootcertbundle. A
# registry 3 trusting only auth.token.jwks refuses them: use x5c = false, kid = "rfc7638".
x5c = true
# The key `regent keys rotate` makes: "rsa", "rsa3072", "ec" or "ed25519" (registry 3 only).
key_type = {key_type}

# Authentication backends, asked in order.
[[authn]]
name = "local"
kind = "htpasswd"
# Add users with `regent passwd USER`.
file = {htpasswd}
# Optional AuthGroupFile: `group: user user ...` lines.
groups = {groups}
# How long an authenticated identity is cached ("0s" disables the cache).
cache_ttl = "30s"

# A directory (OpenLDAP, Active Directory), asked after the local users. Unknown users fall
# through to the next backend; an unreachable directory is skipped (503 if nobody else knows
# the user). Check a setup with `regent authn test USER`. See the README for every key.
# [[authn]]
# name = "directory"
# kind = "ldap"
# urls = ["ldap://ldap1.example.com", "ldap://ldap2.example.com"]  # tried in order
# starttls = true
# ca_file = "ldap-ca.pem"
# bind_dn = "cn=regent,ou=services,dc=example,dc=com"
# bind_password_file = "ldap-password"      # or bind_password_env = "REGENT_LDAP_PASSWORD"
# base = "ou=people,dc=example,dc=com"
# filter = "(&(objectClass=inetOrgPerson)(uid=${{user}}))"
# login_attribute = "uid"                   # the name policies see (default: the filter's attribute)
# group_attribute = "memberOf"               # policies then see group:NAME (the group's cn)
# cache_ttl = "60s"
# max_stale = "15m"                         # serve cached identities while the directory is down

# An external HTTP auth API: 2xx = authenticated (optional JSON {{"groups": [...]}}),
# 401/403 = wrong password, 404 = unknown user, anything else = unavailable.
# [[authn]]
# name = "sso"
# kind = "http"
# url = "https://auth.example.com/registry-login"
# credentials = "basic"                     # or "json": POST {{"username", "password"}}
# timeout = "5s"

[policy]
# The policy files.
directory = {policies}

# Logs: stderr as "text" (the default) or "json" lines; every token decision also appended to
# an audit file as JSON lines (reopened on SIGHUP, for logrotate). See the README's Logging.
# [log]
# format = "json"
# audit_file = "audit.log"

# Plain-HTTP listeners; the realm above must reach one of them.
[[listen]]
address = {listen}
"#,
        service = quoted(&opts.service),
        issuer = quoted(&opts.issuer),
        realm = quoted(&opts.realm),
        key_directory = quoted(KEY_DIRECTORY),
        key_type = quoted(key_type_name(opts.key_type)),
        htpasswd = quoted(HTPASSWD_FILE),
        groups = quoted(GROUPS_FILE),
        policies = quoted(POLICY_DIR),
        listen = quoted(&opts.listen.to_string()),
    )
}

/// The `[token] key_type` value of a key type.
fn key_type_name(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Rsa => "rsa",
        KeyType::Rsa3072 => "rsa3072",
        KeyType::Ec => "ec",
        KeyType::Ed25519 => "ed25519",
    }
}
