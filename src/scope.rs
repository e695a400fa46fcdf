//! The scope grammar of the distribution token spec and the access entries a token carries.
//!
//! A scope is `type[(class)]:name:action[,action...]`. The name may contain `host:port`, so a
//! scope is split on its first and last `:`. The resource class is deprecated and ignored.
//! This module is a leaf: it imports nothing of ours.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One requested scope, e.g. `repository:team/app:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The resource type: `repository`, `registry`, or anything else (dropped by policy).
    pub resource_type: String,
    /// The resource name, e.g. `team/app` or `catalog`.
    pub name: String,
    /// The requested actions, in request order, without duplicates.
    pub actions: Vec<String>,
}

/// A scope that cannot be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid scope {scope:?}: {reason}")]
pub struct ScopeError {
    /// The offending scope text.
    pub scope: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// One entry of a token's `access` claim: a resource and the granted actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The resource type (`repository` or `registry`).
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The resource name.
    pub name: String,
    /// The granted actions, explicit (never `*` for a repository).
    pub actions: Vec<String>,
}

/// Parses one scope.
pub fn parse_scope(text: &str) -> Result<Scope, ScopeError> {
    let fail = |reason| ScopeError { scope: text.to_owned(), reason };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(fail("whitespace or control character"));
    }
    let (Some(first), Some(last)) = (text.find(':'), text.rfind(':')) else {
        return Err(fail("expected type:name:actions"));
    };
    if first == last {
        return Err(fail("expected type:name:actions"));
    }
    let resource_type = strip_class(&text[..first]).map_err(fail)?;
    if resource_type.is_empty() {
        return Err(fail("empty resource type"));
    }
    if !resource_type.bytes().all(is_type_byte) {
        return Err(fail("resource type has characters outside [a-z0-9_-]"));
    }
    let name = &text[first + 1..last];
    if name.is_empty() {
        return Err(fail("empty resource name"));
    }
    let mut actions: Vec<String> = Vec::new();
    for action in text[last + 1..].split(',').filter(|a| !a.is_empty()) {
        if !action.bytes().all(|b| b == b'*' || is_type_byte(b)) {
            return Err(fail("action has characters outside [a-z0-9*_-]"));
        }
        if !actions.iter().any(|known| known == action) {
            actions.push(action.to_owned());
        }
    }
    Ok(Scope { resource_type: resource_type.to_owned(), name: name.to_owned(), actions })
}

/// Parses scope fields: each field may hold several space-separated scopes; empty ones are skipped.
pub fn parse_scopes<'a>(fields: impl IntoIterator<Item = &'a str>) -> Result<Vec<Scope>, ScopeError> {
    fields
        .into_iter()
        .flat_map(|field| field.split(' '))
        .filter(|piece| !piece.is_empty())
        .map(parse_scope)
        .collect()
}

/// Drops a deprecated resource class: `repository(plugin)` -> `repository`.
fn strip_class(type_part: &str) -> Result<&str, &'static str> {
    match type_part.find('(') {
        None if type_part.contains(')') => Err("unbalanced parentheses in resource class"),
        None => Ok(type_part),
        Some(open) => {
            let class =
                type_part[open + 1..].strip_suffix(')').ok_or("unbalanced parentheses in resource class")?;
            if class.contains(['(', ')']) {
                return Err("unbalanced parentheses in resource class");
            }
            Ok(&type_part[..open])
        }
    }
}

/// Whether `byte` may appear in a resource type: `[a-z0-9_-]`.
fn is_type_byte(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_' || byte == b'-'
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.resource_type, self.name, self.actions.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(resource_type: &str, name: &str, actions: &[&str]) -> Scope {
        Scope {
            resource_type: resource_type.to_owned(),
            name: name.to_owned(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn parses_valid_scopes() {
        let cases = [
            ("repository:team/app:pull", scope("repository", "team/app", &["pull"])),
            ("repository:team/app:pull,push", scope("repository", "team/app", &["pull", "push"])),
            (
                "repository:localhost:5000/foo/bar:pull",
                scope("repository", "localhost:5000/foo/bar", &["pull"]),
            ),
            ("repository:a:1:b:push", scope("repository", "a:1:b", &["push"])),
            ("repository(plugin):foo/bar:pull", scope("repository", "foo/bar", &["pull"])),
            ("registry:catalog:*", scope("registry", "catalog", &["*"])),
            ("repository:foo:push,pull,push,,pull", scope("repository", "foo", &["push", "pull"])),
            ("repository:foo:", scope("repository", "foo", &[])),
            ("repository:foo:,", scope("repository", "foo", &[])),
            ("my_type-2:Foo:x_y-z", scope("my_type-2", "Foo", &["x_y-z"])),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_scope(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_garbage() {
        let cases = [
            ("", "expected type:name:actions"),
            ("repository", "expected type:name:actions"),
            ("repository:foo", "expected type:name:actions"),
            (":foo:pull", "empty resource type"),
            ("(plugin):foo:pull", "empty resource type"),
            ("Repository:foo:pull", "resource type has characters outside [a-z0-9_-]"),
            ("repo.sitory:foo:pull", "resource type has characters outside [a-z0-9_-]"),
            ("repository(plugin:foo:pull", "unbalanced parentheses in resource class"),
            ("repositoryplugin):foo:pull", "unbalanced parentheses in resource class"),
            ("repository((x)):foo:pull", "unbalanced parentheses in resource class"),
            ("repository(x)y:foo:pull", "unbalanced parentheses in resource class"),
            ("repository::pull", "empty resource name"),
            ("repository:foo:Pull", "action has characters outside [a-z0-9*_-]"),
            ("repository:foo:pull;rm", "action has characters outside [a-z0-9*_-]"),
            ("repository:foo bar:pull", "whitespace or control character"),
            ("repository:foo:pull\n", "whitespace or control character"),
            ("repository:foo\u{0}:pull", "whitespace or control character"),
            ("repository:foo\t:pull", "whitespace or control character"),
        ];
        for (text, reason) in cases {
            let err = parse_scope(text).expect_err(text);
            assert_eq!(err.reason, reason, "{text:?}");
            assert_eq!(err.scope, text);
        }
    }

    #[test]
    fn parses_several_fields_and_space_separated_scopes() {
        let fields = [
            "repository:a:pull repository:b:pull,push",
            "",
            "  registry:catalog:*  ",
            "repository:localhost:5000/c:push",
        ];
        let expected = vec![
            scope("repository", "a", &["pull"]),
            scope("repository", "b", &["pull", "push"]),
            scope("registry", "catalog", &["*"]),
            scope("repository", "localhost:5000/c", &["push"]),
        ];
        assert_eq!(parse_scopes(fields), Ok(expected));
        assert_eq!(parse_scopes([]), Ok(vec![]));
        assert_eq!(parse_scopes(["", " "]), Ok(vec![]));
    }

    #[test]
    fn one_bad_scope_fails_the_whole_request() {
        let err = parse_scopes(["repository:a:pull nonsense"]).expect_err("bad scope");
        assert_eq!(err.scope, "nonsense");
    }

    #[test]
    fn display_round_trips() {
        let parsed = parse_scope("repository:localhost:5000/x:pull,push").expect("valid");
        assert_eq!(parsed.to_string(), "repository:localhost:5000/x:pull,push");
    }
}
