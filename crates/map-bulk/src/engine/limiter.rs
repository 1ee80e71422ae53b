//! [`Limiter`]: the concurrency limit of `--concurrency auto`, found while the job runs the
//! way TCP finds a path's capacity. Starting at one request in flight, it grows by one for
//! each answer that comes back at steady latency (doubling per round trip), halves on a
//! throttle (429/503) or on a latency twice the lowest seen, and remembers the level that
//! drew a throttle — TCP's slow-start threshold — to stay below it, probing that level again
//! only after [`PROBE_AFTER`] steady answers, so that throttles stay a small share of a long
//! job.
//!
//! Pure: no clock, no I/O. What it is told comes from each attempt ([`super::pace`]).

use std::time::Duration;

/// Steady answers at the remembered level before trying one more request in flight.
pub(crate) const PROBE_AFTER: u32 = 1000;

/// A latency this many times the lowest seen, and this much above it, means the server
/// queues: back off. (The margin keeps loopback's jitter on a millisecond base from counting.)
const LATENCY_TOLERANCE: f64 = 2.0;
const LATENCY_MARGIN: Duration = Duration::from_millis(25);

/// The adaptive concurrency limit.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    limit: f64,
    max: usize,
    /// The level in flight that drew the last throttle: the limit stays below it.
    ceiling: Option<usize>,
    /// The lowest latency of a full-sized request, and the size that counts as full.
    base_latency: Option<Duration>,
    largest_request: usize,
    /// Steady answers at the remembered level since the last change.
    steady: u32,
    /// Bumped at each decrease: answers to attempts sent before it do not decrease again
    /// (one reduction per round trip, as TCP does).
    epoch: u64,
}

impl Limiter {
    /// A limit starting at one, never above `max` (at least one).
    pub(crate) fn new(max: usize) -> Self {
        Limiter {
            limit: 1.0,
            max: max.max(1),
            ceiling: None,
            base_latency: None,
            largest_request: 0,
            steady: 0,
            epoch: 0,
        }
    }

    /// Requests that may be in flight now.
    pub(crate) fn limit(&self) -> usize {
        (self.limit as usize).clamp(1, self.max)
    }

    /// The epoch an attempt starting now belongs to.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// An attempt of `operations` sent in `epoch` was answered after `latency`.
    pub(crate) fn answered(&mut self, epoch: u64, operations: usize, latency: Duration) {
        if epoch != self.epoch {
            // Sent before the last decrease: it says nothing about the level now.
            return;
        }
        if self.queueing(operations, latency) {
            self.decrease(epoch);
            return;
        }
        let room = match self.ceiling {
            Some(ceiling) => ceiling.saturating_sub(1).max(1),
            None => self.max,
        };
        if self.limit + 1.0 <= room as f64 {
            self.limit += 1.0;
            return;
        }
        self.limit = self.limit.max(room as f64);
        self.steady += 1;
        if self.steady >= PROBE_AFTER {
            // Long steady below the level that was throttled: try it again.
            self.steady = 0;
            self.ceiling = self
                .ceiling
                .map(|c| c.saturating_add(1).min(self.max.saturating_add(1)));
        }
    }

    /// An attempt sent in `epoch` with `level` attempts in flight (itself included) was
    /// throttled: remember the lowest level that drew a throttle, and halve (once for all
    /// the attempts sent before the last decrease). A throttle of a lone attempt sets no
    /// level — one in flight is the least there is; a rate-limited server is met by spacing
    /// attempts instead — so that a passing 503 does not hold the job at one for good.
    pub(crate) fn throttled(&mut self, epoch: u64, level: usize) {
        if level >= 2 {
            self.ceiling = Some(self.ceiling.map_or(level, |c| c.min(level)));
        }
        self.decrease(epoch);
    }

    /// Whether `latency` says the server queues: twice the lowest latency of a full-sized
    /// request (at least half the largest sent; smaller ones answer faster and would set a
    /// base the others cannot meet).
    fn queueing(&mut self, operations: usize, latency: Duration) -> bool {
        if operations > self.largest_request {
            // Larger than any before: the lowest latency so far was a smaller request's.
            self.largest_request = operations;
            self.base_latency = None;
        }
        if operations.saturating_mul(2) < self.largest_request {
            return false;
        }
        let base = *self.base_latency.get_or_insert(latency);
        if latency < base {
            self.base_latency = Some(latency);
        }
        latency > base.mul_f64(LATENCY_TOLERANCE) + LATENCY_MARGIN
    }

    fn decrease(&mut self, epoch: u64) {
        if epoch != self.epoch {
            return;
        }
        self.epoch += 1;
        self.steady = 0;
        self.limit = (self.limit / 2.0).max(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEADY: Duration = Duration::from_millis(150);

    fn answer(limiter: &mut Limiter) {
        let epoch = limiter.epoch();
        limiter.answered(epoch, 500, STEADY);
    }

    #[test]
    fn it_grows_by_one_per_steady_answer_up_to_the_maximum() {
        let mut limiter = Limiter::new(8);
        assert_eq!(limiter.limit(), 1);
        for expected in 2..=8 {
            answer(&mut limiter);
            assert_eq!(limiter.limit(), expected);
        }
        answer(&mut limiter);
        assert_eq!(limiter.limit(), 8, "never above the maximum");
    }

    #[test]
    fn a_throttle_halves_it_and_it_stays_below_the_level_that_drew_it() {
        let mut limiter = Limiter::new(8);
        for _ in 0..4 {
            answer(&mut limiter);
        }
        assert_eq!(limiter.limit(), 5);
        let epoch = limiter.epoch();
        limiter.throttled(epoch, 5);
        assert_eq!(limiter.limit(), 2);
        // Others sent with it are answered 429 too: one reduction, not one each, but the
        // lowest level throttled is the one to stay below.
        limiter.throttled(epoch, 5);
        limiter.throttled(epoch, 4);
        assert_eq!(limiter.limit(), 2);
        for _ in 0..10 {
            answer(&mut limiter);
        }
        assert_eq!(
            limiter.limit(),
            3,
            "below the lowest level that was throttled"
        );
    }

    #[test]
    fn it_probes_the_throttled_level_only_after_long_steadiness() {
        let mut limiter = Limiter::new(8);
        for _ in 0..4 {
            answer(&mut limiter);
        }
        let epoch = limiter.epoch();
        limiter.throttled(epoch, 5);
        for _ in 0..(PROBE_AFTER + 2) {
            assert!(limiter.limit() <= 4);
            answer(&mut limiter);
        }
        answer(&mut limiter);
        assert_eq!(limiter.limit(), 5, "probing once more");
    }

    #[test]
    fn rising_latency_of_full_sized_requests_backs_off() {
        let mut limiter = Limiter::new(8);
        for _ in 0..5 {
            answer(&mut limiter);
        }
        assert_eq!(limiter.limit(), 6);
        // A small request answers fast: it sets no base for the others.
        let epoch = limiter.epoch();
        limiter.answered(epoch, 10, Duration::from_millis(20));
        answer(&mut limiter);
        assert_eq!(limiter.limit(), 8);
        let epoch = limiter.epoch();
        limiter.answered(epoch, 500, STEADY * 3);
        assert_eq!(limiter.limit(), 4);
    }

    #[test]
    fn a_small_first_request_sets_no_base_for_larger_ones() {
        let mut limiter = Limiter::new(8);
        let epoch = limiter.epoch();
        limiter.answered(epoch, 1, Duration::from_millis(20));
        for _ in 0..3 {
            answer(&mut limiter);
        }
        assert_eq!(
            limiter.limit(),
            5,
            "150 ms for 500 is steady, not 7x the 1-op base"
        );
    }

    #[test]
    fn answers_to_attempts_sent_before_a_decrease_do_not_undo_it() {
        let mut limiter = Limiter::new(8);
        for _ in 0..7 {
            answer(&mut limiter);
        }
        let before = limiter.epoch();
        limiter.throttled(before, 6);
        assert_eq!(limiter.limit(), 4);
        limiter.answered(before, 500, STEADY);
        assert_eq!(limiter.limit(), 4);
    }

    #[test]
    fn a_lone_throttled_attempt_does_not_hold_the_job_at_one() {
        let mut limiter = Limiter::new(8);
        let epoch = limiter.epoch();
        limiter.throttled(epoch, 1);
        for _ in 0..7 {
            answer(&mut limiter);
        }
        assert_eq!(limiter.limit(), 8);
    }

    #[test]
    fn it_never_goes_below_one() {
        let mut limiter = Limiter::new(0);
        for _ in 0..5 {
            let epoch = limiter.epoch();
            limiter.throttled(epoch, 1);
        }
        assert_eq!(limiter.limit(), 1);
        answer(&mut limiter);
        assert_eq!(limiter.limit(), 1, "max 0 is max 1");
    }
}
