//! A ConfigMap or Secret volume laid out and updated exactly as the kubelet's AtomicWriter
//! (pkg/volume/util/atomic_writer.go) does it:
//!
//! ```text
//! DIR/..2026_12_03_11_00_00.123456789/FILE   the files, in a timestamped directory
//! DIR/..data -> ..2026_12_03_11_00_00.123456789
//! DIR/FILE -> ..data/FILE                    what the container sees
//! ```
//!
//! An update writes a new timestamped directory, points a new `..data_tmp` symlink at it,
//! renames that over `..data` (the atomic step), creates the links of new files, removes the
//! links of files no longer in the payload and deletes the old directory, in that order.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use regent::clock::{Clock, SystemClock};
use time::macros::format_description;

/// The symlink naming the current timestamped directory.
const DATA_DIR: &str = "..data";
/// The symlink made next to it and renamed over it.
const DATA_DIR_TMP: &str = "..data_tmp";

/// A mounted ConfigMap or Secret volume.
#[derive(Debug)]
pub struct ProjectedVolume {
    /// The mount point (the container's mountPath under the test's root).
    dir: PathBuf,
    /// The file mode of every file (the volume's defaultMode).
    mode: u32,
    /// The current payload's file names.
    files: Vec<String>,
}

impl ProjectedVolume {
    /// Creates `dir` and writes `payload` into it (the volume's first setup is an update of an
    /// empty directory).
    pub fn create(dir: &Path, payload: &BTreeMap<String, Vec<u8>>, mode: u32) -> Self {
        std::fs::create_dir_all(dir).expect("create the mount point");
        let mut volume = Self { dir: dir.to_owned(), mode, files: Vec::new() };
        volume.update(payload);
        volume
    }

    /// The mount point.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the payload the way the kubelet does (see the module documentation).
    pub fn update(&mut self, payload: &BTreeMap<String, Vec<u8>>) {
        let old = std::fs::read_link(self.dir.join(DATA_DIR)).ok();
        let stamp = timestamped_name();
        let new = self.dir.join(&stamp);
        std::fs::create_dir(&new).expect("create the timestamped directory");
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        for (name, contents) in payload {
            assert!(!name.contains('/'), "a payload with subdirectories: {name}");
            let file = new.join(name);
            std::fs::write(&file, contents).expect("write a payload file");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(self.mode)).expect("chmod");
        }
        let tmp = self.dir.join(DATA_DIR_TMP);
        symlink(&stamp, &tmp).expect("create ..data_tmp");
        std::fs::rename(&tmp, self.dir.join(DATA_DIR)).expect("rename ..data_tmp over ..data");
        for name in payload.keys() {
            let visible = self.dir.join(name);
            if std::fs::symlink_metadata(&visible).is_err() {
                symlink(Path::new(DATA_DIR).join(name), &visible).expect("create a user-visible link");
            }
        }
        for name in self.files.iter().filter(|name| !payload.contains_key(*name)) {
            std::fs::remove_file(self.dir.join(name)).expect("remove a user-visible link");
        }
        if let Some(old) = old {
            std::fs::remove_dir_all(self.dir.join(old)).expect("remove the old timestamped directory");
        }
        self.files = payload.keys().cloned().collect();
    }
}

/// `..YYYY_MM_DD_HH_MM_SS.` plus digits, as the kubelet's `os.MkdirTemp(dir, "..2006_01_02_15_04_05.")`.
fn timestamped_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemClock.now();
    let format = format_description!("[year]_[month]_[day]_[hour]_[minute]_[second]");
    let stamp = now.format(&format).expect("format a timestamp");
    let unique = u64::from(now.nanosecond()) * 100 + COUNTER.fetch_add(1, Ordering::Relaxed) % 100;
    format!("..{stamp}.{unique}")
}

#[test]
fn the_layout_and_an_update_are_the_kubelets() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("vol");
    let first = BTreeMap::from([("a".to_owned(), b"1".to_vec()), ("b".to_owned(), b"2".to_vec())]);
    let mut volume = ProjectedVolume::create(&dir, &first, 0o440);
    let stamp = std::fs::read_link(dir.join("..data")).expect("..data is a link");
    assert!(stamp.to_string_lossy().starts_with("..20"), "{stamp:?}");
    assert_eq!(std::fs::read_link(dir.join("a")).expect("a is a link"), Path::new("..data/a"));
    assert_eq!(std::fs::metadata(dir.join("a")).expect("a").permissions().mode() & 0o777, 0o440);

    let second = BTreeMap::from([("b".to_owned(), b"3".to_vec()), ("c".to_owned(), b"4".to_vec())]);
    volume.update(&second);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let new_stamp = std::fs::read_link(dir.join("..data")).expect("..data");
    assert_ne!(new_stamp, stamp);
    let new_stamp = new_stamp.to_string_lossy().into_owned();
    assert_eq!(
        names,
        [new_stamp, "..data".to_owned(), "b".into(), "c".into()],
        "a's link and the old directory are gone"
    );
    assert_eq!(std::fs::read(dir.join("b")).expect("b"), b"3");
    assert_eq!(std::fs::read_link(dir.join("b")).expect("b"), Path::new("..data/b"), "the link itself stays");
}
