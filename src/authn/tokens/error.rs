//! What can go wrong with the tokens file.

use std::io;
use std::path::PathBuf;

use crate::authn::htpasswd::HtpasswdError;

/// An error reading or editing the tokens file.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The file is not the tokens JSON (line and column in `reason`).
    #[error("{}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What serde_json said.
        reason: String,
    },
    /// A record is not valid.
    #[error("{}: token {id:?}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The record's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// Locking or replacing the file failed.
    #[error(transparent)]
    Edit(#[from] HtpasswdError),
    /// A new token's settings are not valid.
    #[error("{0}")]
    Usage(String),
    /// No randomness for a new secret.
    #[error("the system has no randomness for a new token")]
    Random,
}
