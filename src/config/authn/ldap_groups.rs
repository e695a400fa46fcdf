//! The group settings of `kind = "ldap"`: the user-entry attribute, the group search and nesting.

use super::AuthnContext;
use super::ldap::{
    DEFAULT_GROUP_NAME_ATTRIBUTE, DEFAULT_NESTED_MAX_DEPTH, DN, USER, attribute_name, count, parenthesized,
    placeholder,
};
use crate::config::error::ConfigError;
use crate::config::file::FileAuthn;
use crate::config::{GroupSearch, LdapGroups, NestedGroups};

/// The group sources and nesting.
pub(super) fn groups(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<LdapGroups, ConfigError> {
    let attribute = table
        .group_attribute
        .as_ref()
        .map(|value| attribute_name(context, value, "group_attribute"))
        .transpose()?;
    let search = match (&table.group_search_base, &table.group_filter) {
        (Some(base), Some(filter)) => {
            let filter_text = context.word(filter, "group_filter")?;
            placeholder(context, filter, &[DN, USER], "group_filter")?;
            parenthesized(context, filter, "group_filter")?;
            let name_attribute = match &table.group_name_attribute {
                Some(value) => attribute_name(context, value, "group_name_attribute")?,
                None => DEFAULT_GROUP_NAME_ATTRIBUTE.to_owned(),
            };
            Some(GroupSearch {
                base: context.word(base, "group_search_base")?,
                filter: filter_text,
                name_attribute,
            })
        }
        (Some(base), None) => {
            return Err(context.error(base.span(), "group_search_base needs `group_filter` too"));
        }
        (None, Some(filter)) => {
            return Err(context.error(filter.span(), "group_filter needs `group_search_base` too"));
        }
        (None, None) => {
            if let Some(value) = &table.group_name_attribute {
                return Err(
                    context.error(value.span(), "group_name_attribute applies only to a group search")
                );
            }
            None
        }
    };
    let nested = match table.nested.as_ref().map(|value| (value, value.get_ref().as_str())) {
        None | Some((_, "off")) => NestedGroups::Off,
        Some((_, "expand")) => NestedGroups::Expand,
        Some((_, "ad_in_chain")) => NestedGroups::AdInChain,
        Some((value, other)) => {
            return Err(context.error(
                value.span(),
                format!("nested {other:?}: expected \"off\", \"expand\" or \"ad_in_chain\""),
            ));
        }
    };
    if let (Some(value), false) = (&table.nested, nested == NestedGroups::Off)
        && attribute.is_none()
        && search.is_none()
    {
        return Err(context.error(
            value.span(),
            "nested groups need a group source: `group_attribute` or `group_search_base` + `group_filter`",
        ));
    }
    let max_depth = count(context, &table.nested_max_depth, "nested_max_depth", DEFAULT_NESTED_MAX_DEPTH)?;
    Ok(LdapGroups { attribute, search, nested, max_depth })
}
