//! The chain with the real htpasswd backend: a stampede of first logins runs one bcrypt, a user
//! of a later backend costs no dummy bcrypt on a cached repeat, and failures take as long at a
//! fast backend as through htpasswd's dummy bcrypt.

use std::path::Path;

use super::*;
use crate::authn::htpasswd::{BcryptLimits, HtpasswdBackend, set_password};

/// An htpasswd backend `local` over a file holding `users` at bcrypt `cost`.
fn htpasswd(dir: &Path, users: &[(&str, &str)], cost: u32) -> Arc<HtpasswdBackend> {
    let file = dir.join("htpasswd");
    std::fs::write(&file, "").unwrap();
    for (user, password) in users {
        set_password(&file, user, &Secret::new(*password), cost).unwrap();
    }
    Arc::new(
        HtpasswdBackend::open("local", file, None, Duration::from_secs(30), BcryptLimits::default()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_first_logins_run_one_bcrypt() {
    let dir = tempfile::tempdir().unwrap();
    let file = htpasswd(dir.path(), &[("alice", "alice-pw")], 4);
    let chain = Chain::new(vec![Arc::clone(&file) as Arc<dyn Authenticator>]);
    let logins: Vec<_> = (0..64)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.authenticate("alice", &Secret::new("alice-pw")).await })
        })
        .collect();
    for login in logins {
        assert_eq!(verified(login.await.unwrap()), ("local".into(), true));
    }
    assert_eq!(file.bcrypt_verifications(), 1, "64 simultaneous first logins, one bcrypt");
}

#[tokio::test]
async fn a_user_behind_htpasswd_costs_no_bcrypt_on_a_cached_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let file = htpasswd(dir.path(), &[("alice", "alice-pw")], 4);
    let directory = Arc::new(Fake::new("dir", &[("bob", "bob-pw")]));
    let chain = Chain::new(vec![Arc::clone(&file) as Arc<dyn Authenticator>, Arc::clone(&directory) as _]);
    for _ in 0..5 {
        assert_eq!(verified(login(&chain, "bob", "bob-pw").await), ("dir".into(), true));
    }
    assert_eq!(file.bcrypt_verifications(), 1, "one dummy bcrypt for the first login only");
    assert_eq!(directory.calls(), 1);
    // The htpasswd file changes (here: bob is added): the cached outcome misses at once.
    set_password(&dir.path().join("htpasswd"), "bob", &Secret::new("file-pw"), 4).unwrap();
    assert!(file.reload_now());
    assert_eq!(
        login(&chain, "bob", "bob-pw").await.ok(),
        Some(ChainOutcome::Denied { backend: "local".into() })
    );
    assert_eq!(file.bcrypt_verifications(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_at_a_fast_backend_takes_as_long_as_an_unknown_user() {
    // LDAP before htpasswd: alice is the directory's (answers at once), nobody falls through
    // to htpasswd's dummy bcrypt (cost 10: tens of milliseconds).
    let dir = tempfile::tempdir().unwrap();
    let directory = Arc::new(Fake::new("dir", &[("alice", "alice-pw")]));
    let file = htpasswd(dir.path(), &[("carol", "carol-pw")], 10);
    let chain = Chain::new(vec![Arc::clone(&directory) as Arc<dyn Authenticator>, Arc::clone(&file) as _]);
    let timed = |user: &'static str| {
        let chain = chain.clone();
        async move {
            let started = std::time::Instant::now();
            let outcome = chain.authenticate(user, &Secret::new("wrong")).await.unwrap();
            (outcome, started.elapsed())
        }
    };
    let mut unknown = Vec::new();
    for _ in 0..3 {
        let (outcome, took) = timed("nobody").await;
        assert_eq!(outcome, ChainOutcome::UnknownUser);
        unknown.push(took);
    }
    let fastest_unknown = unknown.iter().min().copied().unwrap();
    assert!(fastest_unknown >= Duration::from_millis(5), "a cost-10 bcrypt took {fastest_unknown:?}");
    for _ in 0..3 {
        let (outcome, took) = timed("alice").await;
        assert_eq!(outcome, ChainOutcome::Denied { backend: "dir".into() });
        // Generous: the floor is an average of the unknown-user times; allow for a noisy machine.
        assert!(took >= fastest_unknown / 3, "wrong password {took:?}, unknown users {unknown:?}");
    }
    assert_eq!(directory.calls(), 6);
}
