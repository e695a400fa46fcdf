//! Changes are loaded only once settled: time passed in for the rules, the real watcher for a
//! writer that keeps writing.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

const SETTLE: Duration = Duration::from_secs(1);

/// A file of lines; the value is the lines, complete or not (a half-written file loads fine,
/// which is exactly what must not be served).
fn lines_loader(path: PathBuf) -> impl Fn() -> Result<Vec<String>, String> + Send + Sync + 'static {
    move || {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        Ok(text.lines().map(str::to_owned).collect())
    }
}

fn watched(path: &Path) -> Arc<Reloadable<Vec<String>>> {
    Reloadable::new("lines", vec![path.to_owned()], lines_loader(path.to_owned())).unwrap()
}

/// The file's modification time, as the wall clock a poll would compare it with.
fn modified(path: &Path) -> OffsetDateTime {
    OffsetDateTime::from(std::fs::metadata(path).unwrap().modified().unwrap())
}

/// Rewrites `path` in place (same inode) in one write.
fn rewrite(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|line| (*line).to_owned()).collect()
}

#[test]
fn a_change_is_loaded_once_it_has_settled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "one\n").unwrap();
    let value = watched(&path);
    assert_eq!(value.poll(SETTLE, Instant::now(), modified(&path)), PollOutcome::Unchanged);

    rewrite(&path, "two\n");
    let (seen, wall) = (Instant::now(), modified(&path));
    assert_eq!(value.poll(SETTLE, seen, wall), PollOutcome::Settling(SETTLE));
    let half = SETTLE / 2;
    assert_eq!(value.poll(SETTLE, seen + half, wall + half), PollOutcome::Settling(SETTLE - half));
    assert_eq!(*value.get(), lines(&["one"]), "nothing is served before the change settled");
    assert_eq!(value.poll(SETTLE, seen + SETTLE, wall + SETTLE), PollOutcome::Reloaded);
    assert_eq!(*value.get(), lines(&["two"]));
    assert_eq!(value.poll(SETTLE, seen + 2 * SETTLE, wall + 2 * SETTLE), PollOutcome::Unchanged);
}

#[test]
fn a_second_write_restarts_the_settle_time_and_the_first_is_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "allow\ndeny\n").unwrap();
    let value = watched(&path);

    rewrite(&path, "allow\n"); // the first half of an in-place rewrite
    let (first, wall) = (Instant::now(), modified(&path));
    assert_eq!(value.poll(SETTLE, first, wall), PollOutcome::Settling(SETTLE));
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"deny\nmore\n").unwrap();
    let almost = first + SETTLE - Duration::from_millis(1);
    let wall = modified(&path);
    assert_eq!(
        value.poll(SETTLE, almost, wall),
        PollOutcome::Settling(SETTLE),
        "a new fingerprint starts over"
    );
    assert_eq!(value.poll(SETTLE, almost + SETTLE, wall + SETTLE), PollOutcome::Reloaded);
    assert_eq!(*value.get(), lines(&["allow", "deny", "more"]));
}

#[test]
fn a_recent_file_time_holds_a_stable_change_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "one\n").unwrap();
    let value = watched(&path);
    rewrite(&path, "two\n");
    let (seen, changed) = (Instant::now(), modified(&path));
    assert_eq!(value.poll(SETTLE, seen, changed), PollOutcome::Settling(SETTLE));
    // Stable for the settle time, but the wall clock says the file was written just now.
    let fresh = Duration::from_millis(300);
    assert_eq!(value.poll(SETTLE, seen + SETTLE, changed + fresh), PollOutcome::Settling(SETTLE - fresh));
    // A file time in the future (a skewed file server) leaves the decision to stability.
    assert_eq!(value.poll(SETTLE, seen + SETTLE, changed - SETTLE * 10), PollOutcome::Reloaded);
    assert_eq!(*value.get(), lines(&["two"]));
}

#[test]
fn a_writer_pausing_longer_than_the_settle_time_can_be_seen_half_way() {
    // The documented limit: settling guards quick multi-write rewrites, not arbitrary pauses.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "allow\ndeny\n").unwrap();
    let value = watched(&path);
    rewrite(&path, "allow\n");
    let (seen, wall) = (Instant::now(), modified(&path));
    assert_eq!(value.poll(SETTLE, seen, wall), PollOutcome::Settling(SETTLE));
    assert_eq!(value.poll(SETTLE, seen + SETTLE, wall + SETTLE), PollOutcome::Reloaded);
    assert_eq!(*value.get(), lines(&["allow"]), "half a file after a long pause");
}

#[test]
fn reload_now_and_force_reload_do_not_wait() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "one\n").unwrap();
    let value = watched(&path);
    rewrite(&path, "two\n");
    assert!(value.reload_now());
    rewrite(&path, "three\n");
    assert_eq!(value.poll(SETTLE, Instant::now(), modified(&path)), PollOutcome::Settling(SETTLE));
    value.force_reload().unwrap();
    assert_eq!(*value.get(), lines(&["three"]));
    assert_eq!(value.poll(SETTLE, Instant::now(), modified(&path)), PollOutcome::Unchanged);
}

/// Log lines written while a test runs (a `tracing` writer into memory).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tracing_subscriber::fmt::MakeWriter<'_> for Captured {
    type Writer = Self;

    fn make_writer(&self) -> Self {
        self.clone()
    }
}

#[test]
fn files_that_never_settle_are_warned_about_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "one\n").unwrap();
    let value = watched(&path);
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(captured.clone()).with_ansi(false).finish();
    tracing::subscriber::with_default(subscriber, || {
        let start = Instant::now();
        // A new version every half settle time, for 30 settle times: never loaded.
        for step in 0..60_u32 {
            rewrite(&path, &"x\n".repeat(step as usize + 2));
            let now = start + SETTLE * step / 2;
            assert!(matches!(value.poll(SETTLE, now, modified(&path) + SETTLE), PollOutcome::Settling(_)));
        }
    });
    assert_eq!(*value.get(), lines(&["one"]));
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(log.matches("files keep changing").count(), 1, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_appending_past_the_settle_time_is_loaded_only_after_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "old\n").unwrap();
    let value = watched(&path);
    let timing = WatchTiming { interval: Duration::from_millis(10), settle: Duration::from_millis(300) };
    let _watcher = value.spawn_watcher_with(timing).unwrap();

    // One line every 50 ms for 1.2 s (four times the settle time), in place, then `end`.
    let stopped = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, stopped) = (path.clone(), Arc::clone(&stopped));
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new().write(true).truncate(true).open(&path).unwrap();
            for n in 0..24 {
                file.write_all(format!("line {n}\n").as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
            file.write_all(b"end\n").unwrap();
            stopped.store(true, Ordering::SeqCst);
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let complete = loop {
        let current = value.get();
        match current.first().map(String::as_str) {
            Some("old") => assert!(Instant::now() < deadline, "the finished file was not loaded in time"),
            _ => break current,
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    assert!(stopped.load(Ordering::SeqCst), "a version was loaded while the writer was still writing");
    assert_eq!(complete.len(), 25, "{complete:?}");
    assert_eq!(complete.last().map(String::as_str), Some("end"));
    writer.join().unwrap();
}
