//! The tokens file (JSON in the data directory): one record per token, the secret only as its
//! hash. Edited by `regent token` (and the self-service API) under the same lock and atomic
//! replace as `regent passwd`; read by the backend, which reloads it when it changes.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::credential;
use super::error::TokensError;
use crate::authn::htpasswd::replace::{EditLock, write_atomically};
use crate::secret::Secret;
use crate::subject::{Ceiling, SubjectKind};
use crate::untrusted::check_name;

/// Whom a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSubject {
    /// A personal token of the user `user:NAME` (as their backend names them).
    Owner(String),
    /// A robot's token, its own subject `robot:NAME`.
    Robot(String),
}

impl TokenSubject {
    /// Parses `user:NAME` or `robot:NAME`.
    pub fn parse(text: &str) -> Option<Self> {
        let subject = match text.split_once(':')? {
            ("user", name) => Self::Owner(name.to_owned()),
            ("robot", name) => Self::Robot(name.to_owned()),
            _ => return None,
        };
        check_name(subject.name()).is_ok().then_some(subject)
    }

    /// The user's or robot's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Owner(name) | Self::Robot(name) => name,
        }
    }

    /// Person or robot.
    pub fn kind(&self) -> SubjectKind {
        match self {
            Self::Owner(_) => SubjectKind::Person,
            Self::Robot(_) => SubjectKind::Robot,
        }
    }
}

impl std::fmt::Display for TokenSubject {
    /// `user:NAME` or `robot:NAME`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind().prefix(), self.name())
    }
}

/// One token as the file stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// The id (hex, also inside the secret).
    pub id: String,
    /// `user:NAME` or `robot:NAME`.
    pub subject: String,
    /// A name for people (`ci-deploy`).
    pub name: String,
    /// The scopes the token may never exceed (its ceiling).
    pub scopes: Vec<String>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Expiry time, Unix seconds; `None`: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// `sha256:HEX` of the secret text.
    pub hash: String,
}

/// The file's layout.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLayout {
    /// Every token.
    tokens: Vec<TokenRecord>,
}

/// A loaded token: the record checked and its parts parsed.
#[derive(Debug, Clone)]
pub struct LoadedToken {
    /// The record as stored.
    pub record: TokenRecord,
    /// Its subject.
    pub subject: TokenSubject,
    /// Its scopes.
    pub ceiling: Ceiling,
}

/// Every token of the file, by id.
#[derive(Debug, Default)]
pub struct TokenFile {
    /// The tokens.
    by_id: HashMap<String, LoadedToken>,
}

impl TokenFile {
    /// Reads `path`; a missing file has no tokens. Errors name the file and the token.
    pub fn load(path: &Path) -> Result<Self, TokensError> {
        let records = read_records(path)?;
        let mut by_id = HashMap::with_capacity(records.len());
        for record in records {
            let invalid = |reason: String| TokensError::Invalid {
                path: path.to_owned(),
                id: record.id.clone(),
                reason,
            };
            let subject = TokenSubject::parse(&record.subject).ok_or_else(|| {
                invalid(format!("subject {:?} is not user:NAME or robot:NAME", record.subject))
            })?;
            let ceiling = Ceiling::parse(record.scopes.iter().map(String::as_str))
                .map_err(|error| invalid(error.to_string()))?;
            if !record.hash.starts_with("sha256:") {
                return Err(invalid("the hash is not sha256:HEX".to_owned()));
            }
            let id = record.id.clone();
            if by_id.insert(id.clone(), LoadedToken { record, subject, ceiling }).is_some() {
                return Err(TokensError::Invalid {
                    path: path.to_owned(),
                    id,
                    reason: "duplicate id".to_owned(),
                });
            }
        }
        Ok(Self { by_id })
    }

    /// The token with `id`.
    pub fn get(&self, id: &str) -> Option<&LoadedToken> {
        self.by_id.get(id)
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Its owner or robot.
    pub subject: TokenSubject,
    /// A name for people.
    pub name: String,
    /// Its scopes (checked against the scope grammar).
    pub scopes: Vec<String>,
    /// When it expires; `None`: until revoked.
    pub expires: Option<OffsetDateTime>,
}

/// Adds a token to the file at `path` (created when missing) and returns its record and its
/// secret, which exists nowhere else: show it once.
pub fn create_token(
    path: &Path,
    new: NewToken,
    now: OffsetDateTime,
) -> Result<(TokenRecord, Secret), TokensError> {
    check_name(new.subject.name()).map_err(|error| {
        TokensError::Usage(format!("{:?} is not a valid name: {error}", new.subject.name()))
    })?;
    if new.name.trim().is_empty() || new.name.chars().any(char::is_control) {
        return Err(TokensError::Usage("the token's name must be non-empty text".to_owned()));
    }
    Ceiling::parse(new.scopes.iter().map(String::as_str))
        .map_err(|error| TokensError::Usage(error.to_string()))?;
    if new.expires.is_some_and(|expires| expires <= now) {
        return Err(TokensError::Usage("the expiry is not in the future".to_owned()));
    }
    let (id, secret) = credential::generate(new.subject.kind()).map_err(|_| TokensError::Random)?;
    let record = TokenRecord {
        id,
        subject: new.subject.to_string(),
        name: new.name,
        scopes: new.scopes,
        created: now.unix_timestamp(),
        expires: new.expires.map(OffsetDateTime::unix_timestamp),
        hash: credential::hash(secret.expose()),
    };
    edit(path, |records| records.push(record.clone()))?;
    Ok((record, secret))
}

/// Removes the token `id` from the file; returns the removed record (`None`: no such token).
pub fn revoke_token(path: &Path, id: &str) -> Result<Option<TokenRecord>, TokensError> {
    let mut removed = None;
    edit(path, |records| {
        if let Some(index) = records.iter().position(|record| record.id == id) {
            removed = Some(records.remove(index));
        }
    })?;
    Ok(removed)
}

/// Every record of the file at `path`, oldest first (a missing file has none).
pub fn list_tokens(path: &Path) -> Result<Vec<TokenRecord>, TokensError> {
    let mut records = read_records(path)?;
    records.sort_by_key(|record| record.created);
    Ok(records)
}

/// Applies `change` to the records under the edit lock and replaces the file atomically.
fn edit(path: &Path, change: impl FnOnce(&mut Vec<TokenRecord>)) -> Result<(), TokensError> {
    let _lock = EditLock::acquire(path)?;
    let mut records = read_records(path)?;
    change(&mut records);
    let mut text = serde_json::to_string_pretty(&FileLayout { tokens: records })
        .map_err(|error| TokensError::Parse { path: path.to_owned(), reason: error.to_string() })?;
    text.push('\n');
    Ok(write_atomically(path, &text)?)
}

/// The records of `path`, as stored (a missing file has none).
fn read_records(path: &Path) -> Result<Vec<TokenRecord>, TokensError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(TokensError::Read { path: path.to_owned(), error }),
    };
    let layout: FileLayout = serde_json::from_str(&text)
        .map_err(|error| TokensError::Parse { path: path.to_owned(), reason: error.to_string() })?;
    Ok(layout.tokens)
}
