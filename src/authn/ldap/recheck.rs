//! Re-checking a user without a password (the refresh of a refresh token): in search mode the
//! service account searches for the canonical name with the configured filter, then the
//! groups are read again. Direct-bind mode has no account to search with: no re-check.
//!
//! An entry that is gone, no longer carries the name in its login attribute, matches more than
//! once, or is disabled (OpenLDAP ppolicy `pwdAccountLockedTime` present, or Active Directory's
//! `userAccountControl` ACCOUNTDISABLE bit 0x2 set) is [`Lookup::Gone`].

use ldap3::{Scope, SearchEntry};

use super::LdapBackend;
use super::conn::SearchRequest;
use super::error::Outage;
use super::escape::{escape_filter_value, fill_template};
use super::groups::attribute_values;
use super::pool::Directory;
use super::steps::Steps;
use crate::authn::{Lookup, Outcome};
use crate::config::{LdapMode, SearchScope};

/// OpenLDAP ppolicy: present while the account is locked.
const LOCKED_TIME: &str = "pwdAccountLockedTime";
/// Active Directory: account flags; bit 0x2 is ACCOUNTDISABLE.
const ACCOUNT_CONTROL: &str = "userAccountControl";
/// The ACCOUNTDISABLE bit of `userAccountControl`.
const ACCOUNT_DISABLED: u64 = 0x2;

impl LdapBackend {
    /// Looks `name` up with the service account (search mode), see the module documentation;
    /// asked again of the next server when one fails on the way (as a login would be).
    pub(super) async fn recheck(&self, name: &str) -> Result<Lookup, Outage> {
        let mut failovers = 0;
        loop {
            match self.recheck_once(name).await {
                Err(outage) if outage.failover && failovers < self.connector.server_count() => failovers += 1,
                other => return other,
            }
        }
    }

    /// One attempt of [`LdapBackend::recheck`].
    async fn recheck_once(&self, name: &str) -> Result<Lookup, Outage> {
        let (LdapMode::Search { base, scope, filter, .. }, Some(pool)) = (&self.config.mode, &self.pool)
        else {
            return Ok(Lookup::NotSupported);
        };
        let mut steps = Steps::new(&self.name, None);
        let filter = fill_template(filter, &[("user", &escape_filter_value(name))]);
        let mut attributes = self.entry_attributes();
        attributes.extend([LOCKED_TIME.to_owned(), ACCOUNT_CONTROL.to_owned()]);
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
        let scope = match scope {
            SearchScope::Base => Scope::Base,
            SearchScope::One => Scope::OneLevel,
            SearchScope::Sub => Scope::Subtree,
        };
        let request = SearchRequest { base, scope, filter: &filter, attributes: &attributes, limit: 2 };
        let mut entries = pool.search(&self.connector, &request, &mut steps).await?;
        if entries.len() != 1 {
            return Ok(Lookup::Gone);
        }
        let entry = entries.remove(0);
        if disabled(&entry) {
            return Ok(Lookup::Gone);
        }
        let mut directory = Directory::Pool(pool, &self.connector);
        match self.identity(name, &entry, &mut directory, &mut steps).await? {
            Outcome::Authenticated(identity) if identity.name == name => Ok(Lookup::Found(identity)),
            _ => Ok(Lookup::Gone),
        }
    }
}

/// Whether the entry says the account is locked or disabled.
fn disabled(entry: &SearchEntry) -> bool {
    let locked = attribute_values(entry, LOCKED_TIME).next().is_some();
    let flags = attribute_values(entry, ACCOUNT_CONTROL).filter_map(|value| value.trim().parse::<u64>().ok());
    locked || flags.into_iter().any(|flags| flags & ACCOUNT_DISABLED != 0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(attrs: &[(&str, &str)]) -> SearchEntry {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in attrs {
            map.entry((*name).to_owned()).or_default().push((*value).to_owned());
        }
        SearchEntry { dn: "uid=a,dc=example".to_owned(), attrs: map, bin_attrs: HashMap::new() }
    }

    #[test]
    fn locked_or_disabled_entries_are_disabled() {
        assert!(!disabled(&entry(&[("uid", "a")])));
        assert!(disabled(&entry(&[(LOCKED_TIME, "000001010000Z")])));
        assert!(disabled(&entry(&[(ACCOUNT_CONTROL, "514")])), "NORMAL_ACCOUNT | ACCOUNTDISABLE");
        assert!(!disabled(&entry(&[(ACCOUNT_CONTROL, "512")])), "NORMAL_ACCOUNT");
    }
}
