//! [`Chain::lookup`] (the re-check of a refresh token): the owning backend's answer, ownership
//! re-proven against earlier backends, outages as errors, and the lookup cache.

use std::path::Path;

use super::*;
use crate::authn::Lookup;
use crate::authn::htpasswd::{BcryptLimits, HtpasswdBackend, delete_user, set_password};

/// A backend answering lookups from a list of names, or with an outage, counting the calls.
struct Directory {
    name: &'static str,
    users: Vec<&'static str>,
    down: bool,
    calls: AtomicUsize,
}

impl Directory {
    fn new(name: &'static str, users: &[&'static str]) -> Arc<Self> {
        Arc::new(Self { name, users: users.to_vec(), down: false, calls: AtomicUsize::new(0) })
    }
    fn down(name: &'static str) -> Arc<Self> {
        Arc::new(Self { name, users: vec![], down: true, calls: AtomicUsize::new(0) })
    }
}

#[async_trait]
impl Authenticator for Directory {
    fn name(&self) -> &str {
        self.name
    }
    fn cache_ttl(&self) -> Duration {
        Duration::from_secs(30)
    }
    fn supports_lookup(&self) -> bool {
        true
    }
    async fn authenticate(&self, _user: &str, _password: &Secret) -> Result<Outcome, AuthnError> {
        Ok(Outcome::UnknownUser)
    }
    async fn lookup(&self, name: &str) -> Result<Lookup, AuthnError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down {
            return Err(AuthnError::Unavailable { backend: self.name.into(), reason: "refused".into() });
        }
        Ok(match self.users.contains(&name) {
            true => Lookup::Found(Identity::person(self.name, name, vec![])),
            false => Lookup::Gone,
        })
    }
}

fn chain(backends: Vec<Arc<dyn Authenticator>>) -> Chain {
    Chain::new(backends)
}

fn owns(lookup: ChainLookup) -> bool {
    match lookup {
        ChainLookup::Found(verified) => verified.owns_name,
        other => panic!("not found: {other:?}"),
    }
}

fn htpasswd(dir: &Path) -> (Arc<HtpasswdBackend>, std::path::PathBuf) {
    let file = dir.join("htpasswd");
    set_password(&file, "alice", &Secret::new("alice-pw"), 4).unwrap();
    set_password(&file, "bob", &Secret::new("bob-pw"), 4).unwrap();
    let groups = dir.join("groups");
    std::fs::write(&groups, "devs: alice\n").unwrap();
    let backend = HtpasswdBackend::open(
        "local",
        file.clone(),
        Some(groups),
        Duration::from_secs(30),
        BcryptLimits::default(),
    )
    .unwrap();
    (Arc::new(backend), file)
}

#[tokio::test]
async fn htpasswd_finds_a_user_in_the_current_file_with_current_groups_and_not_a_deleted_one() {
    let dir = tempfile::tempdir().unwrap();
    let (backend, file) = htpasswd(dir.path());
    let chain = chain(vec![Arc::clone(&backend) as Arc<dyn Authenticator>]);
    assert!(chain.supports_lookup("local") && !chain.supports_lookup("other"));
    let found = chain.lookup("local", "alice", true).await.unwrap();
    let expected = Identity::person("local", "alice", vec!["devs".into()]);
    assert_eq!(found, ChainLookup::Found(Verified { identity: expected, owns_name: true }));
    std::fs::write(dir.path().join("groups"), "devs: alice\nops: alice\n").unwrap();
    assert!(delete_user(&file, "bob").unwrap());
    assert!(backend.reload_now());
    assert_eq!(chain.lookup("local", "bob", true).await.unwrap(), ChainLookup::Gone);
    match chain.lookup("local", "alice", true).await.unwrap() {
        ChainLookup::Found(verified) => assert_eq!(verified.identity.groups, ["devs", "ops"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(chain.lookup("removed-backend", "alice", true).await.unwrap(), ChainLookup::Gone);
}

#[tokio::test]
async fn ownership_is_proven_again_against_the_earlier_backends() {
    let first = Directory::new("first", &["carol"]);
    let down = Directory::down("down");
    let last = Directory::new("last", &["alice", "carol"]);
    let not_supported = Arc::new(Fake::new("http", &[]));
    let all: Vec<Arc<dyn Authenticator>> = vec![not_supported, first, down.clone(), last.clone()];
    let chain = chain(all);
    // "down" is unavailable: not proven, as at a login.
    assert!(!owns(chain.lookup("last", "alice", true).await.unwrap()));
    let chain_without_down = Chain::new(vec![Directory::new("first", &["carol"]), last.clone()]);
    assert!(owns(chain_without_down.lookup("last", "alice", true).await.unwrap()));
    assert!(!owns(chain_without_down.lookup("last", "alice", false).await.unwrap()), "never upgraded");
    assert!(!owns(chain_without_down.lookup("last", "carol", true).await.unwrap()), "first has carol now");
    let behind_http = Chain::new(vec![Arc::new(Fake::new("http", &[])), last.clone()]);
    assert!(owns(behind_http.lookup("last", "alice", true).await.unwrap()), "http keeps its login answer");
}

#[tokio::test]
async fn an_outage_of_the_owning_backend_is_an_error_and_not_supported_says_so() {
    let down = Directory::down("down");
    let chain = chain(vec![down.clone(), Arc::new(Fake::new("http", &[]))]);
    assert!(chain.lookup("down", "alice", true).await.is_err());
    assert_eq!(chain.lookup("http", "alice", true).await.unwrap(), ChainLookup::NotSupported);
    assert!(!chain.supports_lookup("http"));
}

#[tokio::test(start_paused = true)]
async fn lookups_are_cached_for_the_backend_cache_ttl() {
    let directory = Directory::new("dir", &["alice"]);
    let chain = chain(vec![directory.clone()]);
    for _ in 0..5 {
        assert!(matches!(chain.lookup("dir", "alice", true).await.unwrap(), ChainLookup::Found(_)));
    }
    assert_eq!(directory.calls.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_secs(31)).await;
    chain.lookup("dir", "alice", true).await.unwrap();
    assert_eq!(directory.calls.load(Ordering::SeqCst), 2, "asked again after the TTL");
    let down = Directory::down("dir");
    let chain = Chain::new(vec![down.clone()]);
    for _ in 0..3 {
        assert!(chain.lookup("dir", "alice", true).await.is_err());
    }
    assert_eq!(down.calls.load(Ordering::SeqCst), 3, "outages are never cached");
}
