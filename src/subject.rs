//! Who a credential speaks for, beyond a name and groups: a person or a robot ([`SubjectKind`]),
//! attributes the credential carries ([`Claim`], `claim:KEY:VALUE` in policies), and the scopes
//! it may never exceed ([`Ceiling`]).
//!
//! Backends fill these in ([`crate::authn::Identity`]), policies match the kind and the claims
//! ([`crate::policy::Principal`]), and the grant narrows what the policies give to the ceiling
//! ([`crate::policy::Evaluation::within`]). This module imports only [`crate::scope`].

use std::fmt;

use crate::scope::{Scope, ScopeError, parse_scope};

/// What kind of subject a credential stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// A person (`user:NAME` in policies): every password backend's users.
    #[default]
    Person,
    /// A robot (`robot:NAME` in policies): a machine account, never matched by `user:NAME` or
    /// `${user}`, even with the same name.
    Robot,
}

impl SubjectKind {
    /// The prefix policies name this kind with: `user` or `robot`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Person => "user",
            Self::Robot => "robot",
        }
    }
}

/// An attribute a credential carries, e.g. an OIDC claim `project_path = "team/app"`, which
/// policies name as `claim:project_path:team/app` (exact, case-sensitive values).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The key: ASCII letters, digits, `_`, `-` and `.` (nested claims flattened with `.`).
    key: String,
    /// The value: any non-empty text without control characters.
    value: String,
}

/// A claim key or value that policies could not name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The key is empty or has a character outside `[A-Za-z0-9_.-]`.
    #[error("invalid claim key {0:?} (use letters, digits, `_`, `-` and `.`)")]
    InvalidKey(String),
    /// The value of the claim `key` is empty or holds a control character.
    #[error("invalid value of claim {0:?} (empty or with a control character)")]
    InvalidValue(String),
}

impl Claim {
    /// A claim `key` = `value`, validated (see [`Claim::is_valid_key`]).
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Result<Self, ClaimError> {
        let (key, value) = (key.into(), value.into());
        if !Self::is_valid_key(&key) {
            return Err(ClaimError::InvalidKey(key));
        }
        if value.is_empty() || value.chars().any(char::is_control) {
            return Err(ClaimError::InvalidValue(key));
        }
        Ok(Self { key, value })
    }

    /// Parses `KEY:VALUE` (the key ends at the first `:`; the value may hold more).
    pub fn parse(text: &str) -> Result<Self, ClaimError> {
        match text.split_once(':') {
            Some((key, value)) => Self::new(key, value),
            None => Err(ClaimError::InvalidKey(text.to_owned())),
        }
    }

    /// Whether `key` can be a claim key: non-empty ASCII letters, digits, `_`, `-` and `.`
    /// (no `:`, which ends the key, and no `/`, which names a backend in policies).
    pub fn is_valid_key(key: &str) -> bool {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for Claim {
    /// `claim:KEY:VALUE`, as policies name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "claim:{}:{}", self.key, self.value)
    }
}

/// The scopes a credential may never exceed (e.g. an access token's `--scope`s): a grant is the
/// intersection of what the policies give its subject and these. Names are exact; the action
/// `*` allows every action on its resource. An empty ceiling allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ceiling {
    /// The allowed scopes.
    scopes: Vec<Scope>,
}

impl Ceiling {
    /// A ceiling of `scopes`.
    pub fn new(scopes: Vec<Scope>) -> Self {
        Self { scopes }
    }

    /// Parses scope texts such as `repository:team/app:pull,push` into a ceiling.
    pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Self, ScopeError> {
        let scopes = texts.into_iter().map(parse_scope).collect::<Result<_, _>>()?;
        Ok(Self { scopes })
    }

    /// The allowed scopes, as given.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// Whether the ceiling allows `action` on the resource `resource_type:name`.
    pub fn allows(&self, resource_type: &str, name: &str, action: &str) -> bool {
        self.scopes.iter().any(|scope| {
            scope.resource_type == resource_type
                && scope.name == name
                && scope.actions.iter().any(|allowed| allowed == action || allowed == "*")
        })
    }
}

impl fmt::Display for Ceiling {
    /// The scopes, space-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = self.scopes.iter().map(Scope::to_string).collect();
        f.write_str(&texts.join(" "))
    }
}

#[cfg(test)]
mod tests;
