//! Which attribute of the user's entry gives the canonical login name when `login_attribute`
//! is not set: the one attribute the search filter compares with `${user}`, or the attribute
//! of `user_dn`'s first RDN (`uid=${user},...`).
//!
//! The directory matches names case- and space-insensitively, so the typed name is never the
//! identity: the value stored in the entry is.

use toml::Spanned;

use super::AuthnContext;
use super::ldap::{USER, attribute_name};
use crate::config::LdapMode;
use crate::config::error::ConfigError;
use crate::config::file::FileAuthn;

/// Why no single attribute can be read from a filter or DN template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum NoLoginAttribute {
    /// `${user}` is compared with two or more different attributes.
    #[error("compares `${{user}}` with more than one attribute")]
    SeveralAttributes,
    /// `${user}` is used other than in a plain `(attribute=${user})` comparison (a substring,
    /// `~=`, `>=`, `<=`, an extensible match, part of a longer value, or under `!`).
    #[error("uses `${{user}}` other than as a whole `(attribute=${{user}})` equality")]
    NotAnEquality,
    /// The filter cannot be parsed.
    #[error("is not a well-formed LDAP filter")]
    Malformed,
    /// The first RDN of `user_dn` is not `attribute=${user}`.
    #[error("does not start with an `attribute=${{user}},` RDN")]
    NoUserRdn,
}

/// The attribute giving the canonical login name: `login_attribute`, else the one the filter
/// compares with `${user}` or the first RDN of `user_dn`; an error there when neither tells.
pub(super) fn login_attribute(
    context: &AuthnContext<'_>,
    table: &FileAuthn,
    mode: &LdapMode,
) -> Result<String, ConfigError> {
    if let Some(value) = &table.login_attribute {
        return attribute_name(context, value, "login_attribute");
    }
    let (found, key, value) = match mode {
        LdapMode::Search { filter, .. } => (filter_login_attribute(filter), "filter", &table.filter),
        LdapMode::DirectBind { user_dn } => (dn_login_attribute(user_dn), "user_dn", &table.user_dn),
    };
    found.map_err(|reason| {
        let span = value.as_ref().map_or_else(|| context.table.clone(), Spanned::span);
        context.error(
            span,
            format!(
                "{key} {reason}, so the attribute holding the canonical login name is unknown: \
                 set `login_attribute` (e.g. \"uid\" or \"sAMAccountName\")"
            ),
        )
    })
}

/// The attribute `filter` compares with `${user}`, e.g. `uid` for
/// `(&(objectClass=inetOrgPerson)(uid=${user}))`.
pub(super) fn filter_login_attribute(filter: &str) -> Result<String, NoLoginAttribute> {
    let mut parser = FilterParser { text: filter, pos: 0, found: Vec::new() };
    parser.filter(false)?;
    if parser.pos != filter.len() {
        return Err(NoLoginAttribute::Malformed);
    }
    let mut attributes = parser.found.into_iter();
    let first = attributes.next().ok_or(NoLoginAttribute::NotAnEquality)??;
    for other in attributes {
        if !other?.eq_ignore_ascii_case(first) {
            return Err(NoLoginAttribute::SeveralAttributes);
        }
    }
    Ok(first.to_owned())
}

/// The attribute of the first RDN of `user_dn`, e.g. `uid` for `uid=${user},ou=people,...`.
pub(super) fn dn_login_attribute(user_dn: &str) -> Result<String, NoLoginAttribute> {
    let (attribute, rest) = user_dn.split_once('=').ok_or(NoLoginAttribute::NoUserRdn)?;
    let value = rest.split_once(',').map_or(rest, |(value, _)| value);
    if value != USER || !is_attribute_name(attribute) {
        return Err(NoLoginAttribute::NoUserRdn);
    }
    Ok(attribute.to_owned())
}

/// An attribute name: letters, digits and `-`, or a numeric OID.
fn is_attribute_name(text: &str) -> bool {
    text.chars().next().is_some_and(|first| first.is_ascii_alphanumeric())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// A recursive-descent reader of RFC 4515 filters that notes each use of `${user}`.
struct FilterParser<'a> {
    /// The filter.
    text: &'a str,
    /// The next byte to read.
    pos: usize,
    /// Per item holding `${user}`: the attribute of a plain equality, or why it is not one.
    found: Vec<Result<&'a str, NoLoginAttribute>>,
}

impl<'a> FilterParser<'a> {
    /// `( & filter... )`, `( | filter... )`, `( ! filter )` or `( item )`.
    fn filter(&mut self, negated: bool) -> Result<(), NoLoginAttribute> {
        self.expect(b'(')?;
        match self.peek() {
            Some(b'&' | b'|') => {
                self.pos += 1;
                while self.peek() == Some(b'(') {
                    self.filter(negated)?;
                }
            }
            Some(b'!') => {
                self.pos += 1;
                self.filter(true)?;
            }
            _ => {
                // A value holds no unescaped parenthesis (RFC 4515), so the item ends at `)`.
                let rest = &self.text[self.pos..];
                let end = rest.find([')', '(']).ok_or(NoLoginAttribute::Malformed)?;
                self.item(&rest[..end], negated);
                self.pos += end;
            }
        }
        self.expect(b')')
    }

    /// Notes an item (`attr=value`, `attr~=value`, `attr:rule:=value`, ...) holding `${user}`.
    fn item(&mut self, item: &'a str, negated: bool) {
        if !item.contains(USER) {
            return;
        }
        let plain = match item.split_once('=') {
            Some((attribute, value)) if value == USER && !negated && is_attribute_name(attribute) => {
                Ok(attribute)
            }
            _ => Err(NoLoginAttribute::NotAnEquality),
        };
        self.found.push(plain);
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), NoLoginAttribute> {
        if self.peek() != Some(byte) {
            return Err(NoLoginAttribute::Malformed);
        }
        self.pos += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_compared_with_the_user_is_found() {
        let cases = [
            ("(uid=${user})", "uid"),
            ("(&(objectClass=inetOrgPerson)(uid=${user}))", "uid"),
            ("(&(objectClass=user)(sAMAccountName=${user})(!(userAccountControl=514)))", "sAMAccountName"),
            ("(|(uid=${user})(UID=${user}))", "uid"),
            ("(&(|(objectClass=person)(objectClass=user))(cn=${user}))", "cn"),
            ("(&(objectClass=person)(1.3.6.1.4.1.1466.0=${user}))", "1.3.6.1.4.1.1466.0"),
        ];
        for (filter, attribute) in cases {
            assert_eq!(filter_login_attribute(filter).as_deref(), Ok(attribute), "{filter}");
        }
    }

    #[test]
    fn filters_without_one_plain_equality_are_refused() {
        let cases = [
            ("(|(uid=${user})(mail=${user}))", NoLoginAttribute::SeveralAttributes),
            ("(mail=${user}@example.org)", NoLoginAttribute::NotAnEquality),
            ("(uid=${user}*)", NoLoginAttribute::NotAnEquality),
            ("(uid~=${user})", NoLoginAttribute::NotAnEquality),
            ("(uid>=${user})", NoLoginAttribute::NotAnEquality),
            ("(uid:caseExactMatch:=${user})", NoLoginAttribute::NotAnEquality),
            ("(uid;lang-en=${user})", NoLoginAttribute::NotAnEquality),
            ("(&(objectClass=person)(!(uid=${user})))", NoLoginAttribute::NotAnEquality),
            ("(&(uid=${user})(cn=x${user}))", NoLoginAttribute::NotAnEquality),
            ("(&(uid=${user})", NoLoginAttribute::Malformed),
            ("(uid=${user}))", NoLoginAttribute::Malformed),
            ("(&(uid=${user}) (cn=x))", NoLoginAttribute::Malformed),
            ("uid=${user}", NoLoginAttribute::Malformed),
            ("(objectClass=*)", NoLoginAttribute::NotAnEquality),
        ];
        for (filter, error) in cases {
            assert_eq!(filter_login_attribute(filter), Err(error), "{filter}");
        }
    }

    #[test]
    fn the_first_rdn_of_user_dn_names_the_attribute() {
        assert_eq!(dn_login_attribute("uid=${user},ou=people,dc=example,dc=org").as_deref(), Ok("uid"));
        assert_eq!(dn_login_attribute("CN=${user},OU=Users,DC=corp").as_deref(), Ok("CN"));
        assert_eq!(dn_login_attribute("uid=${user}").as_deref(), Ok("uid"));
        for bad in
            ["${user}@corp.example.com", "uid=x${user},dc=x", "uid=${user}+cn=x,dc=x", "ou=x,uid=${user}"]
        {
            assert_eq!(dn_login_attribute(bad), Err(NoLoginAttribute::NoUserRdn), "{bad}");
        }
    }
}
