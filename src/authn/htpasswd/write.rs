//! Editing an htpasswd file (`regent passwd`): set or delete one user, keep every other line as
//! it is, replace the file atomically, one editor at a time.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::{HtpasswdError, validate_user_name};
use super::hash::BCRYPT_MAX_PASSWORD_BYTES;
use super::replace::{EditLock, write_atomically};
use crate::secret::Secret;

/// Sets `user`'s password to a bcrypt (`$2y$`) hash at `cost`, adding the user if needed and
/// creating the file (mode 0600) if it is missing. Concurrent edits of one file are serialised
/// by a lock on `FILE.lock`; the replaced file keeps its owner (where permitted) and mode.
pub fn set_password(path: &Path, user: &str, password: &Secret, cost: u32) -> Result<(), HtpasswdError> {
    check_user_name(user)?;
    if password.is_empty() {
        return Err(HtpasswdError::InvalidPassword("it is empty"));
    }
    if password.expose().len() > BCRYPT_MAX_PASSWORD_BYTES {
        return Err(HtpasswdError::InvalidPassword("longer than 72 bytes, which bcrypt ignores"));
    }
    let hash = bcrypt::hash_with_result(password.expose(), cost)?.format_for_version(bcrypt::Version::TwoY);

    let path = resolve_symlink(path);
    let _lock = EditLock::acquire(&path)?;
    let existing = read_if_exists(&path)?;
    write_atomically(&path, &with_entry(existing.as_deref().unwrap_or_default(), user, &hash))
}

/// The text [`set_password`] writes: `text` with the first line of `user` replaced by
/// `user:hash` (keeping that line's ending) and later lines of `user` dropped, or with
/// `user:hash` appended; every other line is kept byte for byte.
pub fn with_entry(text: &str, user: &str, hash: &str) -> String {
    let entry = format!("{user}:{hash}");
    let mut out = String::with_capacity(text.len() + entry.len() + 1);
    let mut replaced = false;
    for line in text.split_inclusive('\n') {
        if user_of(line) != Some(user) {
            out.push_str(line);
        } else if !replaced {
            out.push_str(&entry);
            out.push_str(line_ending(line));
            replaced = true;
        } // A later duplicate of the user is dropped.
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&entry);
        out.push('\n');
    }
    out
}

/// Deletes `user` from the file, under the same lock as [`set_password`]; returns whether it
/// was there (a missing file has no users).
pub fn delete_user(path: &Path, user: &str) -> Result<bool, HtpasswdError> {
    check_user_name(user)?;
    let path = resolve_symlink(path);
    let _lock = EditLock::acquire(&path)?;
    let Some(text) = read_if_exists(&path)? else {
        return Ok(false);
    };
    let kept = without_user(&text, user);
    if kept.len() == text.len() {
        return Ok(false);
    }
    write_atomically(&path, &kept)?;
    Ok(true)
}

/// The text [`delete_user`] writes: `text` without the lines of `user`, every other line kept
/// byte for byte.
pub fn without_user(text: &str, user: &str) -> String {
    text.split_inclusive('\n').filter(|line| user_of(line) != Some(user)).collect()
}

fn check_user_name(user: &str) -> Result<(), HtpasswdError> {
    validate_user_name(user)
        .map_err(|reason| HtpasswdError::InvalidUserName { user: user.to_owned(), reason })
}

/// The user a line defines, read as the loader reads it (`None` for comments and blank lines).
fn user_of(line: &str) -> Option<&str> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    trimmed.split_once(':').map(|(user, _)| user)
}

/// The line's own ending (`\r\n`, `\n`, or none on a last line without one).
fn line_ending(line: &str) -> &'static str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    }
}

/// Edits go to a symlink's target, not over the link.
fn resolve_symlink(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    }
}

fn read_if_exists(path: &Path) -> Result<Option<String>, HtpasswdError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(HtpasswdError::Read { path: path.to_owned(), error }),
    }
}

#[cfg(test)]
mod tests {
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::authn::htpasswd::hash::StoredHash;

    fn secret(s: &str) -> Secret {
        Secret::new(s)
    }

    fn hash_of(text: &str, user: &str) -> StoredHash {
        let line = text.lines().find(|line| user_of(line) == Some(user)).unwrap();
        StoredHash::parse(line.split_once(':').unwrap().1).unwrap()
    }

    #[test]
    fn set_creates_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        set_password(&path, "alice", &secret("pw1"), 4).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("alice:$2y$04$") && text.ends_with('\n'), "{text}");
        assert!(hash_of(&text, "alice").verify(b"pw1"));
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn set_and_delete_keep_other_lines_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let original = "# team\r\nbob:{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\r\n\nalice:{SHA}old\n  # trailing comment\ncarol:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/";
        fs::write(&path, original).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();

        set_password(&path, "alice", &secret("new"), 4).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        assert_eq!(lines[..3], ["# team\r\n", "bob:{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\r\n", "\n"]);
        assert!(lines[3].starts_with("alice:$2y$04$") && lines[3].ends_with('\n'));
        assert_eq!(lines[4..], ["  # trailing comment\n", "carol:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/"]);
        assert!(hash_of(&text, "alice").verify(b"new"));
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);

        // A new user is appended after a last line without a newline.
        set_password(&path, "dave", &secret("d"), 4).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("carol:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/\ndave:$2y$04$"), "{text}");

        assert!(delete_user(&path, "alice").unwrap());
        assert!(delete_user(&path, "dave").unwrap());
        assert!(!delete_user(&path, "alice").unwrap());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# team\r\nbob:{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=\r\n\n  # trailing comment\ncarol:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/\n"
        );
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["htpasswd", "htpasswd.lock"], "no temporary files are left behind");
    }

    #[test]
    fn delete_from_a_missing_file_is_false() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!delete_user(&dir.path().join("none"), "alice").unwrap());
        assert!(!dir.path().join("none").exists());
    }

    #[test]
    fn edits_go_through_a_symlink_to_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real");
        let link = dir.path().join("htpasswd");
        fs::write(&target, "# kept\n").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        set_password(&link, "alice", &secret("pw"), 4).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(fs::read_to_string(&target).unwrap().starts_with("# kept\nalice:$2y$"));
    }

    #[test]
    fn invalid_input_is_refused_without_touching_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let long = "x".repeat(73);
        let cases = [
            ("", "pw", 4, "invalid user name \"\": empty"),
            ("a:b", "pw", 4, "invalid user name \"a:b\": contains ':'"),
            ("a b", "pw", 4, "invalid user name \"a b\": contains whitespace"),
            ("a\u{7}", "pw", 4, "invalid user name \"a\\u{7}\": contains whitespace or a control"),
            ("alice", "", 4, "invalid password: it is empty"),
            ("alice", long.as_str(), 4, "invalid password: longer than 72 bytes"),
            ("alice", "pw", 3, "cannot hash the password"),
        ];
        for (user, password, cost, expected) in cases {
            let err = set_password(&path, user, &secret(password), cost).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{user:?}: {err}");
        }
        assert!(!path.exists());
        assert!(delete_user(&path, "a b").is_err());
    }
}
