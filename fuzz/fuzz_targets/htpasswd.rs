//! htpasswd files (`user:hash` lines) and their `AuthGroupFile` (`group: user user`), and the
//! edits `regent passwd` makes.
//!
//! Invariants: every user of a parsed file has a valid name and appears once, one per entry
//! line; each error names the file and a line of it; setting a user's password (a new or an
//! existing user) or deleting a user leaves a valid file in which exactly that entry changed
//! and every other user keeps its hash (no edit loses an entry); group lists are sorted and
//! deduplicated.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use regent::authn::htpasswd::{HtpasswdError, parse_groups, parse_htpasswd, with_entry, without_user};

const PATH: &str = "/fuzz/htpasswd";
/// The highest bcrypt cost a file may hold (the default `max_bcrypt_cost`).
const MAX_COST: u32 = 14;
/// The hash an edit writes: any valid one, as the edit never looks inside it.
const NEW_HASH: &str = "{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_htpasswd(Path::new(PATH), text, MAX_COST) {
        Ok(users) => check_users(text, &users),
        Err(error) => check_error(text, &error),
    }
    match parse_groups(Path::new(PATH), text) {
        Ok(groups) => {
            for (user, names) in &groups {
                assert!(valid_name(user), "{user:?}");
                assert!(!names.is_empty() && names.windows(2).all(|pair| pair[0] < pair[1]), "{names:?}");
                assert!(names.iter().all(|name| valid_name(name)), "{names:?}");
            }
        }
        Err(error) => check_error(text, &error),
    }
});

/// A name an htpasswd or group file may hold.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(':') && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_users(text: &str, users: &[(String, String)]) {
    let entry_lines = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
    assert_eq!(users.len(), entry_lines.count());
    assert!(users.windows(2).all(|pair| pair[0].0 < pair[1].0), "sorted, each user once");
    assert!(users.iter().all(|(user, _)| valid_name(user)));
    let new_user = (0..).map(|n| format!("new{n}")).find(|name| !users.iter().any(|(user, _)| user == name));
    let edited =
        [users.first().map(|(user, _)| user.clone()), users.last().map(|(user, _)| user.clone()), new_user];
    for user in edited.into_iter().flatten() {
        let set = with_entry(text, &user, NEW_HASH);
        let after =
            parse_htpasswd(Path::new(PATH), &set, MAX_COST).expect("setting a password keeps the file valid");
        let mut expected: Vec<(String, String)> =
            users.iter().filter(|(other, _)| *other != user).cloned().collect();
        expected.push((user.clone(), NEW_HASH.to_owned()));
        expected.sort();
        assert_eq!(after, expected, "set {user:?} in {text:?} -> {set:?}");

        let deleted = without_user(text, &user);
        let after = parse_htpasswd(Path::new(PATH), &deleted, MAX_COST)
            .expect("deleting a user keeps the file valid");
        expected.retain(|(other, _)| *other != user);
        assert_eq!(after, expected, "delete {user:?} from {text:?} -> {deleted:?}");
    }
}

fn check_error(text: &str, error: &HtpasswdError) {
    let line = match error {
        HtpasswdError::Malformed { line, .. }
        | HtpasswdError::UnsupportedHash { line, .. }
        | HtpasswdError::CostAboveMax { line, .. } => *line,
        HtpasswdError::DuplicateUser { line, first, .. } => {
            assert!(first < line, "{error}");
            *line
        }
        other => panic!("parsing text reads and writes nothing: {other}"),
    };
    assert!((1..=text.lines().count()).contains(&line), "{error}");
    assert!(error.to_string().starts_with(&format!("{PATH}:{line}: ")), "{error}");
}
