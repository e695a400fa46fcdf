//! Passwords the backend refuses before any hashing: the empty one, and ones longer than
//! bcrypt reads.

use super::tests::{authenticated, bcrypt_line, fixture, open, secret};
use super::*;

#[tokio::test]
async fn an_empty_password_is_denied_even_when_the_hash_is_of_the_empty_string() {
    let users = [
        bcrypt_line("bc", "", bcrypt::Version::TwoY),
        // printf '' | openssl dgst -sha1 -binary | base64
        "sha:{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk=\n".to_owned(),
        // openssl passwd -apr1 -salt xyz ''
        "apr:$apr1$xyz$Pix4eE3fQHxJjb6LqtyMK1\n".to_owned(),
    ]
    .concat();
    let fixture = fixture(&users, "");
    let backend = open(&fixture);
    for user in ["bc", "sha", "apr", "nobody"] {
        let outcome = backend.authenticate(user, &secret("")).await.unwrap();
        assert_eq!(outcome, Outcome::Denied, "{user}");
    }
    assert_eq!(backend.bcrypt_verifications(), 0, "refused before any hashing");
    // The hashes really are of "" (what the backend would have accepted before).
    let loaded = backend.users.get();
    for user in ["bc", "sha", "apr"] {
        assert!(loaded.get(user).unwrap().verify(b""), "{user}");
    }
}

#[tokio::test]
async fn a_password_past_72_bytes_is_denied_not_truncated() {
    let password = "0123456789abcdefghijklmnopqrstuvwxyz".repeat(2);
    assert_eq!(password.len(), 72);
    let fixture = fixture(&bcrypt_line("alice", &password, bcrypt::Version::TwoY), "");
    let backend = open(&fixture);
    let outcome = backend.authenticate("alice", &secret(&password)).await.unwrap();
    assert_eq!(outcome, authenticated("alice", &[]), "72 bytes are used in full");

    let with_junk = format!("{password}junk");
    let outcome = backend.authenticate("alice", &secret(&with_junk)).await.unwrap();
    assert_eq!(outcome, Outcome::Denied, "the right 72 bytes plus junk do not log in");
    let outcome = backend.authenticate("mallory", &secret(&with_junk)).await.unwrap();
    assert_eq!(outcome, Outcome::UnknownUser);
    assert_eq!(backend.bcrypt_verifications(), 1, "the long passwords never reached bcrypt");
}
