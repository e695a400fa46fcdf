//! One mechanism for every watched file: read, parse, validate, swap atomically, keep the last good.
//!
//! A [`Reloadable`] holds the current parsed value of one or more files. A watcher task polls the
//! files' fingerprint (existence, size, times and inode of each path, and the entries of a
//! directory): polling rather than inotify, so atomic renames, bind mounts and Kubernetes
//! `..data` symlink swaps are all seen. When the fingerprint changes the loader runs again; a
//! broken new version is logged and the last good value keeps serving.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;

/// How deep directory entries are fingerprinted (a directory, its entries, their entries).
const DIRECTORY_DEPTH: u32 = 2;

/// A loader erased to a string error, so the value type alone names a [`Reloadable`].
type Loader<T> = Box<dyn Fn() -> Result<T, String> + Send + Sync>;

/// A value loaded from files, reloaded when they change, lock-free to read.
pub struct Reloadable<T> {
    /// What is loaded (for the log), e.g. `htpasswd /etc/regent/htpasswd`.
    name: String,
    /// The files and directories whose changes trigger a reload.
    paths: Vec<PathBuf>,
    /// The last value that loaded successfully.
    current: ArcSwap<T>,
    /// Reads and parses the files.
    load: Loader<T>,
    /// The fingerprint of the files at the last load attempt; held while loading, so loads
    /// never run concurrently.
    seen: Mutex<Fingerprint>,
}

impl<T: Send + Sync + 'static> Reloadable<T> {
    /// Loads the value once (its error is returned) and remembers the files' fingerprint.
    pub fn new<E, F>(name: &str, paths: Vec<PathBuf>, load: F) -> Result<Arc<Self>, E>
    where
        E: fmt::Display + 'static,
        F: Fn() -> Result<T, E> + Send + Sync + 'static,
    {
        let seen = Fingerprint::of(&paths);
        let first = load()?;
        Ok(Arc::new(Self {
            name: name.to_owned(),
            paths,
            current: ArcSwap::from_pointee(first),
            load: Box::new(move || load().map_err(|err| err.to_string())),
            seen: Mutex::new(seen),
        }))
    }

    /// The current value (cheap and lock-free).
    pub fn get(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// What is loaded, as given to [`Reloadable::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reloads if the files' fingerprint changed since the last attempt; returns whether a new
    /// value was swapped in. A failed load is logged and the last good value stays.
    pub fn reload_now(&self) -> bool {
        let mut seen = self.lock_seen();
        let now = Fingerprint::of(&self.paths);
        if now == *seen {
            return false;
        }
        // Remember the attempt even when it fails: the error is logged once, not every poll,
        // and the next change on disk triggers the next attempt.
        *seen = now;
        match (self.load)() {
            Ok(value) => {
                self.current.store(Arc::new(value));
                tracing::info!(name = %self.name, "reloaded");
                true
            }
            Err(error) => {
                tracing::error!(name = %self.name, %error, "reload failed; keeping the last good version");
                false
            }
        }
    }

    /// Reloads regardless of the fingerprint; on failure the last good value stays and the
    /// error is returned.
    pub fn force_reload(&self) -> Result<(), String> {
        let mut seen = self.lock_seen();
        *seen = Fingerprint::of(&self.paths);
        let value = (self.load)()?;
        self.current.store(Arc::new(value));
        tracing::info!(name = %self.name, "reloaded");
        Ok(())
    }

    /// Starts a task polling the files every `interval`; it ends when the last `Arc` to this
    /// value is dropped. Returns `None` (and logs) when called outside a tokio runtime.
    pub fn spawn_watcher(self: &Arc<Self>, interval: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(name = %self.name, "no async runtime: changes will not be reloaded");
            return None;
        };
        let watched: Weak<Self> = Arc::downgrade(self);
        Some(runtime.spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await; // The first tick is immediate; the value was just loaded.
            loop {
                ticker.tick().await;
                let Some(reloadable) = watched.upgrade() else {
                    break;
                };
                // Stat, read and parse off the async workers.
                let _ = tokio::task::spawn_blocking(move || reloadable.reload_now()).await;
            }
        }))
    }

    fn lock_seen(&self) -> MutexGuard<'_, Fingerprint> {
        // A panic while loading leaves only a stale fingerprint behind: keep going.
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T> fmt::Debug for Reloadable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloadable")
            .field("name", &self.name)
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

/// What the watched paths look like on disk, compared between polls.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint(Vec<PathPrint>);

impl Fingerprint {
    fn of(paths: &[PathBuf]) -> Self {
        Self(paths.iter().map(|path| PathPrint::of(path, DIRECTORY_DEPTH)).collect())
    }
}

/// One path's fingerprint (symlinks followed, so a swapped link target counts as a change).
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPrint {
    /// The path could not be stat'ed (missing, or no permission).
    Absent(io::ErrorKind),
    /// The path exists.
    Present {
        /// Size in bytes.
        len: u64,
        /// Modification time (seconds, nanoseconds).
        mtime: (i64, i64),
        /// Status change time (seconds, nanoseconds).
        ctime: (i64, i64),
        /// Device and inode: an atomic rename gives a new inode.
        inode: (u64, u64),
        /// A directory's entries, sorted by name (empty for a file).
        entries: Vec<(OsString, PathPrint)>,
    },
}

impl PathPrint {
    fn of(path: &Path, depth: u32) -> Self {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(err) => return Self::Absent(err.kind()),
        };
        let entries =
            if metadata.is_dir() && depth > 0 { Self::entries(path, depth - 1) } else { Vec::new() };
        Self::Present {
            len: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
            inode: (metadata.dev(), metadata.ino()),
            entries,
        }
    }

    fn entries(dir: &Path, depth: u32) -> Vec<(OsString, PathPrint)> {
        let Ok(read_dir) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut entries: Vec<(OsString, PathPrint)> = read_dir
            .filter_map(Result::ok)
            .map(|entry| (entry.file_name(), Self::of(&entry.path(), depth)))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a file holding one number; anything else is an error.
    fn number_loader(path: PathBuf) -> impl Fn() -> Result<u32, String> + Send + Sync + 'static {
        move || {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            text.trim().parse::<u32>().map_err(|e| format!("{}: {e}", path.display()))
        }
    }

    /// Replaces `path` atomically (a new inode, as editors and `kubectl` do).
    fn replace(path: &Path, contents: &str) {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, contents).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn first_load_error_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        std::fs::write(&path, "not a number").unwrap();
        let result = Reloadable::new("n", vec![path.clone()], number_loader(path));
        assert!(result.is_err());
    }

    #[test]
    fn unchanged_files_do_not_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        std::fs::write(&path, "1").unwrap();
        let value = Reloadable::new("n", vec![path.clone()], number_loader(path)).unwrap();
        assert!(!value.reload_now());
        assert_eq!(*value.get(), 1);
    }

    #[test]
    fn change_is_detected_and_swapped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        std::fs::write(&path, "1").unwrap();
        let value = Reloadable::new("n", vec![path.clone()], number_loader(path.clone())).unwrap();
        replace(&path, "2");
        assert!(value.reload_now());
        assert_eq!(*value.get(), 2);
        // In-place rewrite (same inode, new length) is seen too.
        std::fs::write(&path, "333").unwrap();
        assert!(value.reload_now());
        assert_eq!(*value.get(), 333);
    }

    #[test]
    fn broken_version_keeps_last_good_then_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        std::fs::write(&path, "1").unwrap();
        let value = Reloadable::new("n", vec![path.clone()], number_loader(path.clone())).unwrap();

        replace(&path, "oops");
        assert!(!value.reload_now());
        assert_eq!(*value.get(), 1, "the last good value keeps serving");
        assert!(!value.reload_now(), "a broken version is tried once, not every poll");

        std::fs::remove_file(&path).unwrap();
        assert!(!value.reload_now());
        assert_eq!(*value.get(), 1, "a missing file keeps the last good value too");

        replace(&path, "7");
        assert!(value.reload_now());
        assert_eq!(*value.get(), 7);
    }

    #[test]
    fn force_reload_ignores_the_fingerprint_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        std::fs::write(&path, "1").unwrap();
        let value = Reloadable::new("n", vec![path.clone()], number_loader(path.clone())).unwrap();
        assert_eq!(value.force_reload(), Ok(()));
        std::fs::write(&path, "x").unwrap();
        let err = value.force_reload().unwrap_err();
        assert!(err.contains("invalid digit"), "{err}");
        assert_eq!(*value.get(), 1);
    }

    #[test]
    fn directory_entries_are_part_of_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let watched = dir.path().join("policies");
        std::fs::create_dir(&watched).unwrap();
        let count_dir = watched.clone();
        let value = Reloadable::new("dir", vec![watched.clone()], move || {
            std::fs::read_dir(&count_dir).map(|entries| entries.count())
        })
        .unwrap();
        assert_eq!(*value.get(), 0);
        std::fs::write(watched.join("a.toml"), "").unwrap();
        assert!(value.reload_now());
        assert_eq!(*value.get(), 1);
        // A changed entry (not a new one) is a change as well.
        std::fs::write(watched.join("a.toml"), "more").unwrap();
        assert!(value.reload_now());
    }

    #[tokio::test]
    async fn watcher_sees_a_change_and_stops_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n");
        std::fs::write(&path, "1").unwrap();
        let value = Reloadable::new("n", vec![path.clone()], number_loader(path.clone())).unwrap();
        let watcher = value.spawn_watcher(Duration::from_millis(10)).unwrap();
        replace(&path, "2");
        let mut waited = 0;
        while *value.get() != 2 && waited < 500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(*value.get(), 2);

        drop(value);
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .expect("the watcher ends once the value is dropped")
            .unwrap();
    }
}
