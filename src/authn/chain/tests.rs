//! The chain with fake backends: order and outages, ownership, coalescing, the outcome cache
//! and the failure floor (on tokio's paused clock, so times are exact).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;

use super::*;

mod htpasswd;
mod lookup;

/// A backend answering from a table after a delay, counting the calls.
struct Fake {
    name: &'static str,
    /// `(user, password)` pairs it accepts; a known user with another password is denied.
    users: Vec<(&'static str, &'static str)>,
    /// Answers every call with an outage.
    down: bool,
    /// How long an answer takes (tokio time).
    delay: Duration,
    cache_ttl: Duration,
    generation: AtomicU64,
    calls: AtomicUsize,
}

impl Fake {
    fn new(name: &'static str, users: &[(&'static str, &'static str)]) -> Self {
        Self {
            name,
            users: users.to_vec(),
            down: false,
            delay: Duration::ZERO,
            cache_ttl: Duration::from_secs(60),
            generation: AtomicU64::new(0),
            calls: AtomicUsize::new(0),
        }
    }
    fn down(name: &'static str) -> Self {
        Self { down: true, ..Self::new(name, &[]) }
    }
    fn delayed(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
    fn ttl(self, cache_ttl: Duration) -> Self {
        Self { cache_ttl, ..self }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Authenticator for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn cache_ttl(&self) -> Duration {
        self.cache_ttl
    }
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
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
            Some(_) => Outcome::Authenticated(Identity::person(self.name, user, vec![])),
        })
    }
}

fn chain_of(backends: &[&Arc<Fake>]) -> Chain {
    Chain::new(backends.iter().map(|b| Arc::clone(b) as Arc<dyn Authenticator>).collect())
}

async fn login(chain: &Chain, user: &str, password: &str) -> RunResult {
    chain.authenticate(user, &Secret::new(password)).await
}

/// The backend and ownership of a success; panics otherwise.
fn verified(result: RunResult) -> (String, bool) {
    match result {
        Ok(ChainOutcome::Authenticated(v)) => (v.identity.backend, v.owns_name),
        other => panic!("expected a login, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
async fn simultaneous_logins_share_one_run() {
    let slow = Arc::new(
        Fake::new("slow", &[("alice", "pw")]).delayed(Duration::from_millis(50)).ttl(Duration::ZERO),
    );
    let chain = chain_of(&[&slow]);
    let logins: Vec<_> = (0..64)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { login(&chain, "alice", "pw").await })
        })
        .collect();
    for login in logins {
        assert_eq!(verified(login.await.unwrap()), ("slow".into(), true));
    }
    assert_eq!(slow.calls(), 1, "64 simultaneous logins, one run");
    assert_eq!(chain.inner.inflight.len(), 0, "the finished run removed itself");
    // Different passwords are different runs; failures are shared too but never cached.
    let (a, b) = tokio::join!(login(&chain, "alice", "wrong"), login(&chain, "alice", "wrong"));
    assert_eq!((a.ok(), b.ok()), (Some(ChainOutcome::Denied), Some(ChainOutcome::Denied)));
    assert_eq!(slow.calls(), 2);
    login(&chain, "alice", "pw").await.unwrap();
    assert_eq!(slow.calls(), 3, "cache_ttl 0: nothing cached");
}

#[tokio::test(start_paused = true)]
async fn a_run_nobody_waits_for_is_dropped() {
    let slow = Arc::new(Fake::new("slow", &[("alice", "pw")]).delayed(Duration::from_secs(1)));
    let chain = chain_of(&[&slow]);
    let first = tokio::spawn({
        let chain = chain.clone();
        async move { login(&chain, "alice", "pw").await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    first.abort();
    let _ = first.await;
    assert_eq!(verified(login(&chain, "alice", "pw").await), ("slow".into(), true));
    assert_eq!(slow.calls(), 2, "the abandoned run was not joined: a new one ran");
}

#[tokio::test(start_paused = true)]
async fn outcomes_are_cached_for_the_smallest_ttl_of_the_backends_asked() {
    let local = Arc::new(Fake::new("local", &[("alice", "pw")]).ttl(Duration::from_secs(30)));
    let dir = Arc::new(Fake::new("dir", &[("bob", "pw")]).ttl(Duration::from_secs(300)));
    let chain = chain_of(&[&local, &dir]);
    login(&chain, "bob", "pw").await.unwrap();
    login(&chain, "bob", "pw").await.unwrap();
    assert_eq!((local.calls(), dir.calls()), (1, 1), "the repeat is answered by the chain cache");
    tokio::time::advance(Duration::from_secs(31)).await;
    login(&chain, "bob", "pw").await.unwrap();
    assert_eq!((local.calls(), dir.calls()), (2, 2), "local's 30 s bound the entry, not dir's 300 s");
    // A change of a consulted backend's data misses.
    local.generation.fetch_add(1, Ordering::SeqCst);
    login(&chain, "bob", "pw").await.unwrap();
    assert_eq!(local.calls(), 3);
    // Failures are never cached.
    for _ in 0..2 {
        assert_eq!(login(&chain, "bob", "wrong").await.ok(), Some(ChainOutcome::Denied));
    }
    assert_eq!(dir.calls(), 5);
    // A backend with cache_ttl 0 before the one that knows the user: nothing cached.
    let uncached = chain_of(&[&Arc::new(Fake::new("zero", &[]).ttl(Duration::ZERO)), &dir]);
    let before = dir.calls();
    login(&uncached, "bob", "pw").await.unwrap();
    login(&uncached, "bob", "pw").await.unwrap();
    assert_eq!(dir.calls(), before + 2);
}

#[tokio::test(start_paused = true)]
async fn a_login_during_an_outage_is_not_cached() {
    let down = Arc::new(Fake::down("down").ttl(Duration::from_secs(60)));
    let local = Arc::new(Fake::new("local", &[("alice", "pw")]));
    let chain = chain_of(&[&down, &local]);
    for _ in 0..2 {
        assert_eq!(verified(login(&chain, "alice", "pw").await), ("local".into(), false));
    }
    assert_eq!(local.calls(), 2, "once the directory is back, it must be asked again");
}

#[tokio::test(start_paused = true)]
async fn failures_take_as_long_whichever_backend_knew_the_user() {
    // A fast directory that knows alice before a slow file (a dummy bcrypt for unknown users).
    let dir = Arc::new(Fake::new("dir", &[("alice", "pw")]).delayed(Duration::from_millis(1)));
    let file = Arc::new(Fake::new("file", &[]).delayed(Duration::from_millis(50)));
    let chain = chain_of(&[&dir, &file]);
    let timed = |user: &'static str| {
        let chain = chain.clone();
        async move {
            let started = Instant::now();
            let outcome = login(&chain, user, "wrong").await.unwrap();
            (outcome, started.elapsed())
        }
    };
    // A fresh chain has measured nothing yet: a wrong password waits for the initial floor, and
    // an unknown user (51 ms of work) for a little less, as the floor moves towards 51 ms.
    let (outcome, first_known) = timed("alice").await;
    assert_eq!((outcome, first_known), (ChainOutcome::Denied, floor::INITIAL_FLOOR));
    let (outcome, first_unknown) = timed("nobody").await;
    assert_eq!(outcome, ChainOutcome::UnknownUser);
    assert!(first_unknown > Duration::from_millis(90), "{first_unknown:?}");
    // Failures through the whole chain teach the floor their cost (tokio's timer counts whole
    // milliseconds, hence the 1 ms margins).
    for _ in 0..40 {
        timed("nobody").await;
    }
    let (_, unknown) = timed("nobody").await;
    assert!(unknown >= Duration::from_millis(51) && unknown <= Duration::from_millis(53), "{unknown:?}");
    for _ in 0..3 {
        let (outcome, known) = timed("alice").await;
        assert_eq!(outcome, ChainOutcome::Denied);
        assert!(known.abs_diff(unknown) <= Duration::from_millis(1), "known {known:?}, unknown {unknown:?}");
    }
    let (_, unknown_again) = timed("nobody").await;
    assert!(
        unknown_again <= Duration::from_millis(53),
        "an unknown user is not held much longer than it takes"
    );
    // Successes are never held back.
    let started = Instant::now();
    login(&chain, "alice", "pw").await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(1));
}

/// A directory answering from its stale cache (during an outage), as LDAP and HTTP do with
/// `max_stale`: each such answer changes its generation.
struct StaleAnswers(AtomicU64);

#[async_trait]
impl Authenticator for StaleAnswers {
    fn name(&self) -> &str {
        "dir"
    }
    fn cache_ttl(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn generation(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    async fn authenticate(&self, user: &str, _password: &Secret) -> Result<Outcome, AuthnError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Outcome::Authenticated(Identity::person("dir", user, vec![])))
    }
}

#[tokio::test]
async fn an_answer_from_a_stale_cache_is_not_cached_by_the_chain() {
    let stale = Arc::new(StaleAnswers(AtomicU64::new(0)));
    let chain = Chain::new(vec![Arc::clone(&stale) as Arc<dyn Authenticator>]);
    for _ in 0..3 {
        assert_eq!(verified(login(&chain, "alice", "pw").await), ("dir".into(), true));
    }
    assert_eq!(stale.generation(), 3, "every login asked the backend again");
}
