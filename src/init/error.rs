//! [`InitError`]: what can go wrong in `regent init`.

use std::io;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::token::TokenError;

/// Errors from `regent init`.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A file or directory could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// A signing key (or its certificate) exists and `--force` was not given.
    #[error(
        "{}: a signing key already exists; use --force to replace it (the registry then needs the new certificate)",
        path.display()
    )]
    KeyExists {
        /// The existing key or certificate.
        path: PathBuf,
    },
    /// An option makes an invalid config (an empty service, a realm that is not a URL).
    #[error("{message}")]
    InvalidOption {
        /// What is wrong.
        message: String,
    },
    /// The `regent.toml` already in the directory is invalid.
    #[error("{0} (fix it, or use --force to replace it)")]
    ExistingConfig(#[source] ConfigError),
    /// A policy file name is not a plain file name.
    #[error("bad policy file name {name:?}: expected a plain file name")]
    PolicyFileName {
        /// The name.
        name: String,
    },
    /// Generating the signing key failed.
    #[error("generating the signing key: {0}")]
    KeyGeneration(#[from] TokenError),
    /// One TLS file is in place but a file that goes with it is not.
    #[error(
        "{} exists but {} does not: put both in place, remove the first, or use --force to make a new local CA and server certificate",
        present.display(),
        missing.display()
    )]
    TlsIncomplete {
        /// The file that exists.
        present: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },
    /// `--host` on an existing directory: the TLS listener cannot be added to its config.
    #[error(
        "{}: cannot add the TLS listener ({reason}); nothing was written. Add this block to it \
         yourself, or use --force to rewrite the config (and make a new signing key):\n{block}",
        path.display()
    )]
    ConfigEdit {
        /// The config.
        path: PathBuf,
        /// Why the edited config does not work.
        reason: String,
        /// The `[[listen]]` block to add.
        block: String,
    },
    /// Generating the local CA or the server certificate failed.
    #[error("generating the TLS certificates: {message}")]
    Certificate {
        /// What rcgen said.
        message: String,
    },
}
