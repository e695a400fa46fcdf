//! The chain with the real htpasswd backend: a stampede of first logins runs one bcrypt, and a
//! user of a later backend costs no dummy bcrypt on a cached repeat.

use std::path::Path;

use super::*;
use crate::authn::htpasswd::{HtpasswdBackend, set_password};

/// An htpasswd backend `local` over a file holding `users` at bcrypt `cost`.
fn htpasswd(dir: &Path, users: &[(&str, &str)], cost: u32) -> Arc<HtpasswdBackend> {
    let file = dir.join("htpasswd");
    std::fs::write(&file, "").unwrap();
    for (user, password) in users {
        set_password(&file, user, &Secret::new(*password), cost).unwrap();
    }
    Arc::new(HtpasswdBackend::open("local", file, None, Duration::from_secs(30)).unwrap())
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
    assert_eq!(login(&chain, "bob", "bob-pw").await.ok(), Some(ChainOutcome::Denied));
    assert_eq!(file.bcrypt_verifications(), 2);
}
