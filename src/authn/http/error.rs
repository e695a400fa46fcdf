//! [`HttpBackendError`]: setting up the HTTP auth backend.

use std::path::PathBuf;

/// Errors setting up an [`HttpBackend`](super::HttpBackend) (never an authentication outcome).
#[derive(Debug, thiserror::Error)]
pub enum HttpBackendError {
    /// The URL does not parse.
    #[error("url {url:?}: {error}")]
    Url {
        /// The configured URL.
        url: String,
        /// Why it does not parse.
        error: hyper::http::uri::InvalidUri,
    },
    /// The CA file could not be read.
    #[error("ca_file {}: {error}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What the operating system or the PEM parser said.
        error: String,
    },
    /// The CA file holds no certificate.
    #[error("ca_file {}: no PEM certificate in it", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The system's trusted roots could not be loaded (an `https://` URL without `ca_file`).
    #[error("no trusted root certificates on this system (give ca_file): {0}")]
    SystemRoots(std::io::Error),
    /// rustls refused the TLS configuration or a certificate.
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
}
