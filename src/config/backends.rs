//! Validated settings of the `ldap` and `http` authentication backends (`[[authn]]` entries).
//!
//! Plain data: `config` parses and checks them, `authn::ldap` and `authn::http` use them.

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// `kind = "ldap"`: an LDAP or Active Directory server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapConfig {
    /// Server URLs (`ldap://` or `ldaps://`), tried in order (failover).
    pub urls: Vec<String>,
    /// Upgrade `ldap://` connections with StartTLS.
    pub starttls: bool,
    /// PEM CA certificate(s) to trust for `ldaps://` and StartTLS (else the system roots).
    pub ca_file: Option<PathBuf>,
    /// How the user's entry is found and the password checked.
    pub mode: LdapMode,
    /// The attribute of the user's entry whose value is the canonical login name (e.g. `uid`,
    /// `sAMAccountName`): `login_attribute` if given, else the attribute the filter compares
    /// with `${user}` (search mode) or the attribute of `user_dn`'s first RDN (direct bind).
    /// The name as typed is never the identity.
    pub login_attribute: String,
    /// Where the user's groups come from.
    pub groups: LdapGroups,
    /// Lower-case group names and the login name.
    pub lowercase: bool,
    /// Service-account connections kept open (search mode).
    pub pool_size: usize,
    /// Time allowed to open a connection (TCP + TLS + StartTLS).
    pub connect_timeout: Duration,
    /// Time allowed for one bind or search, and for the wait for a pooled connection.
    pub timeout: Duration,
    /// How long a successful authentication is cached; zero disables the cache.
    pub cache_ttl: Duration,
    /// While the directory is unreachable, a cached identity may be used up to this age.
    pub max_stale: Option<Duration>,
}

/// How an LDAP backend finds the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LdapMode {
    /// Bind as a service account, search for exactly one entry, then bind as that entry.
    Search {
        /// The service account's DN.
        bind_dn: String,
        /// The service account's password (from a file or an environment variable).
        bind_password: Secret,
        /// The search base.
        base: String,
        /// The search scope.
        scope: SearchScope,
        /// The filter; `${user}` is replaced by the RFC 4515-escaped login name.
        filter: String,
    },
    /// Bind directly as `user_dn` with `${user}` replaced by the RFC 4514-escaped login name.
    DirectBind {
        /// The DN template, e.g. `uid=${user},ou=people,dc=example,dc=org`.
        user_dn: String,
    },
}

/// An LDAP search scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    /// The base entry only.
    Base,
    /// The base's direct children.
    One,
    /// The whole subtree.
    Sub,
}

/// Where an LDAP user's groups come from (both sources may be used together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapGroups {
    /// An attribute of the user entry holding group DNs (e.g. `memberOf`).
    pub attribute: Option<String>,
    /// A search for group entries.
    pub search: Option<GroupSearch>,
    /// Following groups that are members of groups.
    pub nested: NestedGroups,
    /// The deepest group-in-group chain followed by `NestedGroups::Expand`.
    pub max_depth: usize,
}

/// A search for the groups a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSearch {
    /// The search base.
    pub base: String,
    /// The filter; `${dn}` is the user's DN and `${user}` the login name (both RFC 4515-escaped),
    /// e.g. `(&(objectClass=groupOfNames)(member=${dn}))` or `(memberUid=${user})`.
    pub filter: String,
    /// The attribute holding the group's name (e.g. `cn`); group DNs map to the first RDN value
    /// when it is absent.
    pub name_attribute: String,
}

/// Nested group handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestedGroups {
    /// Direct memberships only.
    Off,
    /// Follow group-in-group membership by searching (any directory; bounded, cycle-safe).
    Expand,
    /// Active Directory's in-chain matching rule (`member:1.2.840.113556.1.4.1941:=`).
    AdInChain,
}

/// `kind = "http"`: an external HTTP auth API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAuthConfig {
    /// The URL asked (`http://` or `https://`).
    pub url: String,
    /// How the credentials are sent.
    pub credentials: HttpCredentials,
    /// PEM CA certificate(s) to trust for `https://` (else the system roots).
    pub ca_file: Option<PathBuf>,
    /// Time allowed for one request, connect included.
    pub timeout: Duration,
    /// How long a successful authentication is cached; zero disables the cache.
    pub cache_ttl: Duration,
    /// While the API is unreachable, a cached identity may be used up to this age.
    pub max_stale: Option<Duration>,
}

/// How the HTTP backend sends the user's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpCredentials {
    /// `Authorization: Basic` on a `GET`.
    Basic,
    /// A `POST` with `{"username": ..., "password": ...}`.
    Json,
}
