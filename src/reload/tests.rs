//! The mechanism itself: first load, change detection, last good value, the watcher task.

use std::path::Path;

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

#[test]
fn the_observer_hears_of_every_reload_ok_or_failed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n");
    std::fs::write(&path, "1").unwrap();
    let value =
        Reloadable::new("numbers in a file", vec![path.clone()], number_loader(path.clone())).unwrap();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heard);
    value.set_observer(Arc::new(move |what: &str, loaded, _wall| {
        log.lock().unwrap().push((what.to_owned(), loaded));
    }));
    replace(&path, "2");
    assert!(value.reload_now());
    replace(&path, "broken");
    assert!(!value.reload_now());
    assert!(value.force_reload().is_err());
    assert_eq!(*value.get(), 2, "the last good value stays");
    let expected = [("numbers", true), ("numbers", false), ("numbers", false)];
    let expected: Vec<(String, bool)> = expected.iter().map(|(w, l)| ((*w).to_owned(), *l)).collect();
    assert_eq!(*heard.lock().unwrap(), expected);
}
