//! What the watched paths look like on disk: compared between polls to see a change.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

/// How deep directory entries are fingerprinted (a directory, its entries, their entries).
const DIRECTORY_DEPTH: u32 = 2;

/// What the watched paths look like on disk, compared between polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fingerprint(Vec<PathPrint>);

impl Fingerprint {
    /// Stats `paths` (and directory entries, [`DIRECTORY_DEPTH`] deep) now.
    pub(super) fn of(paths: &[PathBuf]) -> Self {
        Self(paths.iter().map(|path| PathPrint::of(path, DIRECTORY_DEPTH)).collect())
    }

    /// The latest modification or status change time of any path or entry (`None` when
    /// nothing exists).
    pub(super) fn newest_change(&self) -> Option<OffsetDateTime> {
        self.0.iter().filter_map(PathPrint::newest_change).max()
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

    fn newest_change(&self) -> Option<OffsetDateTime> {
        let Self::Present { mtime, ctime, entries, .. } = self else {
            return None;
        };
        let own = [mtime, ctime].into_iter().filter_map(|&(seconds, nanos)| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
                .ok()
        });
        own.chain(entries.iter().filter_map(|(_, entry)| entry.newest_change())).max()
    }
}
