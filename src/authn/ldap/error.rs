//! Errors of the LDAP backend: settings refused at start-up ([`LdapError`]) and outages met
//! while authenticating ([`Outage`], answered as [`crate::authn::AuthnError::Unavailable`]).

use std::io;
use std::path::PathBuf;

/// Settings the LDAP backend cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    /// No server URL was given.
    #[error("ldap backend {backend:?}: no server URL")]
    NoUrls {
        /// The backend's name.
        backend: String,
    },
    /// A URL that is not `ldap://` or `ldaps://`.
    #[error("ldap backend {backend:?}: {url:?} is not an ldap:// or ldaps:// URL")]
    BadUrl {
        /// The backend's name.
        backend: String,
        /// The URL as given.
        url: String,
    },
    /// The CA file could not be read.
    #[error("ldap backend {backend:?}: cannot read the CA file {}: {error}", path.display())]
    ReadCa {
        /// The backend's name.
        backend: String,
        /// The CA file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("ldap backend {backend:?}: the CA file {} holds no usable PEM certificate: {reason}", path.display())]
    BadCa {
        /// The backend's name.
        backend: String,
        /// The CA file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS client settings could not be built.
    #[error("ldap backend {backend:?}: TLS setup failed: {reason}")]
    Tls {
        /// The backend's name.
        backend: String,
        /// Why.
        reason: String,
    },
    /// A combination of settings that cannot work.
    #[error("ldap backend {backend:?}: {reason}")]
    Settings {
        /// The backend's name.
        backend: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The directory could not answer (unreachable, timed out, TLS refused, an unexpected result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outage {
    /// What went wrong (never a password).
    pub(super) reason: String,
    /// The connection it happened on is unusable; a fresh connection may succeed.
    pub(super) broken: bool,
}

impl Outage {
    /// An outage where retrying on a fresh connection does not help.
    pub(super) fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), broken: false }
    }

    /// An outage for an error of the LDAP client: a timeout is final, anything else (a closed
    /// socket, a failed send) means the connection broke.
    pub(super) fn from_client(what: &str, error: &ldap3::LdapError) -> Self {
        let broken = !matches!(error, ldap3::LdapError::Timeout { .. });
        Self { reason: format!("{what}: {error}"), broken }
    }
}
