//! The failure floor: how long a failed login takes at least, so the answer time does not tell
//! which backend knew the user (a wrong password at a fast first backend would otherwise answer
//! much sooner than an unknown user, who goes through every backend).
//!
//! It is a running average (weight 1/8 per sample) of how long failed runs that asked every
//! backend took, capped at [`MAX_FLOOR`]. It starts at [`INITIAL_FLOOR`] (about a bcrypt at
//! cost 10), so a fresh server does not answer a wrong password at a fast backend much sooner
//! than an unknown user either, and moves from there towards what failures really cost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest a failure is held back.
pub(super) const MAX_FLOOR: Duration = Duration::from_secs(2);
/// The floor before any full-chain failure was measured.
pub(super) const INITIAL_FLOOR: Duration = Duration::from_millis(100);

/// The running average of full-chain failure times, in nanoseconds.
#[derive(Debug)]
pub(super) struct FailureFloor {
    /// The average.
    nanos: AtomicU64,
}

impl Default for FailureFloor {
    fn default() -> Self {
        Self { nanos: AtomicU64::new(nanos(INITIAL_FLOOR)) }
    }
}

impl FailureFloor {
    /// Takes in how long one failed run through every backend took.
    pub(super) fn observe(&self, took: Duration) {
        let sample = nanos(took.min(MAX_FLOOR));
        let _ = self.nanos.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |average| {
            Some(average - average / 8 + sample / 8)
        });
    }

    /// How long a failed login takes at least, from the start of the request.
    pub(super) fn current(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_initial_floor_then_averages_and_caps() {
        let floor = FailureFloor::default();
        assert_eq!(floor.current(), INITIAL_FLOOR);
        floor.observe(Duration::from_millis(20));
        assert_eq!(floor.current(), Duration::from_millis(90), "one eighth towards the sample");
        for _ in 0..100 {
            floor.observe(Duration::from_millis(20));
        }
        let settled = floor.current();
        assert!(settled >= Duration::from_millis(20) && settled < Duration::from_millis(21), "{settled:?}");
        for _ in 0..100 {
            floor.observe(Duration::from_secs(3600));
        }
        assert!(floor.current() <= MAX_FLOOR, "a huge sample counts as the cap");
    }
}
