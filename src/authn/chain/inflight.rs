//! Runs of the chain in progress, by credentials: a caller with the same credentials as a run
//! in progress waits for that run instead of starting another.
//!
//! The map holds weak handles: a run lives while some caller waits for it and is dropped (its
//! backend work cancelled) when none does. A run removes its own entry when it finishes.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};

use crate::authn::cache::CacheKey;

/// Above this many entries, entries of runs nobody waits for any more are dropped.
const PRUNE_AT: usize = 1024;

/// A shared run producing `T`.
type Run<T> = Shared<BoxFuture<'static, T>>;

/// The runs in progress.
pub(super) struct InFlight<T> {
    /// Weak handles to the runs, by credentials key.
    runs: Mutex<HashMap<CacheKey, WeakShared<BoxFuture<'static, T>>>>,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        Self { runs: Mutex::new(HashMap::new()) }
    }
}

impl<T: Clone + Send + Sync + 'static> InFlight<T> {
    /// The run in progress for `key`, or a new one made by `start`; await it to take part.
    pub(super) fn join(&self, key: CacheKey, start: impl FnOnce() -> BoxFuture<'static, T>) -> Run<T> {
        let mut runs = self.lock();
        if let Some(run) = runs.get(&key).and_then(WeakShared::upgrade) {
            return run;
        }
        if runs.len() >= PRUNE_AT {
            runs.retain(|_, run| run.upgrade().is_some());
        }
        let run = start().shared();
        if let Some(weak) = run.downgrade() {
            runs.insert(key, weak);
        }
        run
    }

    /// Forgets the run for `key` (called by the run as it finishes).
    pub(super) fn finish(&self, key: &CacheKey) {
        self.lock().remove(key);
    }

    /// How many entries are held (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, WeakShared<BoxFuture<'static, T>>>> {
        // Single inserts and removes leave the map consistent after a panic: keep using it.
        self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
