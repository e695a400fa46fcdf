//! One authentication against the directory: find the user's entry, check the password with a
//! bind, read the login name and groups.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use ldap3::{Scope, SearchEntry};

use super::LdapBackend;
use super::conn::{BindResult, SearchRequest};
use super::connector::ServerConn;
use super::error::Outage;
use super::escape::{escape_dn_value, escape_filter_value, fill_template};
use super::groups;
use super::login_name::canonical_name;
use super::pool::Directory;
use super::steps::Steps;
use crate::authn::{Identity, Outcome};
use crate::config::{LdapMode, SearchScope};
use crate::secret::Secret;
use crate::untrusted::{Escaped, check_name};

impl LdapBackend {
    /// Asks the directory (no cache): the outcome, or the outage that prevented one. When a
    /// server fails on the way (and is marked down), the whole lookup is asked again of the
    /// servers still up, at most once per server.
    pub(super) async fn lookup(
        &self,
        user: &str,
        password: &Secret,
        steps: &mut Steps<'_>,
    ) -> Result<Outcome, Outage> {
        let mut failovers = 0;
        loop {
            let result = match &self.config.mode {
                LdapMode::Search { base, scope, filter, .. } => {
                    self.search_and_bind(user, password, base, *scope, filter, steps).await
                }
                LdapMode::DirectBind { user_dn } => self.direct_bind(user, password, user_dn, steps).await,
            };
            match result {
                Err(outage) if outage.failover && failovers < self.connector.server_count() => {
                    failovers += 1;
                    steps.record(|| format!("{}: server marked down; asking the next one", outage.reason));
                }
                other => return other,
            }
        }
    }

    /// Search mode: find exactly one entry on a pooled connection, bind as it on a new one.
    async fn search_and_bind(
        &self,
        user: &str,
        password: &Secret,
        base: &str,
        scope: SearchScope,
        filter: &str,
        steps: &mut Steps<'_>,
    ) -> Result<Outcome, Outage> {
        let Some(pool) = &self.pool else {
            return Err(Outage::new("search mode without a service-account pool"));
        };
        let filter = fill_template(filter, &[("user", &escape_filter_value(user))]);
        let attributes = self.entry_attributes();
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
        let scope = match scope {
            SearchScope::Base => Scope::Base,
            SearchScope::One => Scope::OneLevel,
            SearchScope::Sub => Scope::Subtree,
        };
        steps.record(|| format!("searching {base:?} ({scope:?}) with filter {filter}"));
        // Two entries are enough to know the filter is ambiguous.
        let request = SearchRequest { base, scope, filter: &filter, attributes: &attributes, limit: 2 };
        let mut entries = pool.search(&self.connector, &request, steps).await?;
        steps.record(|| {
            let dns: Vec<&str> = entries.iter().map(|entry| entry.dn.as_str()).collect();
            format!("{} entr{} found {dns:?}", dns.len(), if dns.len() == 1 { "y" } else { "ies" })
        });
        let entry = match entries.len() {
            0 => return Ok(Outcome::UnknownUser),
            1 => entries.remove(0),
            count => {
                tracing::warn!(
                    backend = self.name,
                    user = %Escaped(user),
                    count,
                    filter = %Escaped(&filter),
                    "the user filter matched more than one entry: login refused"
                );
                return Ok(Outcome::Denied);
            }
        };
        let mut user_conn = self.connector.connect(steps).await?;
        if !self.bind_user(&mut user_conn, &entry.dn, password, steps).await? {
            return Ok(Outcome::Denied);
        }
        drop(user_conn);
        let mut directory = Directory::Pool(pool, &self.connector);
        self.identity(user, &entry, &mut directory, steps).await
    }

    /// Direct-bind mode: bind as the DN built from the template, then read the own entry.
    async fn direct_bind(
        &self,
        user: &str,
        password: &Secret,
        user_dn: &str,
        steps: &mut Steps<'_>,
    ) -> Result<Outcome, Outage> {
        let dn = fill_template(user_dn, &[("user", &escape_dn_value(user))]);
        let mut conn = self.connector.connect(steps).await?;
        if !self.bind_user(&mut conn, &dn, password, steps).await? {
            // Without a service account an unknown user and a wrong password look the same.
            return Ok(Outcome::Denied);
        }
        let attributes = self.entry_attributes();
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
        let request = SearchRequest {
            base: &dn,
            scope: Scope::Base,
            filter: "(objectClass=*)",
            attributes: &attributes,
            limit: 1,
        };
        let entry = self.connector.search(&mut conn, &request, false).await?.into_iter().next();
        steps.record(|| {
            format!("read own entry {dn:?}: {}", if entry.is_some() { "found" } else { "not readable" })
        });
        // An unreadable entry has no login name: `identity` refuses the login.
        let entry =
            entry.unwrap_or_else(|| SearchEntry { dn, attrs: HashMap::new(), bin_attrs: HashMap::new() });
        let mut directory = Directory::Bound(&mut conn, &self.connector);
        self.identity(user, &entry, &mut directory, steps).await
    }

    /// Binds as `dn` with the user's password: `true` when accepted.
    async fn bind_user(
        &self,
        conn: &mut ServerConn,
        dn: &str,
        password: &Secret,
        steps: &mut Steps<'_>,
    ) -> Result<bool, Outage> {
        self.user_binds.fetch_add(1, Ordering::Relaxed);
        match self.connector.bind(conn, dn, password.expose(), false).await {
            Ok(BindResult::Success) => {
                steps.record(|| format!("bind as {dn:?}: success"));
                Ok(true)
            }
            Ok(BindResult::Refused(_, result)) => {
                steps.record(|| format!("bind as {dn:?}: refused, {result}"));
                Ok(false)
            }
            Err(outage) => {
                steps.record(|| format!("bind as {dn:?}: failed, {}", outage.reason));
                Err(outage)
            }
        }
    }

    /// The identity for the authenticated `entry` (typed as `user`): the canonical login name
    /// read from the entry, and the groups found with it. Denied when the entry has no usable
    /// name: the name as typed is never the identity.
    pub(super) async fn identity(
        &self,
        user: &str,
        entry: &SearchEntry,
        directory: &mut Directory<'_>,
        steps: &mut Steps<'_>,
    ) -> Result<Outcome, Outage> {
        let attribute = &self.config.login_attribute;
        let stored = match canonical_name(entry, attribute, user) {
            None => Err("the entry has no value of the login attribute".to_owned()),
            Some(value) => check_name(value)
                .map(|()| value)
                .map_err(|error| format!("the login attribute's value is refused: {error}")),
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(reason) => {
                tracing::warn!(
                    backend = self.name,
                    user = %Escaped(user),
                    dn = %Escaped(&entry.dn),
                    attribute,
                    reason,
                    "LDAP login refused: no canonical login name"
                );
                steps.record(|| format!("{}: {reason} ({attribute}): login refused", entry.dn));
                return Ok(Outcome::Denied);
            }
        };
        let name = if self.config.lowercase { stored.to_lowercase() } else { stored.to_owned() };
        // Group filters get the name as stored (e.g. memberUid is matched case-exactly).
        let groups =
            groups::resolve(&self.config.groups, self.config.lowercase, entry, stored, directory, steps)
                .await?;
        steps.record(|| format!("login name {name:?} (from {attribute}), groups {groups:?}"));
        Ok(Outcome::Authenticated(Identity::person(self.name.clone(), name, groups)))
    }

    /// The attributes read from the user's entry: the login attribute and the group attribute.
    pub(super) fn entry_attributes(&self) -> Vec<String> {
        let mut wanted = vec![self.config.login_attribute.clone()];
        wanted.extend(self.config.groups.attribute.clone());
        wanted
    }
}
