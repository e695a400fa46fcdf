//! Authentication: the [`Authenticator`] trait, the ordered backend [`Chain`] and the backends.
//!
//! A wrong password is an outcome ([`Outcome::Denied`]); an unreachable backend is an error
//! ([`AuthnError`], answered with 503 when no later backend authenticates the user).

pub mod cache;
pub mod htpasswd;
pub mod http;
pub mod ldap;

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

    /// Like [`Authenticator::authenticate`], writing each step taken into `trace` (for
    /// `regent authn test`). Never writes a password. Backends with steps worth showing override it.
    async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<Outcome, AuthnError> {
        let outcome = self.authenticate(user, password).await;
        trace.outcome(self.name(), outcome)
    }
}

/// The steps a backend took to authenticate a user, in order, for `regent authn test`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Trace {
    steps: Vec<String>,
}

impl Trace {
    /// Records one step.
    pub fn step(&mut self, text: impl Into<String>) {
        self.steps.push(text.into());
    }

    /// Records `backend`'s final answer as a step and passes it on.
    pub fn outcome(
        &mut self,
        backend: &str,
        outcome: Result<Outcome, AuthnError>,
    ) -> Result<Outcome, AuthnError> {
        self.step(format!("{backend}: {}", describe(&outcome)));
        outcome
    }

    /// The steps so far.
    pub fn steps(&self) -> &[String] {
        &self.steps
    }
}

/// A one-line description of an authentication result.
pub fn describe(outcome: &Result<Outcome, AuthnError>) -> String {
    match outcome {
        Ok(Outcome::Authenticated(id)) => {
            format!("authenticated as {:?}, groups {:?}", id.name, id.groups)
        }
        Ok(Outcome::Denied) => "wrong password".to_owned(),
        Ok(Outcome::UnknownUser) => "no such user".to_owned(),
        Err(err) => format!("unavailable: {err}"),
    }
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
        self.run(user, password, None).await
    }

    /// Like [`Chain::authenticate`], recording every backend's steps in `trace`.
    pub async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<Outcome, AuthnError> {
        self.run(user, password, Some(trace)).await
    }

    /// The backends' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.backends.iter().map(|b| b.name()).collect()
    }

    async fn run(
        &self,
        user: &str,
        password: &Secret,
        mut trace: Option<&mut Trace>,
    ) -> Result<Outcome, AuthnError> {
        let mut outage = None;
        for backend in &self.backends {
            let outcome = match trace.as_deref_mut() {
                Some(trace) => backend.authenticate_traced(user, password, trace).await,
                None => backend.authenticate(user, password).await,
            };
            match outcome {
                Ok(Outcome::UnknownUser) => continue,
                Ok(Outcome::Authenticated(identity)) => return Ok(Outcome::Authenticated(identity)),
                // A wrong password stops the chain, unless an earlier backend that might know
                // the user could not be asked: then the password may not be wrong at all.
                Ok(Outcome::Denied) => return outage.map_or(Ok(Outcome::Denied), Err),
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
        f.debug_struct("Chain").field("backends", &self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend with a fixed answer.
    struct Fixed(&'static str, fn() -> Result<Outcome, AuthnError>);

    #[async_trait]
    impl Authenticator for Fixed {
        fn name(&self) -> &str {
            self.0
        }
        async fn authenticate(&self, _user: &str, _password: &Secret) -> Result<Outcome, AuthnError> {
            (self.1)()
        }
    }

    fn ok() -> Result<Outcome, AuthnError> {
        Ok(Outcome::Authenticated(Identity { backend: "b".into(), name: "alice".into(), groups: vec![] }))
    }
    fn denied() -> Result<Outcome, AuthnError> {
        Ok(Outcome::Denied)
    }
    fn unknown() -> Result<Outcome, AuthnError> {
        Ok(Outcome::UnknownUser)
    }
    fn down() -> Result<Outcome, AuthnError> {
        Err(AuthnError::Unavailable { backend: "down".into(), reason: "refused".into() })
    }

    async fn chain(answers: &[fn() -> Result<Outcome, AuthnError>]) -> Result<Outcome, AuthnError> {
        let backends: Vec<Arc<dyn Authenticator>> =
            answers.iter().map(|a| Arc::new(Fixed("x", *a)) as Arc<dyn Authenticator>).collect();
        Chain::new(backends).authenticate("alice", &Secret::new("pw")).await
    }

    #[tokio::test]
    async fn chain_order_and_outages() {
        assert!(matches!(chain(&[unknown, ok]).await, Ok(Outcome::Authenticated(_))));
        assert!(matches!(chain(&[denied, ok]).await, Ok(Outcome::Denied)));
        assert!(matches!(chain(&[unknown, unknown]).await, Ok(Outcome::UnknownUser)));
        assert!(matches!(chain(&[]).await, Ok(Outcome::UnknownUser)));
        assert!(matches!(chain(&[down, ok]).await, Ok(Outcome::Authenticated(_))));
        assert!(matches!(chain(&[down, unknown]).await, Err(AuthnError::Unavailable { .. })));
        assert!(matches!(chain(&[down, denied]).await, Err(AuthnError::Unavailable { .. })));
        assert!(matches!(chain(&[unknown, down]).await, Err(AuthnError::Unavailable { .. })));
    }

    #[tokio::test]
    async fn traced_chain_records_each_backend() {
        let backends: Vec<Arc<dyn Authenticator>> =
            vec![Arc::new(Fixed("first", unknown)), Arc::new(Fixed("second", ok))];
        let mut trace = Trace::default();
        let outcome = Chain::new(backends).authenticate_traced("alice", &Secret::new("pw"), &mut trace).await;
        assert!(matches!(outcome, Ok(Outcome::Authenticated(_))));
        assert_eq!(trace.steps(), ["first: no such user", "second: authenticated as \"alice\", groups []"]);
    }
}
