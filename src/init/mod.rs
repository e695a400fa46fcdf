//! `regent init`: writes a working data directory (config, keys, htpasswd, policies).
//!
//! ```text
//! DIR/regent.toml       commented config, relative paths (kept unless --force)
//! DIR/keys/token.key    signing key, 0600 (never replaced without --force)
//! DIR/keys/token.crt    its self-signed certificate, 0644 (the registry's rootcertbundle)
//! DIR/htpasswd          empty user file, 0600 (only if absent)
//! DIR/groups            AuthGroupFile with an example (only if absent)
//! DIR/policies/         the example policies and policies/tests/examples.test.toml, their
//!                       policy tests (only if the directory is absent)
//! DIR/certs/            with --host: a local CA and a server certificate (see [`tls`])
//! ```
//!
//! `--host` on a directory that already has a `regent.toml` only adds TLS (the certificates and
//! the listener), keeping the signing key; see `add_tls`.
//!
//! Every file is written atomically: a temporary file in the same directory, then a rename.

mod add_tls;
mod error;
mod files;
mod report;
mod templates;
pub mod tls;
mod tls_report;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::config::{CONFIG_FILE_NAME, Config, ConfigError};
use crate::token::{GeneratedKey, KeyType, TokenError};

pub use error::InitError;
pub use report::InitReport;
pub use templates::{
    CERTIFICATE_FILE, GROUPS_FILE, GROUPS_TEXT, HTPASSWD_FILE, HTPASSWD_TEXT, KEY_FILE, POLICY_DIR,
    POLICY_TESTS_DIR, config_text,
};
pub use tls::{TlsHost, TlsReport};

use files::Outcome;

/// Generates a key and a self-signed certificate: [`crate::token::generate_key`], or a fake in
/// tests.
pub type KeyGenerator<'a> = &'a dyn Fn(KeyType, &str, OffsetDateTime) -> Result<GeneratedKey, TokenError>;

/// The listen address `regent init` configures by default.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 5001);

/// The TLS listen address `regent init --host` configures by default: every interface, since it
/// is the registry's public face.
pub const DEFAULT_TLS_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5443);

/// The registry the TLS listener forwards to by default.
pub const DEFAULT_UPSTREAM: &str = "http://127.0.0.1:5000";

/// The options of `regent init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// The data directory (created if absent).
    pub dir: PathBuf,
    /// The registry's `auth.token.service`; default `registry.local`.
    pub service: String,
    /// The `iss` claim; default `regent`.
    pub issuer: String,
    /// Where clients ask for tokens; default `http://{listen}/token`.
    pub realm: String,
    /// The signing key type.
    pub key_type: KeyType,
    /// Replace an existing `regent.toml` and signing key.
    pub force: bool,
    /// The plain-HTTP listen address; default `127.0.0.1:5001`.
    pub listen: SocketAddr,
    /// Names for the server certificate (`--host`, DNS names or IP addresses); when not empty,
    /// `init` makes a local CA and a server certificate and configures a TLS listener.
    pub hosts: Vec<String>,
    /// The TLS listen address (with `hosts`); default `0.0.0.0:5443`.
    pub tls_listen: SocketAddr,
    /// The registry behind the TLS listener; default `http://127.0.0.1:5000`.
    pub upstream: String,
}

impl InitOptions {
    /// The defaults, writing into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            service: "registry.local".to_owned(),
            issuer: "regent".to_owned(),
            realm: default_realm(DEFAULT_LISTEN),
            key_type: KeyType::default(),
            force: false,
            listen: DEFAULT_LISTEN,
            hosts: Vec::new(),
            tls_listen: DEFAULT_TLS_LISTEN,
            upstream: DEFAULT_UPSTREAM.to_owned(),
        }
    }
}

impl Default for InitOptions {
    /// The defaults, writing into the working directory.
    fn default() -> Self {
        Self::new(".")
    }
}

/// The realm served by a listener on `listen`: `http://{listen}/token`.
pub fn default_realm(listen: SocketAddr) -> String {
    format!("http://{listen}/token")
}

/// Writes the data directory described by `opts`, with `policies` (file name, text) as the
/// policy files, generating the key with [`crate::token::generate_key`] as of `now`.
pub fn init(
    opts: &InitOptions,
    policies: &[(&str, &str)],
    now: OffsetDateTime,
) -> Result<InitReport, InitError> {
    init_with_key_generator(opts, policies, now, &crate::token::generate_key)
}

/// [`init`] with the key generator passed in.
pub fn init_with_key_generator(
    opts: &InitOptions,
    policies: &[(&str, &str)],
    now: OffsetDateTime,
    generate_key: KeyGenerator<'_>,
) -> Result<InitReport, InitError> {
    // Checked first: the hosts and the upstream end up in the config's comments.
    let hosts = opts.hosts.iter().map(|host| TlsHost::parse(host)).collect::<Result<Vec<_>, _>>()?;
    let upstream_is_url = (opts.upstream.starts_with("http://") || opts.upstream.starts_with("https://"))
        && !opts.upstream.contains(|c: char| c.is_whitespace() || c.is_control());
    if !hosts.is_empty() && !upstream_is_url {
        let message =
            format!("--upstream {:?} is not an http(s) URL, e.g. {DEFAULT_UPSTREAM}", opts.upstream);
        return Err(InitError::InvalidOption { message });
    }
    let dir = std::path::absolute(&opts.dir).map_err(files::io_error(&opts.dir))?;
    let config_path = dir.join(CONFIG_FILE_NAME);
    let text = config_text(opts);
    Config::parse(&text, &config_path).map_err(invalid_option)?;
    if let Some((name, _)) = policies.iter().find(|(name, _)| !is_policy_dir_entry(name)) {
        return Err(InitError::PolicyFileName { name: (*name).to_owned() });
    }
    if !opts.force && !hosts.is_empty() && config_path.is_file() {
        // An existing data directory: add TLS only, never a new signing key.
        return add_tls::add_tls(opts, &dir, &config_path, &hosts, now);
    }
    let key_path = dir.join(KEY_FILE);
    let certificate_path = dir.join(CERTIFICATE_FILE);
    if !opts.force {
        for path in [&key_path, &certificate_path] {
            if path.try_exists().map_err(files::io_error(path))? {
                return Err(InitError::KeyExists { path: path.clone() });
            }
        }
    }
    if !opts.force && config_path.is_file() {
        // Keep it, but only when it works: the report must describe the config in place.
        Config::load(&config_path).map_err(InitError::ExistingConfig)?;
    }
    let tls_plan = tls::plan(&dir, &hosts, opts.force, now)?;

    let mut outcomes = Vec::new();
    files::ensure_dir(&dir, 0o755)?;
    if let Some(keys_dir) = key_path.parent() {
        files::ensure_dir(keys_dir, 0o700)?;
    }
    let generated = generate_key(opts.key_type, &opts.issuer, now)?;
    let key_file = files::prepare(&key_path, generated.key_pem.expose().as_bytes(), 0o600)?;
    let certificate_file = files::prepare(&certificate_path, generated.cert_pem.as_bytes(), 0o644)?;
    outcomes.push((files::replace(key_file, &key_path)?, key_path.clone()));
    outcomes.push((files::replace(certificate_file, &certificate_path)?, certificate_path.clone()));
    let tls = match tls_plan {
        Some(plan) => Some(tls::apply(&dir, plan, &hosts, opts.tls_listen.port(), &mut outcomes)?),
        None => None,
    };

    let config_outcome = if opts.force {
        files::replace(files::prepare(&config_path, text.as_bytes(), 0o644)?, &config_path)?
    } else {
        files::create_if_absent(&config_path, text.as_bytes(), 0o644)?
    };
    outcomes.push((config_outcome, config_path.clone()));

    let htpasswd = dir.join(HTPASSWD_FILE);
    let groups = dir.join(GROUPS_FILE);
    let policy_dir = dir.join(POLICY_DIR);
    outcomes.push((files::create_if_absent(&htpasswd, HTPASSWD_TEXT.as_bytes(), 0o600)?, htpasswd.clone()));
    outcomes.push((files::create_if_absent(&groups, GROUPS_TEXT.as_bytes(), 0o644)?, groups.clone()));
    outcomes.push((files::create_dir_if_absent(&policy_dir, policies)?, policy_dir.clone()));

    let config = Config::load(&config_path).map_err(InitError::ExistingConfig)?;
    // The first key's certificate; `regent keys bundle` writes the bundle of every trusted key.
    let root_cert_bundle =
        config.token.keys.first().map_or_else(|| certificate_path.clone(), |keys| keys.certificate.clone());
    let (written, kept) =
        outcomes.into_iter().partition::<Vec<_>, _>(|(outcome, _)| *outcome == Outcome::Written);
    Ok(InitReport {
        dir,
        config: config_path,
        key: key_path,
        certificate: certificate_path,
        htpasswd,
        groups,
        policies: policy_dir,
        written: written.into_iter().map(|(_, path)| path).collect(),
        kept: kept.into_iter().map(|(_, path)| path).collect(),
        service: config.token.service,
        issuer: config.token.issuer,
        realm: config.token.realm,
        root_cert_bundle,
        tls,
        notes: Vec::new(),
    })
}

/// A config error caused by an option: its message without the (not yet written) file's position.
fn invalid_option(error: ConfigError) -> InitError {
    match error {
        ConfigError::Invalid { message, .. } => InitError::InvalidOption { message },
        other => InitError::InvalidOption { message: other.to_string() },
    }
}

/// A policy directory entry: a plain file name, or one in its `tests/` subdirectory (policy
/// tests, which the policy loader never reads).
fn is_policy_dir_entry(name: &str) -> bool {
    is_plain_file_name(
        name.strip_prefix(POLICY_TESTS_DIR).and_then(|rest| rest.strip_prefix('/')).unwrap_or(name),
    )
}

/// A name that stays inside its directory: no separators, not `.` or `..`, not hidden.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name().is_some_and(|file| file == name)
}
