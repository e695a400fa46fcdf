//! Parsing an Apache `AuthGroupFile`: `group: user1 user2` lines (a group may span several
//! lines), `#` comments and blank lines.

use std::collections::HashMap;
use std::path::Path;

use super::error::{HtpasswdError, validate_user_name};

/// Parses the text of the group file `path` as a load does: each user and its groups (sorted,
/// deduplicated), sorted by user. For property tests and fuzzing.
pub fn parse_groups(path: &Path, text: &str) -> Result<Vec<(String, Vec<String>)>, HtpasswdError> {
    let mut users: Vec<(String, Vec<String>)> = GroupFile::parse(path, text)?.by_user.into_iter().collect();
    users.sort();
    Ok(users)
}

/// Each user's groups, as loaded from a group file.
#[derive(Debug, Default)]
pub(super) struct GroupFile {
    /// The groups of each user, sorted and deduplicated.
    by_user: HashMap<String, Vec<String>>,
}

impl GroupFile {
    /// Reads and parses `path`.
    pub(super) fn load(path: &Path) -> Result<Self, HtpasswdError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| HtpasswdError::Read { path: path.to_owned(), error })?;
        Self::parse(path, &text)
    }

    /// Parses the text of the group file `path`.
    fn parse(path: &Path, text: &str) -> Result<Self, HtpasswdError> {
        let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let malformed =
                |reason: String| HtpasswdError::Malformed { path: path.to_owned(), line: index + 1, reason };
            let Some((group, members)) = trimmed.split_once(':') else {
                return Err(malformed("expected `group: user1 user2 ...`".to_owned()));
            };
            let group = group.trim();
            validate_user_name(group)
                .map_err(|reason| malformed(format!("group name {group:?}: {reason}")))?;
            for member in members.split_whitespace() {
                validate_user_name(member)
                    .map_err(|reason| malformed(format!("member {member:?} of group {group:?}: {reason}")))?;
                by_user.entry(member.to_owned()).or_default().push(group.to_owned());
            }
        }
        for groups in by_user.values_mut() {
            groups.sort();
            groups.dedup();
        }
        Ok(Self { by_user })
    }

    /// The groups of `user` (sorted, deduplicated; empty when it has none).
    pub(super) fn groups_of(&self, user: &str) -> Vec<String> {
        self.by_user.get(user).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GroupFile, String> {
        GroupFile::parse(Path::new("groups"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn groups_are_collected_sorted_and_deduplicated() {
        let file = parse(
            "# teams\nops: alice bob\n\ndev:alice\r\nops: carol alice\n  admins :  bob\t alice \nempty:\n",
        )
        .unwrap();
        let cases: [(&str, &[&str]); 4] = [
            ("alice", &["admins", "dev", "ops"]),
            ("bob", &["admins", "ops"]),
            ("carol", &["ops"]),
            ("dave", &[]),
        ];
        for (user, expected) in cases {
            assert_eq!(file.groups_of(user), expected, "{user}");
        }
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let cases = [
            ("ops alice bob\n", "groups:1: expected `group: user1 user2 ...`"),
            ("ok: a\n: alice\n", "groups:2: group name \"\": empty"),
            ("two words: alice\n", "groups:1: group name \"two words\": contains whitespace"),
            ("# x\n\nops: alice b:c\n", "groups:3: member \"b:c\" of group \"ops\": contains ':'"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }
}
