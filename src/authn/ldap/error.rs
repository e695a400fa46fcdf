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
    /// What kind of failure it was.
    pub(super) kind: OutageKind,
    /// The server it happened on was marked down: the same request may succeed on another.
    pub(super) failover: bool,
}

/// Whether the server answered, and if not, how it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutageKind {
    /// The server answered, with something that is not an answer to the login (a refused
    /// service account, an unexpected result code), or no server was tried.
    Answered,
    /// No answer within the timeout.
    Timeout,
    /// The connection broke (closed, reset, a failed send); a fresh one may succeed.
    Broken,
    /// The server answered `busy (51)` or `unavailable (52)`.
    Busy,
}

impl Outage {
    /// An outage where retrying on a fresh connection does not help.
    pub(super) fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), kind: OutageKind::Answered, failover: false }
    }

    /// An outage of `kind`.
    pub(super) fn of_kind(kind: OutageKind, reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), kind, failover: false }
    }

    /// An outage for an error of the LDAP client: a timeout, or a broken connection (a closed
    /// socket, a failed send).
    pub(super) fn from_client(what: &str, error: &ldap3::LdapError) -> Self {
        let kind = match error {
            ldap3::LdapError::Timeout { .. } => OutageKind::Timeout,
            _ => OutageKind::Broken,
        };
        Self::of_kind(kind, format!("{what}: {error}"))
    }

    /// Whether the server itself failed (rather than answering): it is marked down for it.
    pub(super) fn server_failed(&self) -> bool {
        self.kind != OutageKind::Answered
    }
}
