//! Properties of htpasswd files: generated files parse to their users, `regent passwd`'s edits
//! (set a new or existing user, delete one) change exactly one entry and lose none, and
//! arbitrary text never panics the parsers.

use std::path::Path;
use std::sync::LazyLock;

use proptest::prelude::*;

use super::{HtpasswdError, parse_groups, parse_htpasswd, with_entry, without_user};

/// One bcrypt hash at the lowest cost, made once.
static BCRYPT: LazyLock<String> = LazyLock::new(|| bcrypt::hash("x", 4).unwrap());

/// A hash of each accepted scheme.
fn hash(index: usize) -> String {
    match index % 3 {
        0 => BCRYPT.clone(),
        1 => "{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=".to_owned(),
        _ => "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/".to_owned(),
    }
}

/// A generated file: its text and its users with their hashes, sorted.
fn file() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    let users = prop::collection::btree_set("[a-zA-Z0-9._@-]{1,10}", 0..6);
    let extras = prop::collection::vec((0..3usize, 0..4usize, any::<bool>()), 6);
    (users, extras, any::<bool>()).prop_map(|(users, extras, last_newline)| {
        let mut text = String::new();
        let mut expected = Vec::new();
        for (user, (hash_index, decoration, crlf)) in users.into_iter().zip(extras) {
            let hash = hash(hash_index);
            let line = match decoration {
                0 => format!("{user}:{hash}"),
                1 => format!("  {user}:{hash}:extra field"),
                2 => format!("# a comment\n\n{user}:{hash}"),
                _ => format!("{user}:{hash}\t\n   # indented comment"),
            };
            text.push_str(&line);
            text.push_str(if crlf { "\r\n" } else { "\n" });
            expected.push((user, hash));
        }
        if !last_newline && text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        (text, expected)
    })
}

fn parse(text: &str) -> Result<Vec<(String, String)>, HtpasswdError> {
    parse_htpasswd(Path::new("htpasswd"), text, 14)
}

fn comments(text: &str) -> Vec<&str> {
    text.lines().filter(|line| line.trim().starts_with('#')).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn edits_change_exactly_one_entry_and_lose_none(
        (text, users) in file(),
        pick in any::<prop::sample::Index>(),
        new_user in "[a-z]{1,8}",
        existing in any::<bool>(),
    ) {
        prop_assert_eq!(parse(&text).unwrap(), users.clone(), "{:?}", text);
        let user = match users.len() {
            0 => new_user,
            count if existing => users[pick.index(count)].0.clone(),
            _ => new_user,
        };
        let new_hash = "{SHA}wqawPxkN+ytKqR+K+NR3qbw0Adw="; // of "new"
        let mut expected: Vec<(String, String)> = users.iter().filter(|(other, _)| *other != user).cloned().collect();
        let set = with_entry(&text, &user, new_hash);
        let mut with_user = expected.clone();
        with_user.push((user.clone(), new_hash.to_owned()));
        with_user.sort();
        prop_assert_eq!(parse(&set).unwrap(), with_user, "set {:?}: {:?}", user, set);
        prop_assert_eq!(comments(&set), comments(&text));

        let deleted = without_user(&text, &user);
        expected.sort();
        prop_assert_eq!(parse(&deleted).unwrap(), expected, "delete {:?}: {:?}", user, deleted);
        prop_assert_eq!(comments(&deleted), comments(&text));
    }

    #[test]
    fn arbitrary_text_never_panics_and_errors_name_a_line(text in "(.{0,30}(:|\n|\r\n)){0,6}") {
        let lines = text.lines().count();
        let check = |error: HtpasswdError| match error {
            HtpasswdError::Malformed { line, .. }
            | HtpasswdError::UnsupportedHash { line, .. }
            | HtpasswdError::CostAboveMax { line, .. }
            | HtpasswdError::DuplicateUser { line, .. } => (1..=lines).contains(&line),
            _ => false,
        };
        if let Err(error) = parse(&text) {
            prop_assert!(check(error), "{:?}", text);
        }
        if let Err(error) = parse_groups(Path::new("groups"), &text) {
            prop_assert!(check(error), "{:?}", text);
        }
    }
}
