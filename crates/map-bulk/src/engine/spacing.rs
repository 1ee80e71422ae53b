//! [`Spacing`]: the least time between attempt starts under `--concurrency auto`, for a
//! server that limits requests per second rather than requests at once — against which even
//! one request in flight can be too many. From the second throttle on it knows the rate the
//! server accepted between two throttles (the first may have been a burst) and spaces
//! attempts to it; a throttle while spacing widens the spacing by a tenth, and each answer
//! processed narrows it by a thousandth, so that a server that speeds up is followed.
//!
//! Pure: the caller gives the time.

use std::time::Duration;

use tokio::time::Instant;

/// Widening on a throttle while spacing, and narrowing per answer.
const WIDEN: f64 = 1.1;
const NARROW: f64 = 0.999;
/// The widest spacing (a server down for a while must not leave the job crawling after).
const MAX_INTERVAL: Duration = Duration::from_secs(10);

/// The spacing of attempt starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spacing {
    interval: Duration,
    next_start: Option<Instant>,
    last_throttle: Option<Instant>,
    accepted_since_throttle: u32,
}

impl Spacing {
    /// The time between attempt starts now (zero: none).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes the start of an attempt at `now`, or says when it may start.
    pub(crate) fn reserve(&mut self, now: Instant) -> Result<(), Instant> {
        match self.next_start {
            Some(next) if next > now => Err(next),
            _ => {
                if !self.interval.is_zero() {
                    self.next_start = Some(now + self.interval);
                }
                Ok(())
            }
        }
    }

    /// An attempt was processed.
    pub(crate) fn accepted(&mut self) {
        self.accepted_since_throttle = self.accepted_since_throttle.saturating_add(1);
        self.interval = self.interval.mul_f64(NARROW);
    }

    /// An attempt was throttled at `now`.
    pub(crate) fn throttled(&mut self, now: Instant) {
        if !self.interval.is_zero() {
            self.interval = self.interval.mul_f64(WIDEN).min(MAX_INTERVAL);
        } else if let Some(last) = self.last_throttle {
            let window = now.saturating_duration_since(last);
            // Throttles that come together (answers to attempts sent together) say nothing
            // about the rate.
            if self.accepted_since_throttle >= 2 && !window.is_zero() {
                self.interval = (window / self.accepted_since_throttle).min(MAX_INTERVAL);
            }
        }
        self.last_throttle = Some(now);
        self.accepted_since_throttle = 0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn no_spacing_until_two_throttles_tell_the_rate() {
        let start = Instant::now();
        let mut spacing = Spacing::default();
        assert!(spacing.reserve(start).is_ok());
        assert!(spacing.reserve(start).is_ok(), "no spacing yet");
        spacing.throttled(start);
        spacing.throttled(start);
        assert_eq!(spacing.interval(), Duration::ZERO, "throttles together");
        for _ in 0..10 {
            spacing.accepted();
        }
        // Ten accepted in the two seconds between throttles: five a second.
        spacing.throttled(start + Duration::from_secs(2));
        assert_eq!(spacing.interval(), Duration::from_millis(200));
        let now = start + Duration::from_secs(3);
        assert!(spacing.reserve(now).is_ok());
        assert_eq!(spacing.reserve(now), Err(now + Duration::from_millis(200)));
    }

    #[test]
    fn a_throttle_while_spacing_widens_it_and_answers_narrow_it() {
        let start = Instant::now();
        let mut spacing = Spacing::default();
        spacing.throttled(start);
        spacing.accepted();
        spacing.accepted();
        spacing.throttled(start + Duration::from_secs(1));
        assert_eq!(spacing.interval(), Duration::from_millis(500));
        spacing.throttled(start + Duration::from_secs(2));
        assert_eq!(spacing.interval(), Duration::from_millis(550));
        for _ in 0..1000 {
            spacing.accepted();
        }
        assert!(spacing.interval() < Duration::from_millis(210));
    }
}
