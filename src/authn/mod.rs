//! Authentication: the [`Authenticator`] trait, the ordered backend [`Chain`] and the backends.
//!
//! A wrong password is an outcome ([`Outcome::Denied`]); an unreachable backend is an error
//! ([`AuthnError`], answered with 503 when no later backend authenticates the user). The
//! [`Chain`] asks the backends in order; see its module for ownership, caching and timing.

pub mod cache;
mod chain;
pub mod htpasswd;
pub mod http;
pub mod ldap;
mod metered;

use std::time::Duration;

use async_trait::async_trait;

pub use self::chain::{Chain, ChainLookup, ChainOutcome, Verified};
pub use self::metered::Metered;
use crate::secret::Secret;
use crate::subject::{Ceiling, Claim, SubjectKind};

/// Who a backend says the user is. Password backends make a [`Identity::person`] (no claims,
/// no ceiling); credentials such as access tokens or OIDC JWTs may make a robot, carry claims
/// and a ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name of the backend that authenticated the user.
    pub backend: String,
    /// The canonical login name, as the backend knows it.
    pub name: String,
    /// The user's groups.
    pub groups: Vec<String>,
    /// A person (`user:NAME` in policies) or a robot (`robot:NAME`).
    pub kind: SubjectKind,
    /// Attributes from the credential (`claim:KEY:VALUE` in policies); empty for passwords.
    pub claims: Vec<Claim>,
    /// The scopes the credential may never exceed; `None`: only the policies limit it.
    pub ceiling: Option<Ceiling>,
}

impl Identity {
    /// A person `name` of `backend` with `groups`: no claims, no ceiling.
    pub fn person(backend: impl Into<String>, name: impl Into<String>, groups: Vec<String>) -> Self {
        Self {
            backend: backend.into(),
            name: name.into(),
            groups,
            kind: SubjectKind::Person,
            claims: Vec::new(),
            ceiling: None,
        }
    }

    /// A robot `name` of `backend` with `groups`: no claims, no ceiling.
    pub fn robot(backend: impl Into<String>, name: impl Into<String>, groups: Vec<String>) -> Self {
        Self { kind: SubjectKind::Robot, ..Self::person(backend, name, groups) }
    }

    /// The same identity carrying `claims`.
    pub fn with_claims(self, claims: Vec<Claim>) -> Self {
        Self { claims, ..self }
    }

    /// The same identity limited to `ceiling`.
    pub fn with_ceiling(self, ceiling: Ceiling) -> Self {
        Self { ceiling: Some(ceiling), ..self }
    }

    /// Whether a refresh token may stand for this identity: only a person without claims and
    /// without a ceiling, because a refresh re-derives the identity with
    /// [`Authenticator::lookup`] (name and groups only), which would lose the rest.
    pub fn may_refresh(&self) -> bool {
        self.kind == SubjectKind::Person && self.claims.is_empty() && self.ceiling.is_none()
    }
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

/// What a backend knows about a user name without a password (the re-check of a refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The user still exists (and is not disabled): who they are now, groups re-read.
    Found(Identity),
    /// The user is gone (deleted, disabled, or the entry no longer has that name).
    Gone,
    /// This backend cannot look a user up without a password.
    NotSupported,
}

/// A backend that could not give an answer (an outage, not a wrong password).
#[derive(Debug, Clone, thiserror::Error)]
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

    /// Whether [`Authenticator::lookup`] can re-check a user (false by default). Refresh
    /// tokens are issued only to users of a backend that can.
    fn supports_lookup(&self) -> bool {
        false
    }

    /// Looks up the user with the canonical name `name` without a password: still there (with
    /// the groups as they are now), gone, or [`Lookup::NotSupported`] (the default). An outage
    /// is an error, never [`Lookup::Gone`].
    async fn lookup(&self, name: &str) -> Result<Lookup, AuthnError> {
        let _ = name;
        Ok(Lookup::NotSupported)
    }

    /// How long the backend caches a successful authentication. The chain caches its own
    /// outcome no longer than the smallest TTL of the backends it asked; zero (the default)
    /// keeps the chain from caching any outcome that went through this backend.
    fn cache_ttl(&self) -> Duration {
        Duration::ZERO
    }

    /// A number that changes whenever the backend's data changes (e.g. its file was reloaded),
    /// so outcomes the chain cached from older data miss. Constant by default. A backend that
    /// answers from a stale cache during an outage (`max_stale`) also changes it each time, so
    /// the chain never caches such an answer (it was read before the answer).
    fn generation(&self) -> u64 {
        0
    }

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
            let kind = match id.kind {
                SubjectKind::Person => "",
                SubjectKind::Robot => "robot ",
            };
            let mut text = format!("authenticated as {kind}{:?}, groups {:?}", id.name, id.groups);
            if !id.claims.is_empty() {
                let claims: Vec<String> = id.claims.iter().map(Claim::to_string).collect();
                text.push_str(&format!(", claims {claims:?}"));
            }
            if let Some(ceiling) = &id.ceiling {
                text.push_str(&format!(", at most {:?}", ceiling.to_string()));
            }
            text
        }
        Ok(Outcome::Denied) => "wrong password".to_owned(),
        Ok(Outcome::UnknownUser) => "no such user".to_owned(),
        Err(err) => format!("unavailable: {err}"),
    }
}
