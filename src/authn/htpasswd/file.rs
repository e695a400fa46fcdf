//! Parsing an htpasswd file: `user:hash` lines, `#` comments and blank lines.

use std::collections::HashMap;
use std::path::Path;

use super::error::{HtpasswdError, validate_user_name};
use super::hash::StoredHash;

/// The bcrypt cost of the dummy hash when the file holds no bcrypt hash (Apache's default).
const DEFAULT_BCRYPT_COST: u32 = 10;

/// The users of one htpasswd file, as loaded.
#[derive(Debug)]
pub(super) struct UserFile {
    /// Each user's hash.
    users: HashMap<String, StoredHash>,
    /// A bcrypt hash at the file's usual cost, verified for unknown users so they cost the same.
    dummy: StoredHash,
}

impl UserFile {
    /// Reads and parses `path`, refusing bcrypt costs above `max_cost`, generating the dummy
    /// hash and logging weak hashes once.
    pub(super) fn load(path: &Path, max_cost: u32) -> Result<Self, HtpasswdError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| HtpasswdError::Read { path: path.to_owned(), error })?;
        let users = parse(path, &text, max_cost)?;
        let cost = usual_bcrypt_cost(&users).min(max_cost);
        let dummy =
            StoredHash::Bcrypt { hash: bcrypt::hash("regent: a user that does not exist", cost)?, cost };
        let file = Self { users, dummy };
        if let Some(warning) = file.weak_hash_warning() {
            tracing::warn!(file = %path.display(), "{warning}");
        }
        Ok(file)
    }

    /// The stored hash of `user`.
    pub(super) fn get(&self, user: &str) -> Option<&StoredHash> {
        self.users.get(user)
    }

    /// The hash to verify for an unknown user.
    pub(super) fn dummy(&self) -> &StoredHash {
        &self.dummy
    }

    /// The users whose hash is a legacy scheme (`{SHA}`, `$apr1$`), sorted.
    pub(super) fn weak_hash_users(&self) -> Vec<String> {
        let mut weak: Vec<String> =
            self.users.iter().filter(|(_, hash)| hash.is_weak()).map(|(user, _)| user.clone()).collect();
        weak.sort();
        weak
    }

    /// The one warning a load logs when some users have weak hashes.
    pub(super) fn weak_hash_warning(&self) -> Option<String> {
        let weak = self.weak_hash_users();
        if weak.is_empty() {
            return None;
        }
        Some(format!(
            "weak password hashes ({{SHA}} or $apr1$) for users {}; set bcrypt passwords with `regent passwd`",
            weak.join(", ")
        ))
    }
}

/// Parses the text of the htpasswd file `path` as a load does (every hash scheme and bcrypt
/// cost checked, nothing hashed or verified): each user and its hash as written, sorted by user.
/// For property tests and fuzzing; serving loads the file through the backend.
pub fn parse_htpasswd(
    path: &Path,
    text: &str,
    max_cost: u32,
) -> Result<Vec<(String, String)>, HtpasswdError> {
    let mut users: Vec<(String, String)> =
        parse(path, text, max_cost)?.into_iter().map(|(user, hash)| (user, hash.fingerprint())).collect();
    users.sort();
    Ok(users)
}

/// Parses the lines of an htpasswd file; a bcrypt cost above `max_cost` is an error.
fn parse(path: &Path, text: &str, max_cost: u32) -> Result<HashMap<String, StoredHash>, HtpasswdError> {
    let mut users = HashMap::new();
    let mut defined_on: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let malformed = |reason: String| HtpasswdError::Malformed { path: path.to_owned(), line, reason };
        let Some((user, rest)) = trimmed.split_once(':') else {
            return Err(malformed("expected `user:hash`".to_owned()));
        };
        validate_user_name(user).map_err(|reason| malformed(format!("user {user:?}: {reason}")))?;
        // Like Apache, the hash ends at the next ':' (later fields are ignored).
        let hash_text = rest.split(':').next().unwrap_or_default().trim();
        let hash = StoredHash::parse(hash_text).map_err(|scheme| HtpasswdError::UnsupportedHash {
            path: path.to_owned(),
            line,
            user: user.to_owned(),
            scheme,
        })?;
        if let Some(cost) = hash.bcrypt_cost().filter(|&cost| cost > max_cost) {
            return Err(HtpasswdError::CostAboveMax {
                path: path.to_owned(),
                line,
                user: user.to_owned(),
                cost,
                max: max_cost,
            });
        }
        if let Some(&first) = defined_on.get(user) {
            return Err(HtpasswdError::DuplicateUser {
                path: path.to_owned(),
                line,
                user: user.to_owned(),
                first,
            });
        }
        defined_on.insert(user.to_owned(), line);
        users.insert(user.to_owned(), hash);
    }
    Ok(users)
}

/// The most common bcrypt cost in the file (the higher on a tie), or Apache's default.
fn usual_bcrypt_cost(users: &HashMap<String, StoredHash>) -> u32 {
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for cost in users.values().filter_map(StoredHash::bcrypt_cost) {
        *counts.entry(cost).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(cost, count)| (count, cost))
        .map_or(DEFAULT_BCRYPT_COST, |(cost, _)| cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<HashMap<String, StoredHash>, String> {
        parse(Path::new("/etc/regent/htpasswd"), text, 14).map_err(|e| e.to_string())
    }

    #[test]
    fn comments_blank_lines_and_crlf_are_skipped() {
        let bcrypt = bcrypt::hash("pw", 4).unwrap();
        let text = format!(
            "# users\n\n  \nalice:{bcrypt}\r\n  # indented comment\nbob:{{SHA}}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=:extra\n"
        );
        let users = parse_text(&text).unwrap();
        assert_eq!(users.len(), 2);
        assert!(users["alice"].verify(b"pw"));
        assert!(users["bob"].verify(b"sesame"));
    }

    #[test]
    fn errors_name_file_line_and_user() {
        let cases = [
            (
                "alice:$2y$04$x\n",
                "/etc/regent/htpasswd:1: user \"alice\": unsupported hash (malformed bcrypt)",
            ),
            (
                "# c\nbob:rqXexS6ZhobKA\n",
                "/etc/regent/htpasswd:2: user \"bob\": unsupported hash (crypt(3) DES)",
            ),
            (
                "\n\ncarol:hunter2\n",
                "/etc/regent/htpasswd:3: user \"carol\": unsupported hash (plain text or unknown scheme)",
            ),
            ("just-a-name\n", "/etc/regent/htpasswd:1: expected `user:hash`"),
            (":{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\n", "/etc/regent/htpasswd:1: user \"\": empty"),
            (
                "a:{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\n#\na:{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\n",
                "/etc/regent/htpasswd:3: user \"a\" is already defined on line 1",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_text(text).unwrap_err();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn plain_text_passwords_are_not_echoed_in_errors() {
        let err = parse_text("carol:hunter2\n").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn usual_cost_is_the_most_common_then_the_default() {
        let file = |costs: &[u32]| {
            let text: String = costs
                .iter()
                .enumerate()
                .map(|(i, c)| format!("u{i}:{}\n", bcrypt::hash("x", *c).unwrap()))
                .collect();
            usual_bcrypt_cost(&parse_text(&text).unwrap())
        };
        assert_eq!(file(&[]), DEFAULT_BCRYPT_COST);
        assert_eq!(file(&[4, 5, 4]), 4);
        assert_eq!(file(&[4, 5]), 5);
    }

    #[test]
    fn weak_hash_users_are_named_in_one_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let text = format!(
            "zed:{{SHA}}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\nstrong:{}\nann:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/\n",
            bcrypt::hash("x", 4).unwrap()
        );
        std::fs::write(&path, text).unwrap();
        let file = UserFile::load(&path, 14).unwrap();
        assert_eq!(file.weak_hash_users(), ["ann", "zed"]);
        let warning = file.weak_hash_warning().unwrap();
        assert!(warning.contains("users ann, zed;"), "{warning}");
        assert_eq!(file.dummy().bcrypt_cost(), Some(4), "the dummy costs what the users cost");
    }

    /// A cost-4 hash relabelled: parsing reads the cost, and nothing verifies it.
    fn hash_at_cost(cost: u32) -> String {
        bcrypt::hash("x", 4).unwrap().replacen("$04$", &format!("${cost:02}$"), 1)
    }

    #[test]
    fn a_cost_above_the_maximum_is_refused_naming_the_user() {
        let text = format!(
            "ok:{}
# slow
slow:{}
",
            hash_at_cost(14),
            hash_at_cost(15)
        );
        let err = parse_text(&text).unwrap_err();
        assert!(
            err.starts_with(
                "/etc/regent/htpasswd:3: user \"slow\": bcrypt cost 15 is above max_bcrypt_cost 14;"
            ),
            "{err}"
        );
        assert!(err.contains("`regent passwd`"), "{err}");
        let high = parse(
            Path::new("f"),
            &format!(
                "slow:{}
",
                hash_at_cost(31)
            ),
            31,
        )
        .unwrap();
        assert_eq!(high["slow"].bcrypt_cost(), Some(31), "a raised maximum admits it");
    }

    #[test]
    fn the_dummy_cost_is_capped_at_the_maximum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, "legacy:{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\n").unwrap();
        let file = UserFile::load(&path, 4).unwrap();
        assert_eq!(file.dummy().bcrypt_cost(), Some(4), "Apache's default 10 is above the maximum 4");
    }
}
