//! The canonical login name: read from the authenticated entry, never the name as typed.
//!
//! A directory matches `uid` (and most name attributes) case-insensitively and ignores
//! leading, trailing and repeated spaces, so `MALLORY`, ` mallory` and `mallory ` all find
//! mallory's entry; the identity must be the value stored there, or a deny rule on
//! `user:mallory` would not apply.

use ldap3::SearchEntry;

use super::groups::attribute_values;

/// The value of `attribute` in `entry` that names the user who typed `typed`: the value equal
/// to `typed` under the directory's usual matching (case-insensitive, insignificant spaces
/// ignored) when the attribute has several, else the first; `None` when it has none.
pub(super) fn canonical_name<'e>(entry: &'e SearchEntry, attribute: &str, typed: &str) -> Option<&'e str> {
    let wanted = matching_form(typed);
    let mut values = attribute_values(entry, attribute).peekable();
    let first = *values.peek()?;
    Some(values.find(|value| matching_form(value) == wanted).unwrap_or(first))
}

/// `text` as caseIgnoreMatch compares it: lower-cased, leading and trailing spaces dropped and
/// inner runs of spaces made one (RFC 4518 insignificant space handling).
fn matching_form(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(values: &[&str]) -> SearchEntry {
        SearchEntry {
            dn: "uid=mallory,ou=people,dc=example,dc=org".to_owned(),
            attrs: HashMap::from([("uid".to_owned(), values.iter().map(|v| (*v).to_owned()).collect())]),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn the_stored_value_is_the_name_whatever_was_typed() {
        let mallory = entry(&["mallory"]);
        for typed in ["mallory", "MALLORY", " mallory", "mallory ", "MaLLory"] {
            assert_eq!(canonical_name(&mallory, "UID", typed), Some("mallory"), "{typed:?}");
        }
        assert_eq!(canonical_name(&mallory, "sAMAccountName", "mallory"), None);
        assert_eq!(canonical_name(&entry(&[]), "uid", "mallory"), None);
    }

    #[test]
    fn of_several_values_the_one_matching_the_typed_name_is_taken_else_the_first() {
        let several = entry(&["m.smith", "Mallory  Smith", "mallory"]);
        assert_eq!(canonical_name(&several, "uid", "MALLORY"), Some("mallory"));
        assert_eq!(canonical_name(&several, "uid", "mallory smith"), Some("Mallory  Smith"));
        assert_eq!(canonical_name(&several, "uid", "msmith"), Some("m.smith"));
    }
}
