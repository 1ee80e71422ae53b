//! [`RetryPolicy`]: how often and how long to retry a request the server did not process, or
//! an idempotent request whose answer was lost.

use std::time::{Duration, Instant};

/// Exponential backoff with full jitter, bounded in attempts and in total time; a server's
/// `Retry-After` is honoured (a request is never retried sooner than it asks).
///
/// ```
/// use std::time::Duration;
/// use map_bulk::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_attempts, 5);
/// // Tests retry at once:
/// let fast = RetryPolicy::immediate(5);
/// assert_eq!(fast.base_delay, Duration::ZERO);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included. Default 5.
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one. Default 250 ms.
    pub base_delay: Duration,
    /// The longest backoff. Default 10 s.
    pub max_delay: Duration,
    /// No retry starts later than this after the request's first attempt. Default 2 min.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Up to `max_attempts` attempts without backoff (a server's `Retry-After` still counts).
    pub fn immediate(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            max_elapsed: Duration::from_secs(120),
        }
    }

    /// The wait before attempt `attempt + 1`, or `None` to give up: after `attempt` attempts
    /// made since `started`, with the server's `retry_after` if it sent one.
    pub(crate) fn next_delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        started: Instant,
        jitter: &mut Jitter,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exponent = attempt.saturating_sub(1).min(30);
        let backoff = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let jittered = backoff.mul_f64(jitter.unit());
        let delay = jittered.max(retry_after.unwrap_or(Duration::ZERO));
        (started.elapsed() + delay <= self.max_elapsed).then_some(delay)
    }
}

/// Draws for jitter (SplitMix64, seeded from the clock; jitter needs spread, not secrecy).
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5EED);
        Jitter(seed)
    }

    /// A draw in [0, 1].
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(60),
        };
        let mut jitter = Jitter::new();
        let started = Instant::now();
        for attempt in 1..10 {
            let delay = policy
                .next_delay(attempt, None, started, &mut jitter)
                .unwrap();
            assert!(
                delay <= Duration::from_millis(100 << (attempt - 1)).min(Duration::from_secs(1))
            );
        }
        assert_eq!(
            policy.next_delay(10, None, started, &mut jitter),
            None,
            "attempts are bounded"
        );
        let delay = policy
            .next_delay(1, Some(Duration::from_secs(7)), started, &mut jitter)
            .unwrap();
        assert_eq!(
            delay,
            Duration::from_secs(7),
            "never sooner than Retry-After"
        );
        assert_eq!(
            policy.next_delay(1, Some(Duration::from_secs(61)), started, &mut jitter),
            None,
            "a Retry-After past the time budget gives up"
        );
        assert_eq!(
            RetryPolicy::never().next_delay(1, None, started, &mut jitter),
            None
        );
    }
}
