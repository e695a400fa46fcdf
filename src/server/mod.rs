//! Serving: [`build_state`] turns a validated config into the shared state; [`Server`] serves
//! it on already-bound listeners (tests bind `127.0.0.1:0`) until a shutdown future resolves,
//! then drains open connections within `[front] shutdown_timeout`.
//!
//! - `state`: the token service (keys, policies, revocations, refresh tokens, the backend
//!   chain) built from a config, sharing what did not change with the running one.
//! - `backends`: the authentication backends of `[[authn]]`.
//! - `listeners`: binding `[[listen]]` entries, and each served listener's swappable parts.
//! - `run`: [`Server`], [`run()`], [`run_listeners`] and the `[metrics] address` listener.
//! - `reconfigure`: watching `regent.toml` and applying a change without a restart.
//! - `signals`: SIGTERM/SIGINT (shut down) and SIGHUP (reload now).

mod backends;
mod listeners;
mod reconfigure;
mod run;
mod signals;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

pub use backends::{build_chain, build_chain_metered};
pub use listeners::{BoundListener, bind_listeners};
pub use reconfigure::ConfigWatch;
pub use run::{Server, run, run_listeners, serve_metrics};
pub use signals::shutdown_signal;
pub use state::build_state;

/// How often watched files (regent.toml, policies, htpasswd, groups, signing keys) are checked
/// for changes: a change is live within this plus [`crate::reload::SETTLE_TIME`], so replicas
/// agree within 2 s.
pub const RELOAD_INTERVAL: Duration = Duration::from_millis(500);

/// Errors building the server's state from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// `regent.toml` could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A signing key or certificate could not be loaded.
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    /// A policy file is invalid.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// An htpasswd or groups file is invalid.
    #[error(transparent)]
    Htpasswd(#[from] crate::authn::htpasswd::HtpasswdError),
    /// An authentication backend could not be set up (e.g. a bad CA file).
    #[error("authn backend {name:?}: {error}")]
    Backend {
        /// The backend's configured name.
        name: String,
        /// What went wrong.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The revocations file is invalid.
    #[error(transparent)]
    Revocations(#[from] crate::token::refresh::RevocationsError),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
    /// A listen address could not be bound.
    #[error("binding {address}: {error}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A TLS certificate or key could not be loaded.
    #[error(transparent)]
    Front(#[from] crate::front::FrontError),
}
