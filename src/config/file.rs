//! The `regent.toml` file as written: serde structs with spans, validated into
//! [`Config`](super::Config) by [`validate`](super::validate).
//!
//! Every table denies unknown keys. Values that need checking beyond their TOML type are
//! [`Spanned`] so their errors can name `file:line:col`.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    /// `[token]`.
    pub(crate) token: Spanned<FileToken>,
    /// `[[authn]]`, in order.
    #[serde(default)]
    pub(crate) authn: Vec<Spanned<FileAuthn>>,
    /// `[policy]`.
    pub(crate) policy: FilePolicy,
    /// `[[listen]]`.
    #[serde(default)]
    pub(crate) listen: Vec<FileListen>,
    /// `[front]`: proxy timeouts and routes.
    pub(crate) front: Option<super::front::FileFront>,
    /// `[limits]`: timeouts and connection caps.
    pub(crate) limits: Option<super::limits::FileLimits>,
    /// `[metrics]`: where `/metrics` is served.
    pub(crate) metrics: Option<super::metrics::FileMetrics>,
    /// `[lockout]`: brute-force protection.
    pub(crate) lockout: Option<super::lockout::FileLockout>,
    /// `[log]`: the log format and the audit file.
    pub(crate) log: Option<super::log::FileLog>,
}

/// `[token]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileToken {
    /// The registry's `auth.token.service`.
    pub(crate) service: Spanned<String>,
    /// The `iss` claim.
    pub(crate) issuer: Spanned<String>,
    /// Where clients ask for tokens.
    pub(crate) realm: Spanned<String>,
    /// Refresh token lifetime, humantime (`"30d"`); `"0s"` turns them off.
    pub(crate) refresh_ttl: Option<Spanned<String>>,
    /// The revocations file.
    pub(crate) revocations: Option<Spanned<String>>,
    /// Token lifetime, humantime (`"5m"`).
    pub(crate) ttl: Option<Spanned<String>>,
    /// `[[token.keys]]`.
    pub(crate) keys: Option<Spanned<Vec<FileKeyFiles>>>,
    /// A directory of `NAME.key` + `NAME.crt` pairs (instead of `[[token.keys]]`).
    pub(crate) key_directory: Option<Spanned<String>>,
    /// `libtrust` or `rfc7638`.
    pub(crate) kid: Option<Spanned<String>>,
    /// Whether tokens carry `x5c`.
    pub(crate) x5c: Option<bool>,
    /// The type of key `regent keys rotate` makes: `rsa`, `rsa3072`, `ec` or `ed25519`.
    pub(crate) key_type: Option<Spanned<String>>,
}

/// One `[[token.keys]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileKeyFiles {
    /// The PEM private key.
    pub(crate) key: Spanned<String>,
    /// The PEM certificate.
    pub(crate) certificate: Spanned<String>,
}

/// One `[[authn]]` backend.
///
/// One struct for every kind (not a `#[serde(tag = "kind")]` enum, where spans are lost): the
/// fields of all kinds are optional here and checked per kind in validation, where a field that
/// does not belong to the kind is an error at its own position.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileAuthn {
    /// The backend's name (unique).
    pub(crate) name: Spanned<String>,
    /// The backend kind: `htpasswd`, `ldap` or `http`.
    pub(crate) kind: Spanned<String>,
    /// htpasswd: the password file.
    pub(crate) file: Option<Spanned<String>>,
    /// htpasswd: the optional AuthGroupFile.
    pub(crate) groups: Option<Spanned<String>>,
    /// htpasswd: the highest bcrypt cost the file may hold.
    pub(crate) max_bcrypt_cost: Option<Spanned<i64>>,
    /// htpasswd: how long a login waits for a bcrypt slot, humantime.
    pub(crate) verify_queue_timeout: Option<Spanned<String>>,
    /// The identity cache lifetime, humantime; `"0s"` disables.
    pub(crate) cache_ttl: Option<Spanned<String>>,
    /// ldap, http: while the backend is unreachable, cached identities serve up to this age.
    pub(crate) max_stale: Option<Spanned<String>>,
    /// http: the API's URL; ldap: one server URL (instead of `urls`).
    pub(crate) url: Option<Spanned<String>>,
    /// ldap: server URLs, tried in order.
    pub(crate) urls: Option<Spanned<Vec<Spanned<String>>>>,
    /// ldap, http: PEM CA certificate(s) to trust.
    pub(crate) ca_file: Option<Spanned<String>>,
    /// ldap, http: time allowed for one operation or request, humantime.
    pub(crate) timeout: Option<Spanned<String>>,
    /// ldap: time allowed to open a connection, humantime.
    pub(crate) connect_timeout: Option<Spanned<String>>,
    /// ldap: upgrade `ldap://` with StartTLS.
    pub(crate) starttls: Option<Spanned<bool>>,
    /// ldap search mode: the service account's DN.
    pub(crate) bind_dn: Option<Spanned<String>>,
    /// Never accepted: present only to answer with a message saying what to write instead.
    pub(crate) bind_password: Option<Spanned<toml::Value>>,
    /// ldap search mode: a file holding the service account's password.
    pub(crate) bind_password_file: Option<Spanned<String>>,
    /// ldap search mode: an environment variable holding the service account's password.
    pub(crate) bind_password_env: Option<Spanned<String>>,
    /// ldap search mode: the search base.
    pub(crate) base: Option<Spanned<String>>,
    /// ldap search mode: `base`, `one` or `sub`.
    pub(crate) scope: Option<Spanned<String>>,
    /// ldap search mode: the filter, with `${user}`.
    pub(crate) filter: Option<Spanned<String>>,
    /// ldap direct-bind mode: the DN template, with `${user}`.
    pub(crate) user_dn: Option<Spanned<String>>,
    /// ldap: the attribute holding the canonical login name.
    pub(crate) login_attribute: Option<Spanned<String>>,
    /// ldap: the user-entry attribute holding group DNs (`memberOf`).
    pub(crate) group_attribute: Option<Spanned<String>>,
    /// ldap: the base of the group search.
    pub(crate) group_search_base: Option<Spanned<String>>,
    /// ldap: the group search filter, with `${dn}` and/or `${user}`.
    pub(crate) group_filter: Option<Spanned<String>>,
    /// ldap: the attribute holding a group's name (default `cn`).
    pub(crate) group_name_attribute: Option<Spanned<String>>,
    /// ldap: `off`, `expand` or `ad_in_chain`.
    pub(crate) nested: Option<Spanned<String>>,
    /// ldap: the deepest group-in-group chain `expand` follows.
    pub(crate) nested_max_depth: Option<Spanned<i64>>,
    /// ldap: lower-case group and login names.
    pub(crate) lowercase: Option<Spanned<bool>>,
    /// ldap: service-account connections kept open.
    pub(crate) pool_size: Option<Spanned<i64>>,
    /// http: `basic` or `json`.
    pub(crate) credentials: Option<Spanned<String>>,
}

impl FileAuthn {
    /// The optional fields that are present, each with its key and the start of its value, in
    /// file order.
    pub(crate) fn present_fields(&self) -> Vec<(&'static str, usize)> {
        fn at<T>(key: &'static str, value: &Option<Spanned<T>>) -> Option<(&'static str, usize)> {
            value.as_ref().map(|value| (key, value.span().start))
        }
        let mut fields: Vec<(&'static str, usize)> = [
            at("file", &self.file),
            at("groups", &self.groups),
            at("max_bcrypt_cost", &self.max_bcrypt_cost),
            at("verify_queue_timeout", &self.verify_queue_timeout),
            at("cache_ttl", &self.cache_ttl),
            at("max_stale", &self.max_stale),
            at("url", &self.url),
            at("urls", &self.urls),
            at("ca_file", &self.ca_file),
            at("timeout", &self.timeout),
            at("connect_timeout", &self.connect_timeout),
            at("starttls", &self.starttls),
            at("bind_dn", &self.bind_dn),
            at("bind_password", &self.bind_password),
            at("bind_password_file", &self.bind_password_file),
            at("bind_password_env", &self.bind_password_env),
            at("base", &self.base),
            at("scope", &self.scope),
            at("filter", &self.filter),
            at("user_dn", &self.user_dn),
            at("login_attribute", &self.login_attribute),
            at("group_attribute", &self.group_attribute),
            at("group_search_base", &self.group_search_base),
            at("group_filter", &self.group_filter),
            at("group_name_attribute", &self.group_name_attribute),
            at("nested", &self.nested),
            at("nested_max_depth", &self.nested_max_depth),
            at("lowercase", &self.lowercase),
            at("pool_size", &self.pool_size),
            at("credentials", &self.credentials),
        ]
        .into_iter()
        .flatten()
        .collect();
        fields.sort_by_key(|(_, start)| *start);
        fields
    }
}

/// `[policy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilePolicy {
    /// The directory of policy files.
    pub(crate) directory: Spanned<String>,
}

/// One `[[listen]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileListen {
    /// `host:port`.
    pub(crate) address: Spanned<String>,
    /// `[listen.tls]`: certificates; absent for plain HTTP.
    pub(crate) tls: Option<super::front::FileListenTls>,
    /// The registry behind this listener (`http://host:port`).
    pub(crate) upstream: Option<Spanned<String>>,
    /// Peers whose forwarding headers are believed: IP addresses and CIDR networks.
    pub(crate) trusted_proxies: Option<Vec<Spanned<String>>>,
}
