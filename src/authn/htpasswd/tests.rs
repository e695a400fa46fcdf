//! Backend tests: real files in a temporary directory, bcrypt at cost 4.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// `printf sesame | openssl dgst -sha1 -binary | base64`, with the `{SHA}` prefix.
const SHA_SESAME: &str = "{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=";

pub(super) fn bcrypt_line(user: &str, password: &str, version: bcrypt::Version) -> String {
    let hash = bcrypt::hash_with_result(password, 4).unwrap().format_for_version(version);
    format!("{user}:{hash}\n")
}

/// Replaces `path` atomically, as an editor or a config-management tool would.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, contents).unwrap();
    fs::rename(&tmp, path).unwrap();
}

pub(super) struct Fixture {
    _dir: tempfile::TempDir,
    /// The htpasswd file.
    pub(super) users: PathBuf,
    /// The group file.
    pub(super) groups: PathBuf,
}

pub(super) fn fixture(users: &str, groups: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Fixture { users: dir.path().join("htpasswd"), groups: dir.path().join("groups"), _dir: dir };
    fs::write(&fixture.users, users).unwrap();
    fs::write(&fixture.groups, groups).unwrap();
    fixture
}

pub(super) fn open(fixture: &Fixture) -> HtpasswdBackend {
    HtpasswdBackend::open(
        "file",
        fixture.users.clone(),
        Some(fixture.groups.clone()),
        Duration::from_secs(30),
        BcryptLimits::default(),
    )
    .unwrap()
}

pub(super) fn secret(s: &str) -> Secret {
    Secret::new(s)
}

pub(super) fn authenticated(name: &str, groups: &[&str]) -> Outcome {
    Outcome::Authenticated(Identity::person("file", name, groups.iter().map(|g| (*g).to_owned()).collect()))
}

#[tokio::test]
async fn every_hash_scheme_authenticates() {
    let users = [
        bcrypt_line("y", "sesame", bcrypt::Version::TwoY),
        bcrypt_line("a", "sesame", bcrypt::Version::TwoA),
        bcrypt_line("b", "sesame", bcrypt::Version::TwoB),
        format!("sha:{SHA_SESAME}\n"),
        "apr:$apr1$saltsalt$1wcO0UXrrrYuRqru5simD1\n".to_owned(),
    ]
    .concat();
    let fixture = fixture(&users, "");
    let backend = open(&fixture);
    for user in ["y", "a", "b", "sha", "apr"] {
        let outcome = backend.authenticate(user, &secret("sesame")).await.unwrap();
        assert_eq!(outcome, authenticated(user, &[]), "{user}");
        let outcome = backend.authenticate(user, &secret("Sesame")).await.unwrap();
        assert_eq!(outcome, Outcome::Denied, "{user}");
    }
    assert_eq!(backend.weak_hash_users(), ["apr", "sha"]);
}

#[tokio::test]
async fn unknown_user_costs_a_bcrypt_verification() {
    let fixture = fixture(&bcrypt_line("alice", "pw", bcrypt::Version::TwoY), "");
    let backend = open(&fixture);
    let outcome = backend.authenticate("mallory", &secret("pw")).await.unwrap();
    assert_eq!(outcome, Outcome::UnknownUser);
    assert_eq!(backend.bcrypt_verifications(), 1);
}

#[tokio::test]
async fn groups_come_from_the_group_file_and_follow_its_changes() {
    let fixture = fixture(&bcrypt_line("alice", "pw", bcrypt::Version::TwoY), "ops: alice\ndev: alice bob\n");
    let backend = open(&fixture);
    let outcome = backend.authenticate("alice", &secret("pw")).await.unwrap();
    assert_eq!(outcome, authenticated("alice", &["dev", "ops"]));

    // The identity is now cached; a group change still applies to it.
    replace(&fixture.groups, "admins: alice\n");
    assert!(backend.reload_now());
    let outcome = backend.authenticate("alice", &secret("pw")).await.unwrap();
    assert_eq!(outcome, authenticated("alice", &["admins"]));
    assert_eq!(backend.bcrypt_verifications(), 1, "the second request was a cache hit");
}

#[tokio::test]
async fn cache_hit_skips_bcrypt_and_a_wrong_password_does_not_hit() {
    let fixture = fixture(&bcrypt_line("alice", "pw", bcrypt::Version::TwoY), "");
    let backend = open(&fixture);
    for _ in 0..3 {
        let outcome = backend.authenticate("alice", &secret("pw")).await.unwrap();
        assert_eq!(outcome, authenticated("alice", &[]));
    }
    assert_eq!(backend.bcrypt_verifications(), 1);
    let outcome = backend.authenticate("alice", &secret("wrong")).await.unwrap();
    assert_eq!(outcome, Outcome::Denied);
    assert_eq!(backend.bcrypt_verifications(), 2);
}

#[tokio::test]
async fn zero_ttl_disables_the_cache() {
    let fixture = fixture(&bcrypt_line("alice", "pw", bcrypt::Version::TwoY), "");
    let backend =
        HtpasswdBackend::open("file", fixture.users.clone(), None, Duration::ZERO, BcryptLimits::default())
            .unwrap();
    for _ in 0..2 {
        let outcome = backend.authenticate("alice", &secret("pw")).await.unwrap();
        assert_eq!(outcome, authenticated("alice", &[]));
    }
    assert_eq!(backend.bcrypt_verifications(), 2);
}

#[tokio::test]
async fn password_change_invalidates_the_cache() {
    let fixture = fixture(&format!("# admins\n{}", bcrypt_line("alice", "old", bcrypt::Version::TwoY)), "");
    let backend = open(&fixture);
    let outcome = backend.authenticate("alice", &secret("old")).await.unwrap();
    assert_eq!(outcome, authenticated("alice", &[]));

    set_password(&fixture.users, "alice", &secret("new"), 4).unwrap();
    assert!(backend.reload_now());
    let outcome = backend.authenticate("alice", &secret("old")).await.unwrap();
    assert_eq!(outcome, Outcome::Denied, "the cached old password no longer works");
    let outcome = backend.authenticate("alice", &secret("new")).await.unwrap();
    assert_eq!(outcome, authenticated("alice", &[]));

    assert!(delete_user(&fixture.users, "alice").unwrap());
    assert!(backend.reload_now());
    let outcome = backend.authenticate("alice", &secret("new")).await.unwrap();
    assert_eq!(outcome, Outcome::UnknownUser);
}

#[tokio::test]
async fn reload_adds_users_and_a_broken_file_keeps_the_last_good() {
    let fixture = fixture(&bcrypt_line("alice", "pw", bcrypt::Version::TwoY), "");
    let backend = open(&fixture);
    let two_users =
        [bcrypt_line("alice", "pw", bcrypt::Version::TwoY), bcrypt_line("bob", "pw2", bcrypt::Version::TwoY)]
            .concat();
    replace(&fixture.users, &two_users);
    assert!(backend.reload_now());
    let outcome = backend.authenticate("bob", &secret("pw2")).await.unwrap();
    assert_eq!(outcome, authenticated("bob", &[]));

    replace(&fixture.users, &format!("{two_users}carol:plaintext\n"));
    assert!(!backend.reload_now(), "a broken file is not swapped in");
    let outcome = backend.authenticate("bob", &secret("pw2")).await.unwrap();
    assert_eq!(outcome, authenticated("bob", &[]));

    replace(&fixture.groups, "ops alice\n");
    assert!(!backend.reload_now(), "a broken group file is not swapped in");

    replace(&fixture.groups, "ops: bob\n");
    replace(&fixture.users, &bcrypt_line("bob", "pw3", bcrypt::Version::TwoY));
    assert!(backend.reload_now());
    let outcome = backend.authenticate("bob", &secret("pw3")).await.unwrap();
    assert_eq!(outcome, authenticated("bob", &["ops"]));
    let outcome = backend.authenticate("alice", &secret("pw")).await.unwrap();
    assert_eq!(outcome, Outcome::UnknownUser);
}

#[tokio::test]
async fn watchers_pick_up_changes() {
    let fixture = fixture(&bcrypt_line("alice", "pw", bcrypt::Version::TwoY), "");
    let backend = open(&fixture);
    backend.spawn_watchers(Duration::from_millis(10));
    replace(&fixture.groups, "ops: alice\n");
    let mut outcome = Outcome::Denied;
    for _ in 0..500 {
        outcome = backend.authenticate("alice", &secret("pw")).await.unwrap();
        if outcome == authenticated("alice", &["ops"]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(outcome, authenticated("alice", &["ops"]));
}

#[test]
fn open_errors_name_the_file_and_line() {
    let fixture = fixture(
        &format!("{}# old\nbob:rqXexS6ZhobKA\n", bcrypt_line("alice", "pw", bcrypt::Version::TwoY)),
        "ops alice\n",
    );
    let err =
        HtpasswdBackend::open("file", fixture.users.clone(), None, Duration::ZERO, BcryptLimits::default())
            .unwrap_err();
    let expected = format!("{}:3: user \"bob\": unsupported hash (crypt(3) DES)", fixture.users.display());
    assert!(err.to_string().starts_with(&expected), "{err}");

    fs::write(&fixture.users, "carol:hunter2\n").unwrap();
    let err =
        HtpasswdBackend::open("file", fixture.users.clone(), None, Duration::ZERO, BcryptLimits::default())
            .unwrap_err();
    let expected = format!("{}:1: user \"carol\": unsupported hash (plain text", fixture.users.display());
    assert!(err.to_string().starts_with(&expected), "{err}");

    fs::write(&fixture.users, "").unwrap();
    let err = HtpasswdBackend::open(
        "file",
        fixture.users.clone(),
        Some(fixture.groups.clone()),
        Duration::ZERO,
        BcryptLimits::default(),
    )
    .unwrap_err();
    let expected = format!("{}:1: expected `group: user1 user2 ...`", fixture.groups.display());
    assert_eq!(err.to_string(), expected);

    let missing = fixture.users.with_file_name("missing");
    let err = HtpasswdBackend::open("file", missing.clone(), None, Duration::ZERO, BcryptLimits::default())
        .unwrap_err();
    assert!(err.to_string().starts_with(&format!("{}: cannot read:", missing.display())), "{err}");
}
