//! Passwords the backend refuses before any hashing: ones longer than bcrypt reads.

use super::tests::{authenticated, bcrypt_line, fixture, open, secret};
use super::*;

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
