//! Each backend's last state, and what `/readyz` concludes from it.

use std::sync::Mutex;

use serde::Serialize;

/// What a backend's last call showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendState {
    /// Not asked yet.
    Unknown,
    /// Its last call got an answer (right or wrong password, unknown user).
    Up,
    /// Its last call failed: unreachable, timed out or broken.
    Unavailable,
}

/// The backends' last states, in registration order.
#[derive(Debug, Default)]
pub(super) struct BackendStates {
    /// (backend, state).
    states: Mutex<Vec<(String, BackendState)>>,
}

impl BackendStates {
    /// Adds `backend` as [`BackendState::Unknown`] unless it is known.
    pub(super) fn register(&self, backend: &str) {
        let mut states = super::lock(&self.states);
        if !states.iter().any(|(name, _)| name == backend) {
            states.push((backend.to_owned(), BackendState::Unknown));
        }
    }

    /// Sets `backend`'s state (registering it when new).
    pub(super) fn set(&self, backend: &str, state: BackendState) {
        let mut states = super::lock(&self.states);
        match states.iter_mut().find(|(name, _)| name == backend) {
            Some(entry) => entry.1 = state,
            None => states.push((backend.to_owned(), state)),
        }
    }

    /// Keeps only the backends named in `backends`; returns the names of the others.
    pub(super) fn retain(&self, backends: &[&str]) -> Vec<String> {
        let mut states = super::lock(&self.states);
        let (kept, removed) = states.drain(..).partition(|(name, _)| backends.contains(&name.as_str()));
        *states = kept;
        removed.into_iter().map(|(name, _)| name).collect()
    }

    /// Every backend and its state.
    pub(super) fn all(&self) -> Vec<(String, BackendState)> {
        super::lock(&self.states).clone()
    }
}

/// The answer of `/readyz`: ready when the keys and policies are loaded and no backend's last
/// call was an outage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// True when everything below is fine.
    pub ready: bool,
    /// Whether signing keys are loaded.
    pub keys: bool,
    /// Whether a policy set is loaded.
    pub policies: bool,
    /// Each backend's last state, by name.
    pub backends: Vec<BackendReadiness>,
}

/// One backend in [`Readiness`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendReadiness {
    /// The backend's configured name.
    pub name: String,
    /// Its last state.
    pub state: BackendState,
}

impl Readiness {
    /// Concludes from what is loaded and the backends' last states.
    pub fn new(keys: bool, policies: bool, backends: Vec<(String, BackendState)>) -> Self {
        let backends: Vec<BackendReadiness> =
            backends.into_iter().map(|(name, state)| BackendReadiness { name, state }).collect();
        let ready = keys && policies && backends.iter().all(|b| b.state != BackendState::Unavailable);
        Self { ready, keys, policies, backends }
    }

    /// The same answer with the backends' states left out of `ready` (they are still listed):
    /// `/readyz?exclude=backends`, for load balancers whose replicas all share the backends.
    pub fn excluding_backends(self) -> Self {
        Self { ready: self.keys && self.policies, ..self }
    }
}
