//! A user's groups: from an attribute of the user entry (`memberOf`), from a group search, and
//! nested groups (portable expansion, bounded and cycle-safe, or AD's in-chain matching rule).

use std::collections::BTreeMap;

use ldap3::{Scope, SearchEntry};

use super::conn::SearchRequest;
use super::error::Outage;
use super::escape::{escape_filter_value, fill_template, first_rdn_value};
use super::pool::Directory;
use super::steps::Steps;
use crate::config::{GroupSearch, LdapGroups, NestedGroups};

/// Active Directory's LDAP_MATCHING_RULE_IN_CHAIN filter on `member`.
const AD_IN_CHAIN_FILTER: &str = "(member:1.2.840.113556.1.4.1941:=${dn})";

/// The groups found so far: lower-cased DN -> (DN, name).
type Found = BTreeMap<String, (String, String)>;

/// The names of the groups of the user whose entry is `user_entry` (`user`: the login name as
/// stored in the entry, which `${user}` in group filters becomes),
/// sorted, de-duplicated and lower-cased when `lowercase`.
pub(super) async fn resolve(
    config: &LdapGroups,
    lowercase: bool,
    user_entry: &SearchEntry,
    user: &str,
    directory: &mut Directory<'_>,
    steps: &mut Steps<'_>,
) -> Result<Vec<String>, Outage> {
    let mut found = Found::new();
    if let Some(attribute) = &config.attribute {
        for dn in attribute_values(user_entry, attribute) {
            let name = name_from_dn(dn);
            steps.record(|| format!("{attribute}: {dn} -> group {name:?}"));
            found.insert(dn.to_lowercase(), (dn.to_owned(), name));
        }
    }
    if let Some(search) = &config.search {
        let filter = match config.nested {
            NestedGroups::AdInChain => AD_IN_CHAIN_FILTER,
            NestedGroups::Off | NestedGroups::Expand => &search.filter,
        };
        for (dn, name) in search_groups(search, filter, &user_entry.dn, user, directory, steps).await? {
            found.insert(dn.to_lowercase(), (dn, name));
        }
    }
    if config.nested == NestedGroups::Expand {
        expand(config, user, &mut found, directory, steps).await?;
    }
    let mut names: Vec<String> =
        found.into_values().map(|(_, name)| if lowercase { name.to_lowercase() } else { name }).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Adds the groups the groups in `found` are members of, level by level, up to `max_depth`
/// levels; a group already seen is not searched again (cycles end).
async fn expand(
    config: &LdapGroups,
    user: &str,
    found: &mut Found,
    directory: &mut Directory<'_>,
    steps: &mut Steps<'_>,
) -> Result<(), Outage> {
    let mut frontier: Vec<String> = found.values().map(|(dn, _)| dn.clone()).collect();
    for depth in 1..=config.max_depth {
        let mut next = Vec::new();
        for group_dn in &frontier {
            let parents = match (&config.search, &config.attribute) {
                (Some(search), _) => {
                    search_groups(search, &search.filter, group_dn, user, directory, steps).await?
                }
                (None, Some(attribute)) => {
                    read_group_attribute(group_dn, attribute, directory, steps).await?
                }
                (None, None) => Vec::new(),
            };
            for (dn, name) in parents {
                let key = dn.to_lowercase();
                if found.contains_key(&key) {
                    continue;
                }
                steps.record(|| format!("nested (depth {depth}): {group_dn} is in {dn} -> group {name:?}"));
                found.insert(key, (dn.clone(), name));
                next.push(dn);
            }
        }
        if next.is_empty() {
            return Ok(());
        }
        frontier = next;
    }
    steps.record(|| format!("nested groups: stopped at max_depth {}", config.max_depth));
    tracing::debug!(max_depth = config.max_depth, "nested group expansion stopped at max_depth");
    Ok(())
}

/// The groups `filter` finds with `${dn}` = `member_dn` and `${user}` = `user`, as (DN, name).
async fn search_groups(
    search: &GroupSearch,
    filter: &str,
    member_dn: &str,
    user: &str,
    directory: &mut Directory<'_>,
    steps: &mut Steps<'_>,
) -> Result<Vec<(String, String)>, Outage> {
    let filter = fill_template(
        filter,
        &[("dn", &escape_filter_value(member_dn)), ("user", &escape_filter_value(user))],
    );
    let attributes = [search.name_attribute.as_str()];
    let request = SearchRequest {
        base: &search.base,
        scope: Scope::Subtree,
        filter: &filter,
        attributes: &attributes,
        limit: 0,
    };
    let entries = directory.search(&request, steps).await?;
    let groups: Vec<(String, String)> = entries
        .iter()
        .map(|entry| {
            let name = attribute_values(entry, &search.name_attribute)
                .next()
                .map_or_else(|| name_from_dn(&entry.dn), str::to_owned);
            (entry.dn.clone(), name)
        })
        .collect();
    steps.record(|| {
        let listed: Vec<String> = groups.iter().map(|(dn, name)| format!("{dn} -> {name:?}")).collect();
        format!(
            "group search under {:?} with filter {filter}: {} found [{}]",
            search.base,
            groups.len(),
            listed.join(", ")
        )
    });
    Ok(groups)
}

/// The group DNs in `attribute` of the group entry `group_dn` (expansion without a group
/// search: `memberOf` on groups), as (DN, name).
async fn read_group_attribute(
    group_dn: &str,
    attribute: &str,
    directory: &mut Directory<'_>,
    steps: &mut Steps<'_>,
) -> Result<Vec<(String, String)>, Outage> {
    let attributes = [attribute];
    let request = SearchRequest {
        base: group_dn,
        scope: Scope::Base,
        filter: "(objectClass=*)",
        attributes: &attributes,
        limit: 1,
    };
    let entries = directory.search(&request, steps).await?;
    Ok(entries
        .iter()
        .flat_map(|entry| attribute_values(entry, attribute))
        .map(|dn| (dn.to_owned(), name_from_dn(dn)))
        .collect())
}

/// The values of `attribute` (matched case-insensitively) in `entry`.
pub(super) fn attribute_values<'e>(entry: &'e SearchEntry, attribute: &str) -> impl Iterator<Item = &'e str> {
    entry
        .attrs
        .iter()
        .filter(move |(name, _)| name.eq_ignore_ascii_case(attribute))
        .flat_map(|(_, values)| values.iter().map(String::as_str))
}

/// A group's name from its DN: the first RDN value, or the whole DN when it has none.
fn name_from_dn(dn: &str) -> String {
    first_rdn_value(dn).unwrap_or_else(|| dn.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: dn.to_owned(),
            attrs: attrs
                .iter()
                .map(|(name, values)| ((*name).to_owned(), values.iter().map(|v| (*v).to_owned()).collect()))
                .collect(),
            bin_attrs: HashMap::new(),
        }
    }

    #[tokio::test]
    async fn member_of_dns_map_to_first_rdn_values_sorted_and_lowercased() {
        let user = entry(
            "uid=carol,ou=people,dc=example,dc=org",
            &[(
                "memberOf",
                &["cn=Ops,ou=groups,dc=example,dc=org", "cn=Developers,ou=groups,dc=example,dc=org"],
            )],
        );
        let config = LdapGroups {
            attribute: Some("memberof".to_owned()),
            search: None,
            nested: NestedGroups::Off,
            max_depth: 5,
        };
        // No search is configured, so the directory is never asked.
        let pool =
            super::super::pool::ServicePool::new(String::new(), Default::default(), 1, Default::default());
        let settings = super::super::connector::ConnectSettings {
            urls: vec![],
            starttls: false,
            tls: None,
            connect_timeout: Default::default(),
            timeout: Default::default(),
        };
        let connector = super::super::connector::Connector::new(
            "test",
            settings,
            super::super::connector::ProbeBind::Anonymous,
        );
        let mut directory = Directory::Pool(&pool, &connector);
        let mut steps = Steps::new("test", None);
        let names = resolve(&config, false, &user, "carol", &mut directory, &mut steps).await.unwrap();
        assert_eq!(names, ["Developers", "Ops"]);
        let names = resolve(&config, true, &user, "carol", &mut directory, &mut steps).await.unwrap();
        assert_eq!(names, ["developers", "ops"]);
        assert_eq!(connector.opened(), 0);
    }

    #[test]
    fn attribute_lookup_ignores_case() {
        let group = entry("cn=x", &[("memberOf", &["a", "b"]), ("cn", &["x"])]);
        assert_eq!(attribute_values(&group, "MEMBEROF").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(attribute_values(&group, "missing").count(), 0);
    }
}
