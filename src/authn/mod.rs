//! Authentication: the [`Authenticator`] trait, the ordered backend [`Chain`] and the backends.
//!
//! A wrong password is an outcome ([`Outcome::Denied`]); an unreachable backend is an error
//! ([`AuthnError`], answered with 503 when no later backend authenticates the user).

pub mod cache;
pub mod htpasswd;

use std::sync::Arc;

use async_trait::async_trait;

use crate::secret::Secret;

/// Who a backend says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name of the backend that authenticated the user.
    pub backend: String,
    /// The canonical login name, as the backend knows it.
    pub name: String,
    /// The user's groups.
    pub groups: Vec<String>,
}

/// What a backend concluded about a username and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The password is right.
    Authenticated(Identity),
    /// The user exists here and the password is wrong: stop the chain.
    Denied,
    /// This backend does not know the user: ask the next one.
    UnknownUser,
}

/// A backend that could not give an answer (an outage, not a wrong password).
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// The backend is unreachable, timed out or failed.
    #[error("authentication backend {backend:?} is unavailable: {reason}")]
    Unavailable {
        /// The backend's configured name.
        backend: String,
        /// What went wrong (never a password).
        reason: String,
    },
}

/// An authentication backend.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The backend's configured name.
    fn name(&self) -> &str;

    /// Checks `user`'s `password`.
    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError>;
}

/// The configured backends, asked in order.
#[derive(Clone, Default)]
pub struct Chain {
    backends: Vec<Arc<dyn Authenticator>>,
}

impl Chain {
    /// A chain asking `backends` in order.
    pub fn new(backends: Vec<Arc<dyn Authenticator>>) -> Self {
        Self { backends }
    }

    /// Asks each backend in turn: an unknown user falls through, a wrong password stops the
    /// chain, an unavailable backend is skipped. When no backend authenticates the user and one
    /// was unavailable, the outage is the answer (the password may not be wrong).
    pub async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        let mut outage = None;
        for backend in &self.backends {
            match backend.authenticate(user, password).await {
                Ok(Outcome::UnknownUser) => continue,
                Ok(outcome) => return Ok(outcome),
                Err(err) => {
                    tracing::warn!(backend = backend.name(), error = %err, "authentication backend unavailable");
                    outage.get_or_insert(err);
                }
            }
        }
        match outage {
            Some(err) => Err(err),
            None => Ok(Outcome::UnknownUser),
        }
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.backends.iter().map(|b| b.name()).collect();
        f.debug_struct("Chain").field("backends", &names).finish()
    }
}
