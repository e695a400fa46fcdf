//! The ordered backend chain and the ownership of names.
//!
//! - **Order and outages.** An unknown user falls through to the next backend, a wrong password
//!   stops the chain, an unavailable backend is skipped. When no backend authenticates the user
//!   and one was unavailable, the outage is the answer (503): the password may not be wrong.
//! - **Ownership.** A backend owns a name when every backend before it answered "no such user".
//!   A user authenticated after an earlier backend was unavailable is that backend's user but not
//!   proven to own the name ([`Verified::owns_name`] is false): policies give it `user:BACKEND/NAME`
//!   grants, never `user:NAME` or `${user}` ones (which belong to the owner, who may be the user
//!   of the unavailable backend).

#[cfg(test)]
mod tests;

use std::sync::Arc;

use super::{Authenticator, AuthnError, Identity, Outcome, Trace};
use crate::secret::Secret;

/// A user the chain authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who the backend says the user is ([`Identity::backend`] names the backend).
    pub identity: Identity,
    /// True when every earlier backend answered "no such user" (none was unavailable), so the
    /// name is proven to be this backend's.
    pub owns_name: bool,
}

/// What the chain concluded about a username and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainOutcome {
    /// A backend accepted the password.
    Authenticated(Verified),
    /// The first backend knowing the user refused the password.
    Denied,
    /// No backend knows the user.
    UnknownUser,
}

impl ChainOutcome {
    /// True for a wrong password or an unknown user.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Denied | Self::UnknownUser)
    }
}

/// The configured backends, asked in order.
#[derive(Clone)]
pub struct Chain {
    /// The backends, in order.
    backends: Arc<Vec<Arc<dyn Authenticator>>>,
}

impl Chain {
    /// A chain asking `backends` in order.
    pub fn new(backends: Vec<Arc<dyn Authenticator>>) -> Self {
        Self { backends: Arc::new(backends) }
    }

    /// Asks each backend in turn (see the module documentation).
    pub async fn authenticate(&self, user: &str, password: &Secret) -> Result<ChainOutcome, AuthnError> {
        self.run(user, password, None).await
    }

    /// Like [`Chain::authenticate`], recording every backend's steps in `trace` (for
    /// `regent authn test`).
    pub async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<ChainOutcome, AuthnError> {
        self.run(user, password, Some(trace)).await
    }

    /// The backends' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.backends.iter().map(|b| b.name()).collect()
    }

    /// Asks each backend in turn (see the module documentation).
    async fn run(
        &self,
        user: &str,
        password: &Secret,
        mut trace: Option<&mut Trace>,
    ) -> Result<ChainOutcome, AuthnError> {
        let mut outage = None;
        for backend in self.backends.iter() {
            let outcome = match trace.as_deref_mut() {
                Some(trace) => backend.authenticate_traced(user, password, trace).await,
                None => backend.authenticate(user, password).await,
            };
            match outcome {
                Ok(Outcome::UnknownUser) => continue,
                Ok(Outcome::Authenticated(identity)) => {
                    let owns_name = outage.is_none();
                    return Ok(ChainOutcome::Authenticated(Verified { identity, owns_name }));
                }
                // A wrong password stops the chain, unless an earlier backend that might know
                // the user could not be asked: then the password may not be wrong at all.
                Ok(Outcome::Denied) => return outage.map_or(Ok(ChainOutcome::Denied), Err),
                Err(err) => {
                    tracing::warn!(backend = backend.name(), error = %err, "authentication backend unavailable");
                    outage.get_or_insert(err);
                }
            }
        }
        outage.map_or(Ok(ChainOutcome::UnknownUser), Err)
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("backends", &self.names()).finish()
    }
}
