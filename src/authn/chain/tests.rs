//! The chain with fake backends: order and outages, ownership.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::*;

/// A backend answering from a table after a delay, counting the calls.
struct Fake {
    name: &'static str,
    /// `(user, password)` pairs it accepts; a known user with another password is denied.
    users: Vec<(&'static str, &'static str)>,
    /// Answers every call with an outage.
    down: bool,
    /// How long an answer takes (tokio time).
    delay: Duration,
    calls: AtomicUsize,
}

impl Fake {
    fn new(name: &'static str, users: &[(&'static str, &'static str)]) -> Self {
        Self { name, users: users.to_vec(), down: false, delay: Duration::ZERO, calls: AtomicUsize::new(0) }
    }
    fn down(name: &'static str) -> Self {
        Self { down: true, ..Self::new(name, &[]) }
    }
}

#[async_trait]
impl Authenticator for Fake {
    fn name(&self) -> &str {
        self.name
    }
    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        if self.down {
            return Err(AuthnError::Unavailable { backend: self.name.into(), reason: "refused".into() });
        }
        Ok(match self.users.iter().find(|(name, _)| *name == user) {
            None => Outcome::UnknownUser,
            Some((_, right)) if *right != password.expose() => Outcome::Denied,
            Some(_) => Outcome::Authenticated(Identity {
                backend: self.name.into(),
                name: user.into(),
                groups: vec![],
            }),
        })
    }
}

fn chain_of(backends: &[&Arc<Fake>]) -> Chain {
    Chain::new(backends.iter().map(|b| Arc::clone(b) as Arc<dyn Authenticator>).collect())
}

async fn login(chain: &Chain, user: &str, password: &str) -> Result<ChainOutcome, AuthnError> {
    chain.authenticate(user, &Secret::new(password)).await
}

/// The backend and ownership of a success; panics otherwise.
fn verified(result: Result<ChainOutcome, AuthnError>) -> (String, bool) {
    match result {
        Ok(ChainOutcome::Authenticated(v)) => (v.identity.backend, v.owns_name),
        other => panic!("expected a login, got {other:?}"),
    }
}

#[tokio::test]
async fn order_outages_and_ownership() {
    let (dir, local, down) = (
        Arc::new(Fake::new("dir", &[("alice", "dir-pw")])),
        Arc::new(Fake::new("local", &[("alice", "pw"), ("bob", "pw")])),
        Arc::new(Fake::down("down")),
    );
    let chain = chain_of(&[&dir, &local]);
    assert_eq!(verified(login(&chain, "alice", "dir-pw").await), ("dir".into(), true));
    assert_eq!(verified(login(&chain, "bob", "pw").await), ("local".into(), true), "dir said no such user");
    assert_eq!(login(&chain, "alice", "pw").await.ok(), Some(ChainOutcome::Denied), "dir's alice stops it");
    assert_eq!(login(&chain, "carol", "pw").await.ok(), Some(ChainOutcome::UnknownUser));
    assert_eq!(login(&Chain::default(), "carol", "pw").await.ok(), Some(ChainOutcome::UnknownUser));

    // The directory down: local's alice logs in, but does not own the name.
    let outage = chain_of(&[&down, &local]);
    assert_eq!(verified(login(&outage, "alice", "pw").await), ("local".into(), false));
    assert!(matches!(login(&outage, "alice", "wrong").await, Err(AuthnError::Unavailable { .. })));
    assert!(matches!(login(&outage, "carol", "pw").await, Err(AuthnError::Unavailable { .. })));
    let last_down = chain_of(&[&local, &down]);
    assert_eq!(verified(login(&last_down, "alice", "pw").await), ("local".into(), true));
    assert!(matches!(login(&last_down, "carol", "pw").await, Err(AuthnError::Unavailable { .. })));
}

#[tokio::test]
async fn traced_chain_records_each_backend() {
    let chain =
        chain_of(&[&Arc::new(Fake::new("first", &[])), &Arc::new(Fake::new("second", &[("alice", "pw")]))]);
    let mut trace = Trace::default();
    let outcome = chain.authenticate_traced("alice", &Secret::new("pw"), &mut trace).await;
    assert_eq!(verified(outcome), ("second".into(), true));
    assert_eq!(trace.steps(), ["first: no such user", "second: authenticated as \"alice\", groups []"]);
}
