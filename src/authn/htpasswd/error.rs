//! What can go wrong reading, parsing and editing htpasswd and group files.

use std::io;
use std::path::PathBuf;

/// An htpasswd or group file error; every parse error names `file:line`.
#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    /// A file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// A file could not be written (atomically replaced).
    #[error("{}: cannot write: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The lock file that serialises editors could not be opened or locked.
    #[error("{}: cannot lock: {error}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// A line that is neither `user:hash` (htpasswd) nor `group: user ...` (groups).
    #[error("{}:{line}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A password hash scheme regent does not accept (crypt(3) DES, plain text, ...).
    #[error(
        "{}:{line}: user {user:?}: unsupported hash ({scheme}); set a bcrypt password with `regent passwd`",
        path.display()
    )]
    UnsupportedHash {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The user whose hash it is.
        user: String,
        /// The refused scheme.
        scheme: &'static str,
    },
    /// A bcrypt hash above `max_bcrypt_cost`: every login as this user (or a guess at it)
    /// would hold a verification slot for too long.
    #[error(
        "{}:{line}: user {user:?}: bcrypt cost {cost} is above max_bcrypt_cost {max}; set the \
         password again with `regent passwd` (cost {max} or less) or raise max_bcrypt_cost",
        path.display()
    )]
    CostAboveMax {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The user whose hash it is.
        user: String,
        /// The hash's cost.
        cost: u32,
        /// The configured maximum.
        max: u32,
    },
    /// A user defined twice.
    #[error("{}:{line}: user {user:?} is already defined on line {first}", path.display())]
    DuplicateUser {
        /// The file.
        path: PathBuf,
        /// The 1-based line number of the second definition.
        line: usize,
        /// The user.
        user: String,
        /// The 1-based line number of the first definition.
        first: usize,
    },
    /// A user name that cannot be written to an htpasswd file.
    #[error("invalid user name {user:?}: {reason}")]
    InvalidUserName {
        /// The name as given.
        user: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A password that cannot be stored.
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
    /// Hashing failed (a cost outside 4..=31, or no randomness for the salt).
    #[error("cannot hash the password: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
}

/// Checks that `user` can be an htpasswd user name: non-empty, no `:`, no whitespace or control
/// characters.
pub(super) fn validate_user_name(user: &str) -> Result<(), &'static str> {
    if user.is_empty() {
        Err("empty")
    } else if user.contains(':') {
        Err("contains ':'")
    } else if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("contains whitespace or a control character")
    } else {
        Ok(())
    }
}
