//! Replacing an htpasswd file safely: an advisory lock on a sibling lock file serialises
//! concurrent editors (`regent passwd` run twice at once), and the replacement keeps the old
//! file's owner and mode.

use std::ffi::OsString;
use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::error::HtpasswdError;

/// An exclusive advisory lock (`flock`) on `FILE.lock` next to the edited file, held from
/// before the file is read until after the new version is renamed in; released when dropped.
///
/// The lock file is created when missing and never deleted: deleting it would let one editor
/// lock a file that a second editor has just unlinked and recreated, and both would proceed.
#[derive(Debug)]
pub(crate) struct EditLock {
    /// The open lock file; closing it releases the lock.
    _file: fs::File,
}

impl EditLock {
    /// Blocks until this process holds the lock for editing `path`.
    pub(crate) fn acquire(path: &Path) -> Result<Self, HtpasswdError> {
        let lock_path = lock_path(path);
        let lock_error = |error| HtpasswdError::Lock { path: lock_path.clone(), error };
        let file =
            match OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(&lock_path) {
                // A lock file made by another user may be read-only to us; flock works on any fd.
                Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                    fs::File::open(&lock_path).map_err(lock_error)?
                }
                other => other.map_err(lock_error)?,
            };
        file.lock().map_err(lock_error)?;
        Ok(Self { _file: file })
    }
}

/// `FILE.lock` in the directory of `path`.
pub(super) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map_or_else(|| OsString::from("htpasswd"), OsString::from);
    name.push(".lock");
    path.with_file_name(name)
}

/// Writes `contents` to a temporary file next to `path`, syncs it, gives it the owner (where
/// permitted) and mode of the file it replaces (mode 0600 for a new file) and renames it over
/// `path`. Call it holding an [`EditLock`] for `path`.
pub(crate) fn write_atomically(path: &Path, contents: &str) -> Result<(), HtpasswdError> {
    let write_error = |error| HtpasswdError::Write { path: path.to_owned(), error };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let old = match fs::metadata(path) {
        Ok(metadata) => Some(metadata),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(write_error(error)),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
    temp.write_all(contents.as_bytes()).map_err(write_error)?;
    if let Some(old) = &old {
        keep_owner(temp.as_file(), old, path).map_err(write_error)?;
    }
    let mode = old.as_ref().map_or(0o600, |old| old.mode() & 0o7777);
    temp.as_file().set_permissions(Permissions::from_mode(mode)).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(path).map_err(|persist| write_error(persist.error))?;
    // Make the rename itself durable.
    fs::File::open(dir).and_then(|dir| dir.sync_all()).map_err(write_error)
}

/// Gives `temp` the uid and gid of `old`. Only root may give a file away: anyone else keeps
/// the group when they belong to it, and a warning says the owner changed.
fn keep_owner(temp: &fs::File, old: &fs::Metadata, path: &Path) -> io::Result<()> {
    let new = temp.metadata()?;
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) {
        return Ok(());
    }
    match std::os::unix::fs::fchown(temp, Some(old.uid()), Some(old.gid())) {
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            let group_kept = std::os::unix::fs::fchown(temp, None, Some(old.gid())).is_ok();
            tracing::warn!(
                file = %path.display(),
                old_uid = old.uid(),
                old_gid = old.gid(),
                new_uid = new.uid(),
                group_kept,
                "cannot keep the htpasswd file's owner (only root can): the new file is ours"
            );
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::fs::TryLockError;

    use super::*;

    #[test]
    fn the_lock_file_sits_next_to_the_file() {
        assert_eq!(lock_path(Path::new("/etc/regent/htpasswd")), Path::new("/etc/regent/htpasswd.lock"));
        assert_eq!(lock_path(Path::new("users")), Path::new("users.lock"));
    }

    #[test]
    fn a_held_lock_excludes_another_editor_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let lock = EditLock::acquire(&path).unwrap();
        // flock conflicts between open file descriptions, so a second open in this process
        // stands in for a second `regent passwd`.
        let other = fs::File::open(lock_path(&path)).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(lock);
        other.try_lock().unwrap();
        assert!(lock_path(&path).exists(), "the lock file is never deleted");
    }

    #[test]
    fn a_rewrite_keeps_owner_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        let ours = fs::metadata(&path).unwrap();
        // Root can give the file away, as an admin's `chown root:regent` would; others keep theirs.
        let (uid, gid) = if ours.uid() == 0 { (4321, 8765) } else { (ours.uid(), ours.gid()) };
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        let before = fs::metadata(&path).unwrap();

        write_atomically(&path, "new\n").unwrap();
        let after = fs::metadata(&path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_ne!(after.ino(), before.ino(), "the file was replaced, not edited in place");
        assert_eq!((after.uid(), after.gid()), (uid, gid));
        assert_eq!(after.mode() & 0o7777, 0o640);
    }

    #[test]
    fn a_new_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        write_atomically(&path, "x\n").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
    }
}
