//! One mechanism for every watched file: read, parse, validate, swap atomically, keep the last good.
//!
//! A [`Reloadable`] holds the current parsed value of one or more files. A watcher task polls the
//! files' fingerprint (existence, size, times and inode of each path, and the entries of a
//! directory): polling rather than inotify, so atomic renames, bind mounts and Kubernetes
//! `..data` symlink swaps are all seen. A change is loaded only once it has settled: the
//! fingerprint stayed the same for the settle time and the newest file time is at least that
//! old, so a file rewritten in place in several quick writes is never loaded half-way. A broken
//! new version is logged and the last good value keeps serving.
//!
//! A writer that pauses longer than the settle time in the middle of a file can still be seen
//! half-way: replacing a file atomically (a temporary file in the same directory, then a
//! rename, as `regent passwd` and Kubernetes ConfigMaps do) is the safe way to change it. A
//! file that never stops changing in a watched directory holds reloads back (with a warning).

mod fingerprint;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use fingerprint::Fingerprint;

/// How long watched files must stay unchanged before a change is loaded. A watcher polling
/// every `interval` makes a change live within `interval + SETTLE_TIME` (plus the load).
pub const SETTLE_TIME: Duration = Duration::from_millis(500);

/// After how many settle times of constant change the watcher warns that nothing reloads.
const NEVER_SETTLING: u32 = 20;

/// A loader erased to a string error, so the value type alone names a [`Reloadable`].
type Loader<T> = Box<dyn Fn() -> Result<T, String> + Send + Sync>;

/// Told of every reload attempt after the first load: what is reloaded (the first word of its
/// name: `policies`, `htpasswd`, `groups`, `certificate`, ...), whether the new version loaded,
/// and the wall-clock time of the attempt. Metrics count reloads through it.
pub type ReloadObserver = Arc<dyn Fn(&str, bool, OffsetDateTime) + Send + Sync>;

/// How a watcher polls: how often, and how long a change must settle before it is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchTiming {
    /// The time between two looks at the files while nothing is changing.
    pub interval: Duration,
    /// How long a change must stay unchanged (and the newest file time be this old).
    pub settle: Duration,
}

/// What one look at the files found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// Nothing changed since the last load attempt.
    Unchanged,
    /// A change is settling; look again after this long.
    Settling(Duration),
    /// The changed files loaded and the new value was swapped in.
    Reloaded,
    /// The changed files failed to load (logged); the last good value stays.
    Failed,
}

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
    /// What the files looked like at the last load attempt, and a change waiting to settle;
    /// held while loading, so loads never run concurrently.
    state: Mutex<WatchState>,
    /// Told of every reload attempt, when set.
    observer: OnceLock<ReloadObserver>,
}

/// The watcher's memory between two looks at the files.
#[derive(Debug)]
struct WatchState {
    /// The fingerprint at the last load attempt.
    loaded: Fingerprint,
    /// A different fingerprint seen since, and when it was first seen.
    settling: Option<(Fingerprint, Instant)>,
    /// When the files first differed from `loaded` (for the warning about files that never
    /// settle), and whether that warning was logged.
    changing_since: Option<(Instant, bool)>,
}

impl<T: Send + Sync + 'static> Reloadable<T> {
    /// Loads the value once (its error is returned) and remembers the files' fingerprint.
    pub fn new<E, F>(name: &str, paths: Vec<PathBuf>, load: F) -> Result<Arc<Self>, E>
    where
        E: fmt::Display + 'static,
        F: Fn() -> Result<T, E> + Send + Sync + 'static,
    {
        let loaded = Fingerprint::of(&paths);
        let first = load()?;
        Ok(Arc::new(Self {
            name: name.to_owned(),
            paths,
            current: ArcSwap::from_pointee(first),
            load: Box::new(move || load().map_err(|err| err.to_string())),
            state: Mutex::new(WatchState { loaded, settling: None, changing_since: None }),
            observer: OnceLock::new(),
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

    /// The first word of the name: what kind of thing is loaded (`policies`, `htpasswd`, ...).
    pub fn kind(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or("")
    }

    /// Tells `observer` of every later reload attempt. Only the first observer set counts.
    pub fn set_observer(&self, observer: ReloadObserver) {
        let _ = self.observer.set(observer);
    }

    fn notify(&self, loaded: bool, wall: OffsetDateTime) {
        if let Some(observer) = self.observer.get() {
            observer(self.kind(), loaded, wall);
        }
    }

    /// Reloads at once, without a settle time, if the files' fingerprint changed since the
    /// last attempt (for callers that know the writer has finished); returns whether a new
    /// value was swapped in. A failed load is logged and the last good value stays.
    pub fn reload_now(&self) -> bool {
        self.poll(Duration::ZERO, Instant::now(), SystemClock.now()) == PollOutcome::Reloaded
    }

    /// Looks at the files at `now` (wall clock `wall`, compared with the file times) and loads
    /// a change once it has settled: the same fingerprint seen for `settle`, and no file time
    /// newer than `wall - settle`. A failed load is logged once; the last good value stays.
    pub fn poll(&self, settle: Duration, now: Instant, wall: OffsetDateTime) -> PollOutcome {
        let mut state = self.lock_state();
        let print = Fingerprint::of(&self.paths);
        if print == state.loaded {
            state.settling = None;
            state.changing_since = None;
            return PollOutcome::Unchanged;
        }
        let since = match &state.settling {
            Some((settling, since)) if *settling == print => *since,
            _ => {
                state.settling = Some((print.clone(), now));
                now
            }
        };
        let unchanged_for = now.saturating_duration_since(since);
        // A file time in the future (a skewed file server) must not stop reloads: then the
        // fingerprint's own stability decides.
        let age = print
            .newest_change()
            .map_or(settle, |newest| Duration::try_from(wall - newest).unwrap_or(settle));
        let wait = settle.saturating_sub(unchanged_for).max(settle.saturating_sub(age));
        if !wait.is_zero() {
            self.warn_if_never_settling(&mut state, settle, now);
            return PollOutcome::Settling(wait);
        }
        // Remember the attempt even when it fails: the error is logged once, not every poll,
        // and the next change on disk triggers the next attempt.
        state.settling = None;
        state.changing_since = None;
        state.loaded = print;
        match (self.load)() {
            Ok(value) => {
                self.current.store(Arc::new(value));
                tracing::info!(name = %self.name, "reloaded");
                self.notify(true, wall);
                PollOutcome::Reloaded
            }
            Err(error) => {
                tracing::error!(name = %self.name, %error, "reload failed; keeping the last good version");
                self.notify(false, wall);
                PollOutcome::Failed
            }
        }
    }

    /// Reloads regardless of the fingerprint; on failure the last good value stays and the
    /// error is returned.
    pub fn force_reload(&self) -> Result<(), String> {
        let mut state = self.lock_state();
        state.loaded = Fingerprint::of(&self.paths);
        state.settling = None;
        state.changing_since = None;
        let value = (self.load)().inspect_err(|_| self.notify(false, SystemClock.now()))?;
        self.current.store(Arc::new(value));
        tracing::info!(name = %self.name, "reloaded");
        self.notify(true, SystemClock.now());
        Ok(())
    }

    /// Starts a task polling the files every `interval`, loading changes after [`SETTLE_TIME`];
    /// it ends when the last `Arc` to this value is dropped. Returns `None` (and logs) when
    /// called outside a tokio runtime.
    pub fn spawn_watcher(self: &Arc<Self>, interval: Duration) -> Option<tokio::task::JoinHandle<()>> {
        self.spawn_watcher_with(WatchTiming { interval, settle: SETTLE_TIME })
    }

    /// Like [`Reloadable::spawn_watcher`] with an explicit settle time. While a change settles
    /// the files are looked at again as soon as it may have settled, not an interval later.
    pub fn spawn_watcher_with(self: &Arc<Self>, timing: WatchTiming) -> Option<tokio::task::JoinHandle<()>> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(name = %self.name, "no async runtime: changes will not be reloaded");
            return None;
        };
        let watched: Weak<Self> = Arc::downgrade(self);
        Some(runtime.spawn(async move {
            let mut delay = timing.interval;
            loop {
                tokio::time::sleep(delay).await;
                let Some(reloadable) = watched.upgrade() else {
                    break;
                };
                // Stat, read and parse off the async workers.
                let outcome = tokio::task::spawn_blocking(move || {
                    reloadable.poll(timing.settle, Instant::now(), SystemClock.now())
                })
                .await;
                delay = match outcome {
                    Ok(PollOutcome::Settling(wait)) => wait,
                    _ => timing.interval,
                };
            }
        }))
    }

    /// Logs once when the files have kept changing for [`NEVER_SETTLING`] settle times: a
    /// file written all the time in a watched directory holds every reload back.
    fn warn_if_never_settling(&self, state: &mut WatchState, settle: Duration, now: Instant) {
        let (since, warned) = state.changing_since.get_or_insert((now, false));
        if !*warned && now.saturating_duration_since(*since) >= settle * NEVER_SETTLING {
            *warned = true;
            tracing::warn!(name = %self.name, "files keep changing: not reloading until they stay unchanged");
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, WatchState> {
        // A panic while loading leaves only a stale fingerprint behind: keep going.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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

#[cfg(test)]
mod settle_tests;
#[cfg(test)]
mod tests;
