//! The front end: regent terminates TLS itself (rustls, aws-lc-rs) and passes registry traffic
//! to the registry, so no nginx is needed in front of either.
//!
//! - [`tls`]: certificates by SNI with a default, reloaded when their files change or on
//!   SIGHUP; the rustls server configuration (TLS 1.2/1.3, ALPN `h2`, `http/1.1`).
//! - [`serve`]: the accept loop: TLS handshake, HTTP/1.1 or HTTP/2, graceful shutdown, and
//!   every timeout and cap of `[limits]` ([`limits`]: connection caps; [`activity`]: idleness).
//! - [`routes`]: the one router per listener: token paths in-process, the rest proxied by host
//!   and listener (`[[front.route]]`), else to the listener's `upstream`.
//! - [`proxy`]: the streaming reverse proxy (no buffering, no size limit) with its 502/504s;
//!   [`counted`]: the body wrapper counting proxied bytes for the metrics.
//! - [`head`]: the HTTP/1.1 and HTTP/2 settings, and request heads over `[limits]`'s sizes
//!   answered 414 or 431 before routing.
//! - [`checks`]: requests refused before routing (two `Host`s, `CONNECT`, absolute-form).
//! - [`headers`]: hop-by-hop headers, `Host` and `X-Forwarded-*`, the registry API version.
//!
//! Nothing here knows about tokens: the token paths are regent's [`crate::http::router`].

pub mod activity;
pub mod body;
pub mod checks;
pub mod counted;
pub mod head;
pub mod headers;
pub mod limits;
pub mod proxy;
pub mod routes;
pub mod serve;
pub mod tls;

use std::path::PathBuf;

pub use proxy::Proxy;
pub use routes::{ListenerFront, ListenerRoutes, LiveFront, Target, listener_router};
pub use tls::{CertificateStore, server_config};

/// Errors loading certificates and keys, or setting up TLS.
#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    /// A PEM file could not be read or parsed.
    #[error("{}: {error}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        error: rustls_pki_types::pem::Error,
    },
    /// A certificate file holds no certificate.
    #[error("{}: no certificate in the file", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key is unusable, or does not belong to the certificate.
    #[error("{} with {}: {error}", certificate.display(), key.display())]
    Key {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        error: rustls::Error,
    },
    /// The TLS settings were refused.
    #[error("TLS settings: {0}")]
    Tls(rustls::Error),
    /// Reloading certificates failed (the last good ones keep serving).
    #[error("certificate reload failed: {0}")]
    Reload(String),
}
