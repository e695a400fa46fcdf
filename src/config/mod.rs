//! `regent.toml`: file structs (`deny_unknown_fields`) -> validated [`Config`].
//! Every error names `file:line:col`.
//!
//! ```toml
//! [token]
//! service = "registry.local"             # the registry's auth.token.service
//! issuer = "regent"                      # the iss claim; the registry's auth.token.issuer
//! realm = "http://127.0.0.1:5001/token"  # where clients ask for tokens
//! ttl = "5m"                             # at least 60s; default 5m
//! refresh_ttl = "30d"                    # refresh (identity) tokens; default 30d; "0s": off
//! revocations = "revocations.toml"       # optional; `regent revoke` writes it (see `refresh`)
//! key_directory = "keys"                # NAME.key + NAME.crt pairs; the newest certificate signs
//! kid = "libtrust"                       # or "rfc7638" (registry 3 without x5c); default libtrust
//! x5c = true                             # default true; false for registry 3 with only a JWKS
//! key_type = "rsa"                       # what `regent keys rotate` makes: rsa, rsa3072, ec, ed25519
//! # instead of key_directory, fixed pairs (one or more):
//! # [[token.keys]]
//! # key = "keys/token.key"
//! # certificate = "keys/token.crt"
//!
//! [[authn]]                              # asked in order
//! name = "local"
//! kind = "htpasswd"
//! file = "htpasswd"
//! groups = "groups"                      # optional AuthGroupFile
//! cache_ttl = "30s"                      # optional; default 30s; "0s" disables
//! max_bcrypt_cost = 14                   # optional; default 14; a higher cost fails the load
//! verify_queue_timeout = "5s"            # optional; default 5s; longest wait for a bcrypt slot
//!
//! [[authn]]                              # more backends: see the README for every key
//! name = "directory"
//! kind = "ldap"                          # or "http" (an external auth API)
//! urls = ["ldaps://ldap.example.com"]
//! bind_dn = "cn=regent,ou=services,dc=example,dc=com"
//! bind_password_file = "ldap-password"   # or bind_password_env; never inline
//! base = "ou=people,dc=example,dc=com"
//! filter = "(uid=${user})"
//! group_attribute = "memberOf"
//!
//! [policy]
//! directory = "policies"
//!
//! [[listen]]                             # zero or more listeners
//! address = "127.0.0.1:5001"
//! upstream = "http://127.0.0.1:5000"     # optional: the registry behind it
//! trusted_proxies = ["10.0.0.0/8"]       # optional: load balancers whose X-Forwarded-* count
//! [listen.tls]                           # optional: TLS (see `front` for SNI and routes)
//! certificate = "certs/server.crt"
//! key = "certs/server.key"
//!
//! [limits]                               # optional: timeouts, sizes and connection caps (see `limits`)
//! idle_timeout = "60s"
//!
//! [metrics]                              # optional: a separate listener for /metrics (see `metrics`)
//! address = "127.0.0.1:9090"
//!
//! [lockout]                              # optional: brute-force protection, on by default (see `lockout`)
//! max_failures = 10
//!
//! [tokens]                               # optional: users manage their own access tokens (see `tokens`)
//! self_service = true
//! [log]                                  # optional: log format and audit file (see `log`)
//! format = "json"
//! audit_file = "audit.log"
//! ```
//!
//! Relative paths resolve against the directory of the config file.

mod authn;
mod backends;
mod changes;
mod error;
mod file;
mod front;
mod limits;
mod locate;
mod lockout;
mod log;
mod metrics;
mod refresh;
mod token;
mod tokens;
mod validate;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod test_head;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_refresh;
#[cfg(test)]
mod tests_token;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use authn::{
    AUTHN_KINDS, DEFAULT_CACHE_TTL, DEFAULT_GROUP_NAME_ATTRIBUTE, DEFAULT_HTTP_TIMEOUT,
    DEFAULT_LDAP_CONNECT_TIMEOUT, DEFAULT_LDAP_FILTER, DEFAULT_LDAP_TIMEOUT, DEFAULT_MAX_BCRYPT_COST,
    DEFAULT_NESTED_MAX_DEPTH, DEFAULT_POOL_SIZE, DEFAULT_REMOTE_CACHE_TTL, DEFAULT_TOKENS_FILE,
    DEFAULT_VERIFY_QUEUE_TIMEOUT,
};
pub use authn::{
    DEFAULT_JWKS_MAX_AGE, DEFAULT_JWKS_MIN_INTERVAL, DEFAULT_OIDC_ALGORITHMS, DEFAULT_OIDC_LEEWAY,
    JwksSource, OidcConfig, OidcUserName,
};
pub use backends::{
    GroupSearch, HttpAuthConfig, HttpCredentials, LdapConfig, LdapGroups, LdapMode, NestedGroups, SearchScope,
};
pub use changes::RestartNeeded;
pub use error::ConfigError;
pub use front::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, FrontConfig, RouteConfig,
    SniCertificate, TlsConfig,
};
pub use limits::LimitsConfig;
pub use locate::{CONFIG_ENV, CONFIG_FILE_NAME, ConfigSource, locate};
pub use lockout::LockoutConfig;
pub use log::{LogConfig, LogFormat};
pub use metrics::MetricsConfig;
pub use refresh::{DEFAULT_REFRESH_TTL, REVOCATIONS_FILE_NAME, RefreshConfig};
pub use tokens::TokensConfig;
pub use validate::{DEFAULT_TOKEN_TTL, MIN_TOKEN_TTL};

use error::Locator;
use file::FileConfig;

/// A validated `regent.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[token]`: what tokens say and which keys sign them.
    pub token: TokenConfig,
    /// `[token] refresh_ttl` and `revocations`: refresh tokens.
    pub refresh: RefreshConfig,
    /// `[[authn]]`: the authentication backends, asked in order.
    pub authn: Vec<AuthnConfig>,
    /// `[policy]`: where the policy files are.
    pub policy: PolicyConfig,
    /// `[[listen]]`: plain-HTTP and TLS listeners.
    pub listen: Vec<ListenConfig>,
    /// `[front]`: the proxy's timeouts and `[[front.route]]` entries.
    pub front: FrontConfig,
    /// `[limits]`: timeouts, request-head and form sizes and connection caps of every listener.
    pub limits: LimitsConfig,
    /// `[metrics]`: where `/metrics` is served.
    pub metrics: MetricsConfig,
    /// `[lockout]`: brute-force protection of the token endpoint.
    pub lockout: LockoutConfig,
    /// `[tokens]`: access-token settings (self-service).
    pub tokens: TokensConfig,
    /// `[log]`: the server log's format and the audit file.
    pub log: LogConfig,
}

/// `[token]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// The registry's `auth.token.service`; `/token` requires `?service=` equal to it.
    pub service: String,
    /// The `iss` claim; the registry's `auth.token.issuer`.
    pub issuer: String,
    /// Where clients ask for tokens (an `http://` or `https://` URL).
    pub realm: String,
    /// Token lifetime, at least [`MIN_TOKEN_TTL`].
    pub ttl: Duration,
    /// `[[token.keys]]`: fixed signing keys; empty when `key_directory` is given.
    pub keys: Vec<KeyFiles>,
    /// `key_directory`: every `NAME.key` + `NAME.crt` pair in it is a signing key (what
    /// `regent keys rotate` and `retire` manage); `None` with `[[token.keys]]`.
    pub key_directory: Option<PathBuf>,
    /// `kid`: how tokens and JWKS entries name keys.
    pub kid: KidFormat,
    /// `x5c`: whether tokens carry the signing certificate (default true).
    pub x5c: bool,
    /// `key_type`: the type of key `regent keys rotate` makes.
    pub key_type: KeyType,
}

/// `[token] kid`: how the `kid` header and JWKS entries name a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KidFormat {
    /// `libtrust`: what registry 2.8 matches against its bundle (registry 3 ignores it).
    #[default]
    Libtrust,
    /// `rfc7638`: the RFC 7638 thumbprint as distribution 3.1 computes it; registry 3 finds a
    /// bundled key by it without `x5c`, and JWKS keys by their `kid`.
    Rfc7638,
}

/// `[token] key_type` (and `regent init --key-type`): the kind of signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// `rsa`: RSA 2048, RS256.
    #[default]
    Rsa,
    /// `rsa3072`: RSA 3072, RS256.
    Rsa3072,
    /// `ec`: ECDSA P-256, ES256.
    Ec,
    /// `ed25519`: Ed25519, EdDSA (registry 3 only).
    Ed25519,
}

/// One `[[token.keys]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    /// The PEM private key.
    pub key: PathBuf,
    /// The PEM certificate (goes into the registry's `rootcertbundle`).
    pub certificate: PathBuf,
}

/// One `[[authn]]` backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnConfig {
    /// The backend's name, unique among backends.
    pub name: String,
    /// The kind and its settings.
    pub backend: BackendConfig,
}

/// The settings of one backend kind.
// Built once per backend at start-up: the size of the `Ldap` variant costs nothing, and a Box
// would only make every construction and match clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// `kind = "htpasswd"`: an Apache htpasswd file.
    Htpasswd {
        /// The password file.
        file: PathBuf,
        /// The optional AuthGroupFile (`group: user user`).
        groups: Option<PathBuf>,
        /// How long an authenticated identity is cached; zero disables the cache.
        cache_ttl: Duration,
        /// The highest bcrypt cost the file may hold (4..=31): a higher one fails the load.
        max_bcrypt_cost: u32,
        /// How long a login waits for a free bcrypt slot before it is an outage (503).
        verify_queue_timeout: Duration,
    },
    /// `kind = "ldap"`: an LDAP or Active Directory server.
    Ldap {
        /// Its settings.
        config: LdapConfig,
    },
    /// `kind = "http"`: an external HTTP auth API.
    Http {
        /// Its settings.
        config: HttpAuthConfig,
    },
    /// `kind = "tokens"`: access tokens (personal and robot) from a file in the data directory.
    Tokens {
        /// The tokens file (JSON, hashes only).
        file: PathBuf,
    },
    /// `kind = "oidc"`: OIDC JWTs (workload identity) as the password.
    Oidc {
        /// Its settings.
        config: OidcConfig,
    },
}

/// `[policy]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// The directory of policy files.
    pub directory: PathBuf,
}

/// One `[[listen]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    /// The address to bind.
    pub address: SocketAddr,
    /// `[listen.tls]`: the certificates; `None` serves plain HTTP.
    pub tls: Option<TlsConfig>,
    /// The registry that requests other than regent's own paths go to.
    pub upstream: Option<axum::http::Uri>,
    /// Peers (load balancers) whose `Forwarded` and `X-Forwarded-*` headers are kept; from any
    /// other peer they are dropped and set from the connection.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Config {
    /// Reads and validates the file at `path` (made absolute, so resolved paths are too).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_env(path, &|name| std::env::var(name).ok())
    }

    /// Like [`Config::load`], reading the environment variables the file names through `env`.
    pub fn load_with_env(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let path =
            std::path::absolute(path).map_err(|error| ConfigError::Io { path: path.to_path_buf(), error })?;
        let text =
            std::fs::read_to_string(&path).map_err(|error| ConfigError::Io { path: path.clone(), error })?;
        Config::parse_with_env(&text, &path, env)
    }

    /// Validates `text` as if read from `path`; relative paths resolve against its directory.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, path, &|name| std::env::var(name).ok())
    }

    /// Like [`Config::parse`], reading the environment variables the file names (an LDAP
    /// `bind_password_env`) through `env`.
    pub fn parse_with_env(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let locator = Locator { path, text };
        let file: FileConfig = toml::from_str(text).map_err(|error| locator.toml(&error))?;
        validate::validate(file, path, text, env)
    }
}
