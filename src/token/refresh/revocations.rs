//! [`Revocations`]: not-before times for refresh tokens, per user and for everyone, in a TOML
//! file of the data directory that `regent revoke` writes and every replica watches.
//!
//! ```toml
//! # written by `regent revoke`
//! all = 2026-12-03T09:00:00Z        # `regent revoke --all`
//! [users]
//! alice = 2026-12-03T09:30:12Z      # `regent revoke alice`
//! ```
//!
//! A refresh token is revoked when its `iat` (whole seconds) is at or before the not-before
//! time's second: a token issued in the very second of the revocation is revoked too, so a
//! revocation never misses one (a login a moment later works).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use crate::config::REVOCATIONS_FILE_NAME;

/// Errors reading or writing the revocations file.
#[derive(Debug, thiserror::Error)]
pub enum RevocationsError {
    /// The file could not be read, locked or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with line and column from the TOML parser).
        message: String,
    },
}

/// The file as written.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationsFile {
    /// Not-before time for every user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    all: Option<toml::value::Datetime>,
    /// Not-before times by user name.
    #[serde(default)]
    users: BTreeMap<String, toml::value::Datetime>,
}

/// The loaded not-before times, in seconds since the epoch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Revocations {
    /// Not-before for everyone.
    all: Option<i64>,
    /// Not-before by user name.
    users: BTreeMap<String, i64>,
}

impl Revocations {
    /// Reads `path`; a missing file revokes nothing.
    pub fn load(path: &Path) -> Result<Self, RevocationsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(RevocationsError::Io { path: path.to_path_buf(), error }),
        }
    }

    /// Parses the file's `text` (errors name `path` and line:col).
    pub fn parse(text: &str, path: &Path) -> Result<Self, RevocationsError> {
        let file = parse_file(text, path)?;
        let invalid = |message: String| RevocationsError::Invalid { path: path.to_path_buf(), message };
        let all = file.all.map(|at| seconds(&at)).transpose().map_err(&invalid)?;
        let mut users = BTreeMap::new();
        for (user, at) in &file.users {
            let at = seconds(at).map_err(|message| invalid(format!("users.{user}: {message}")))?;
            users.insert(user.clone(), at);
        }
        Ok(Self { all, users })
    }

    /// Whether a refresh token for `user` issued at `issued_at` (seconds) is revoked.
    pub fn revokes(&self, user: &str, issued_at: i64) -> bool {
        let not_before = self.all.into_iter().chain(self.users.get(user).copied()).max();
        not_before.is_some_and(|not_before| issued_at <= not_before)
    }
}

/// Records in `path` that refresh tokens of `user` (`None`: of everyone) issued up to `now`
/// are revoked: under an exclusive lock on `path.lock`, read, update, and replace the file
/// atomically (a temporary file in the same directory, then a rename), so a watching replica
/// never reads it half-written and two `regent revoke` runs never lose each other's entry.
pub fn record_revocation(
    path: &Path,
    user: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), RevocationsError> {
    let io = |error| RevocationsError::Io { path: path.to_path_buf(), error };
    let lock_path = path.with_extension("toml.lock");
    let lock = File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(io)?;
    lock.lock().map_err(io)?;
    let mut file = match std::fs::read_to_string(path) {
        Ok(text) => parse_file(&text, path)?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => RevocationsFile::default(),
        Err(error) => return Err(io(error)),
    };
    let at = now.replace_nanosecond(0).unwrap_or(now).format(&Rfc3339).map_err(|error| {
        RevocationsError::Invalid { path: path.to_path_buf(), message: error.to_string() }
    })?;
    let at: toml::value::Datetime = at.parse().map_err(|error: toml::value::DatetimeParseError| {
        RevocationsError::Invalid { path: path.to_path_buf(), message: error.to_string() }
    })?;
    match user {
        Some(user) => {
            file.users.insert(user.to_owned(), at);
        }
        None => file.all = Some(at),
    }
    let text = toml::to_string(&file).map_err(|error| RevocationsError::Invalid {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    temp.write_all(
        b"# Written by `regent revoke`: refresh tokens issued at or before these times are refused.\n",
    )
    .and_then(|()| temp.write_all(text.as_bytes()))
    .and_then(|()| temp.as_file().sync_all())
    .map_err(io)?;
    temp.persist(path).map_err(|error| io(error.error))?;
    drop(lock);
    Ok(())
}

/// The file's structure, or an error naming `path` and line:col.
fn parse_file(text: &str, path: &Path) -> Result<RevocationsFile, RevocationsError> {
    toml::from_str(text).map_err(|error| {
        let message = match error.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{line}:{col}: {}", error.message())
            }
            None => error.message().to_owned(),
        };
        RevocationsError::Invalid { path: path.to_path_buf(), message }
    })
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |at| before.len() - at - 1) + 1;
    (line, col)
}

/// A TOML offset date-time as seconds since the epoch.
fn seconds(at: &toml::value::Datetime) -> Result<i64, String> {
    OffsetDateTime::parse(&at.to_string(), &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| format!("{at} is not a date-time with an offset (e.g. 2026-12-03T09:00:00Z)"))
}
