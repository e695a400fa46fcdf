//! [`AuditFile`]: the `[log] audit_file`, appended one line at a time and reopened on SIGHUP,
//! as logrotate expects (`create`: it renames the file, creates a new one, then signals; until
//! the signal the lines go on to the renamed file, so none is lost).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::signal::unix::{SignalKind, signal};

/// The mode of a newly created audit file: it names users and addresses.
const MODE: u32 = 0o640;

/// An audit file open for appending.
#[derive(Debug)]
pub struct AuditFile {
    /// Where it is (opened again on SIGHUP).
    path: PathBuf,
    /// The open file; each line is one `write` on it.
    file: Mutex<File>,
    /// Whether the last write failed (a failure is logged once, not on every line).
    failing: AtomicBool,
}

impl AuditFile {
    /// Opens `path` for appending, creating it (mode 0640) when missing.
    pub fn open(path: &Path) -> io::Result<Arc<Self>> {
        let file = open_append(path)?;
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            failing: AtomicBool::new(false),
        }))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `line` and a newline in one write. A failure is logged (once until a write
    /// succeeds again), never returned: an audit file that fills its disk must not stop logins.
    pub fn append_line(&self, line: &[u8]) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
        let result = lock(&self.file).write_all(&bytes);
        match result {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(path = %self.path.display(), "the audit file is written again");
                }
            }
            Err(error) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(path = %self.path.display(), %error, "cannot write the audit file");
                }
            }
        }
    }

    /// Opens the path again (a new file after a rotation); on failure the old file stays.
    pub fn reopen(&self) -> io::Result<()> {
        let file = open_append(&self.path)?;
        *lock(&self.file) = file;
        Ok(())
    }

    /// Reopens the file on every SIGHUP, for as long as it is in use. Must be called inside a
    /// tokio runtime.
    pub fn reopen_on_sighup(self: &Arc<Self>) -> io::Result<()> {
        let mut hangups = signal(SignalKind::hangup())?;
        let file: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let Some(file) = file.upgrade() else { break };
                match file.reopen() {
                    Ok(()) => tracing::info!(path = %file.path.display(), "SIGHUP: reopened the audit file"),
                    Err(error) => {
                        tracing::error!(path = %file.path.display(), %error, "SIGHUP: keeping the old audit file");
                    }
                }
            }
        });
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).mode(MODE).open(path)
}

fn lock(file: &Mutex<File>) -> MutexGuard<'_, File> {
    file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_and_reopens_after_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let file = AuditFile::open(&path).unwrap();
        file.append_line(b"{\"n\":1}");
        std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
        file.append_line(b"{\"n\":2}");
        file.reopen().unwrap();
        file.append_line(b"{\"n\":3}");
        let rotated = std::fs::read_to_string(dir.path().join("audit.log.1")).unwrap();
        assert_eq!(rotated, "{\"n\":1}\n{\"n\":2}\n", "lines before the reopen go to the renamed file");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"n\":3}\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o007, 0, "not world-readable: {mode:o}");
    }

    #[test]
    fn a_failed_reopen_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("audit.log");
        let file = AuditFile::open(&path).unwrap();
        std::fs::rename(&sub, dir.path().join("gone")).unwrap();
        assert!(file.reopen().is_err(), "the directory is gone");
        file.append_line(b"still here");
        let kept = std::fs::read_to_string(dir.path().join("gone/audit.log")).unwrap();
        assert_eq!(kept, "still here\n");
    }
}
