//! [`Load`]: map-sim as a server with limits of its own — time added to every answer, time per
//! bulk operation, bulk requests processed at once, and bulk requests per second — so that
//! what a client does against a busy server across a network can be measured on loopback.
//!
//! A bulk request beyond the capacity or the rate is answered 429 with a `Retry-After` and is
//! not processed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How busy the simulator behaves. The default adds nothing and limits nothing.
///
/// ```
/// use std::time::Duration;
/// use map_sim::{Load, SimConfig};
///
/// // mAP Core across a network: 50 ms per answer, 200 µs per operation, four requests at once.
/// let config = SimConfig::default().with_load(Load {
///     latency: Duration::from_millis(50),
///     per_operation: Duration::from_micros(200),
///     capacity: Some(4),
///     rate: None,
/// });
/// assert_eq!(config.load.capacity, Some(4));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Load {
    /// Added to every answer (a request's round trip across a network). The load's times
    /// count from a request's arrival, so the simulator's own work is part of them.
    pub latency: Duration,
    /// Server time per operation of a bulk request, spent before it answers (its own work
    /// included, as a real server's is).
    pub per_operation: Duration,
    /// Bulk requests processed at once; one more is answered 429 with `Retry-After: 1`.
    pub capacity: Option<usize>,
    /// Bulk requests per second (a token bucket holding a second's worth); beyond it 429
    /// with a `Retry-After` that says when the next token is due, in whole seconds.
    pub rate: Option<f64>,
}

/// Why a bulk request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Throttle {
    /// Capacity requests were being processed already.
    Capacity,
    /// The rate's tokens were spent; the next is due in this many seconds (at least 1).
    Rate { retry_after_secs: u64 },
}

impl Throttle {
    /// The `Retry-After` to answer with.
    pub(crate) fn retry_after_secs(self) -> u64 {
        match self {
            Throttle::Capacity => 1,
            Throttle::Rate { retry_after_secs } => retry_after_secs,
        }
    }
}

/// A slot among [`Load::capacity`], held while the request is processed and answered.
pub(crate) type Slot = Option<OwnedSemaphorePermit>;

/// Admits bulk requests as [`Load`] says.
#[derive(Debug)]
pub(crate) struct Gate {
    load: Load,
    slots: Option<Arc<Semaphore>>,
    bucket: Option<Mutex<Bucket>>,
}

impl Gate {
    pub(crate) fn new(load: Load) -> Self {
        Gate {
            slots: load
                .capacity
                .map(|n| Arc::new(Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS)))),
            bucket: load
                .rate
                .filter(|rate| *rate > 0.0)
                .map(|rate| Mutex::new(Bucket::new(rate, Instant::now()))),
            load,
        }
    }

    /// What was configured.
    pub(crate) fn load(&self) -> &Load {
        &self.load
    }

    /// A slot for one bulk request, or why there is none now.
    pub(crate) fn admit(&self) -> Result<Slot, Throttle> {
        let slot = match &self.slots {
            Some(slots) => Some(
                slots
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| Throttle::Capacity)?,
            ),
            None => None,
        };
        if let Some(bucket) = &self.bucket {
            let mut bucket = bucket.lock().unwrap_or_else(|e| e.into_inner());
            bucket.take(Instant::now()).map_err(|due| Throttle::Rate {
                retry_after_secs: due.as_secs_f64().ceil().max(1.0) as u64,
            })?;
        }
        Ok(slot)
    }
}

/// A token bucket: `rate` tokens a second, holding at most a second's worth (at least one).
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: f64, now: Instant) -> Self {
        let burst = rate.max(1.0);
        Bucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes a token at `now`, or says how long until one is due.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // A rate so slow that the wait is beyond a Duration is a wait of forever.
            Err(Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate)
                .unwrap_or(Duration::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_bucket_gives_a_second_s_worth_then_one_token_per_interval() {
        let start = Instant::now();
        let mut bucket = Bucket::new(5.0, start);
        for _ in 0..5 {
            assert!(bucket.take(start).is_ok());
        }
        let due = bucket.take(start).unwrap_err();
        assert!((due.as_secs_f64() - 0.2).abs() < 1e-9, "{due:?}");
        assert!(bucket.take(start + Duration::from_millis(100)).is_err());
        assert!(bucket.take(start + Duration::from_millis(200)).is_ok());
        // Idle for long: still only a second's worth.
        let later = start + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(bucket.take(later).is_ok());
        }
        assert!(bucket.take(later).is_err());
    }

    #[test]
    fn a_slow_rate_still_admits_one_and_says_when_the_next_is_due() {
        let start = Instant::now();
        let mut bucket = Bucket::new(0.5, start);
        assert!(bucket.take(start).is_ok());
        assert_eq!(bucket.take(start), Err(Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn capacity_turns_away_one_more_until_a_slot_is_freed() {
        let gate = Gate::new(Load {
            capacity: Some(2),
            ..Load::default()
        });
        let first = gate.admit().unwrap();
        let _second = gate.admit().unwrap();
        assert_eq!(gate.admit().unwrap_err(), Throttle::Capacity);
        assert_eq!(Throttle::Capacity.retry_after_secs(), 1);
        drop(first);
        assert!(gate.admit().is_ok());
        assert!(Gate::new(Load::default()).admit().unwrap().is_none());
    }
}
