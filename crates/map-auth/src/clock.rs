//! Where time stamps come from: the system clock, or a fixed one in tests.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current Unix time in whole seconds.
pub trait Clock: Send + Sync + Debug {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn unix_seconds(&self) -> i64;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970: negative seconds.
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock that says what it is told, for tests. Clones share the same time.
///
/// ```
/// use map_auth::{Clock, FixedClock};
///
/// let clock = FixedClock::at(1_700_000_000);
/// clock.advance(5);
/// assert_eq!(clock.unix_seconds(), 1_700_000_005);
/// ```
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    /// A clock stopped at `unix_seconds`.
    pub fn at(unix_seconds: i64) -> Self {
        FixedClock(Arc::new(AtomicI64::new(unix_seconds)))
    }

    /// Moves the clock (and its clones) forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn unix_seconds(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The time stamp a request signs: the clock's Unix seconds as a decimal string.
pub fn time_stamp(clock: &dyn Clock) -> String {
    clock.unix_seconds().to_string()
}
