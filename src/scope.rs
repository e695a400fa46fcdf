//! The scope grammar of the distribution token spec and the access entries a token carries.
//!
//! A scope is `type[(class)]:name:action[,action...]`. The name may contain `host:port`, so a
//! scope is split on its first and last `:`. The resource class is deprecated and ignored.
//! This module is a leaf: it imports nothing of ours.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most distinct resources (`type:name`, repeated ones merged) one token request may name.
/// Each costs a policy evaluation on the request path; clients ask for one to three at a time.
pub const MAX_SCOPES: usize = 64;

/// The most distinct actions one resource may carry across a request's scopes (regent knows
/// four; the rest are denied, but each still costs a decision).
pub const MAX_ACTIONS: usize = 16;

/// The longest scope text accepted: a type, a name of at most 255 bytes and its actions.
pub const MAX_SCOPE_BYTES: usize = 512;

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
    if text.len() > MAX_SCOPE_BYTES {
        return Err(fail("longer than 512 bytes"));
    }
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
            if actions.len() == MAX_ACTIONS {
                return Err(fail("more than 16 distinct actions"));
            }
            actions.push(action.to_owned());
        }
    }
    Ok(Scope { resource_type: resource_type.to_owned(), name: name.to_owned(), actions })
}

/// Parses scope fields: each field may hold several space-separated scopes; empty ones are skipped.
///
/// A request is bounded: at most [`MAX_SCOPES`] distinct resources, each with at most
/// [`MAX_ACTIONS`] distinct actions over all its scopes. The scopes are returned as given.
pub fn parse_scopes<'a>(fields: impl IntoIterator<Item = &'a str>) -> Result<Vec<Scope>, ScopeError> {
    let scopes = fields
        .into_iter()
        .flat_map(|field| field.split(' '))
        .filter(|piece| !piece.is_empty())
        .map(parse_scope)
        .collect::<Result<Vec<_>, _>>()?;
    check_bounds(&scopes)?;
    Ok(scopes)
}

/// Merges the scopes per resource and checks [`MAX_SCOPES`] and [`MAX_ACTIONS`].
fn check_bounds(scopes: &[Scope]) -> Result<(), ScopeError> {
    // At most MAX_SCOPES entries of at most MAX_ACTIONS each: linear scans stay cheap.
    let mut resources: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for scope in scopes {
        let fail = |reason| ScopeError { scope: scope.to_string(), reason };
        let position = resources.iter().position(|(resource_type, name, _)| {
            *resource_type == scope.resource_type && *name == scope.name
        });
        let position = match position {
            Some(position) => position,
            None if resources.len() == MAX_SCOPES => {
                return Err(fail("too many scopes in one request (at most 64 distinct resources)"));
            }
            None => {
                resources.push((&scope.resource_type, &scope.name, Vec::new()));
                resources.len() - 1
            }
        };
        let actions = &mut resources[position].2;
        for action in &scope.actions {
            if !actions.contains(&action.as_str()) {
                if actions.len() == MAX_ACTIONS {
                    return Err(fail("more than 16 distinct actions for one resource in one request"));
                }
                actions.push(action);
            }
        }
    }
    Ok(())
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
mod prop_tests;
#[cfg(test)]
mod tests;
