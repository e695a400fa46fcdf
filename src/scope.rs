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
    let _ = text;
    todo!("policy helper")
}

/// Parses scope fields: each field may hold several space-separated scopes; empty ones are skipped.
pub fn parse_scopes<'a>(
    fields: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Scope>, ScopeError> {
    let _ = fields.into_iter();
    todo!("policy helper")
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.resource_type,
            self.name,
            self.actions.join(",")
        )
    }
}
