//! When each token was last used: kept in memory on every login and merged into a sidecar file
//! (`TOKENS.last-used`, JSON `{id: unix seconds}`) at most once per [`FLUSH_INTERVAL`], so
//! `regent token list` shows it to within about a minute. Replicas sharing the directory merge
//! (the latest time wins); a read-only directory keeps the times in memory only (one warning).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::TokensError;
use crate::authn::htpasswd::replace::{EditLock, write_atomically};

/// How often the last-used times are written out (when some changed).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(60);

/// The sidecar file of the tokens file `tokens`.
pub fn sidecar_path(tokens: &Path) -> PathBuf {
    let mut name = tokens.file_name().map_or_else(|| OsString::from("tokens.json"), OsString::from);
    name.push(".last-used");
    tokens.with_file_name(name)
}

/// The last-used times not yet written out.
#[derive(Debug, Default)]
pub struct LastUsed {
    /// Unix seconds by token id, since the last flush.
    pending: Mutex<HashMap<String, i64>>,
    /// Whether a failed write was already logged.
    warned: AtomicBool,
}

impl LastUsed {
    /// Notes that token `id` was used at `unix`.
    pub fn touch(&self, id: &str, unix: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match pending.get_mut(id) {
            Some(time) => *time = (*time).max(unix),
            None => {
                pending.insert(id.to_owned(), unix);
            }
        }
    }

    /// Merges the pending times into `sidecar` (locked, replaced atomically); on failure they
    /// stay pending and the first failure is logged.
    pub fn flush(&self, sidecar: &Path) {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if pending.is_empty() {
            return;
        }
        if let Err(error) = merge_into(sidecar, &pending) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(file = %sidecar.display(), %error, "cannot record when access tokens were last used");
            }
            for (id, unix) in pending {
                self.touch(&id, unix);
            }
        }
    }
}

/// Adds `times` to the file (the later time of each id wins).
fn merge_into(sidecar: &Path, times: &HashMap<String, i64>) -> Result<(), TokensError> {
    let _lock = EditLock::acquire(sidecar)?;
    let mut stored = read_last_used(sidecar);
    for (id, unix) in times {
        let entry = stored.entry(id.clone()).or_insert(*unix);
        *entry = (*entry).max(*unix);
    }
    let text = serde_json::to_string(&stored)
        .map_err(|error| TokensError::Parse { path: sidecar.to_owned(), reason: error.to_string() })?;
    Ok(write_atomically(sidecar, &text)?)
}

/// The times in `sidecar` (empty when it is missing or unreadable: it is only informative).
pub fn read_last_used(sidecar: &Path) -> HashMap<String, i64> {
    std::fs::read_to_string(sidecar)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}
