//! bcrypt verifications on the blocking pool, a bounded number at a time, with a bounded wait
//! for a free slot, and no work for requests that are gone.
//!
//! A running bcrypt cannot be interrupted: once it starts it holds its slot until it ends,
//! whether or not anyone still waits for the answer. What bounds that time is the cost cap
//! (`max_bcrypt_cost`, enforced when the file loads), not this module. What this module bounds
//! is everything before the start: a login waits at most `queue_timeout` for a slot (then it is
//! an outage, not a wrong password), and a login whose request was dropped (client gone, a
//! timeout around it) while it waited for a slot, or while its job sat in the blocking pool's
//! queue, never starts its bcrypt and gives its slot back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use super::hash::StoredHash;
use crate::secret::Secret;

/// Why a verification gave no answer (an outage of the backend).
#[derive(Debug, thiserror::Error)]
pub(super) enum SlotError {
    /// Every slot stayed busy for the whole `queue_timeout`.
    #[error("all {slots} bcrypt verification slots stayed busy for {waited:?} (verify_queue_timeout)")]
    QueueTimeout {
        /// How many verifications may run at once.
        slots: usize,
        /// How long the login waited.
        waited: Duration,
    },
    /// The verification ended without an answer (the semaphore closed, or bcrypt panicked).
    #[error("password verification failed: {0}")]
    Failed(&'static str),
}

/// The bounded set of bcrypt verifications that may run at once.
#[derive(Debug)]
pub(super) struct BcryptSlots {
    /// One permit per verification that may run at once.
    slots: Arc<Semaphore>,
    /// The number of permits.
    capacity: usize,
    /// How long a verification waits for a permit.
    queue_timeout: Duration,
    /// How many bcrypt verifications started (dummy ones included).
    runs: Arc<AtomicU64>,
}

impl BcryptSlots {
    /// `capacity` verifications at once (at least one), each waiting at most `queue_timeout`.
    pub(super) fn new(capacity: usize, queue_timeout: Duration) -> Self {
        let capacity = capacity.max(1);
        Self {
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            queue_timeout,
            runs: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many bcrypt verifications started so far.
    pub(super) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// How many slots are free now.
    #[cfg(test)]
    pub(super) fn free(&self) -> usize {
        self.slots.available_permits()
    }

    /// Checks `password` against the bcrypt `hash` on the blocking pool. Dropping the returned
    /// future before the bcrypt has started means it never starts.
    pub(super) async fn verify(&self, hash: &StoredHash, password: &Secret) -> Result<bool, SlotError> {
        let acquire = Arc::clone(&self.slots).acquire_owned();
        let permit = match tokio::time::timeout(self.queue_timeout, acquire).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(SlotError::Failed("the verification slots are closed")),
            Err(_elapsed) => {
                return Err(SlotError::QueueTimeout { slots: self.capacity, waited: self.queue_timeout });
            }
        };
        let (answer, answered) = oneshot::channel();
        let runs = Arc::clone(&self.runs);
        let (hash, password) = (hash.clone(), password.clone());
        // The handle is not kept: the answer comes through the channel, and a dropped request
        // shows up as its closed receiving end.
        drop(tokio::task::spawn_blocking(move || {
            if answer.is_closed() {
                return; // Nobody waits for this answer any more: do not start (frees the slot).
            }
            runs.fetch_add(1, Ordering::Relaxed);
            let verified = hash.verify(password.expose().as_bytes());
            drop(permit); // The slot is free before anyone sees the answer.
            let _ = answer.send(verified);
        }));
        answered.await.map_err(|_| SlotError::Failed("the verification ended without an answer"))
    }
}
