//! Time is passed in: logic takes a [`Clock`] (or a `now` argument) so expiry is testable.

use std::time::Duration;

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock; the only place regent reads the wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock shifted into the past by a fixed amount (tests mint already-expired tokens).
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    /// How far into the past this clock runs.
    pub behind: Duration,
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        SystemClock.now() - self.behind
    }
}
