//! [`Pace`]: how fast a job's requests go, shared by all of them — the concurrency limit
//! (fixed, or found by the [`Limiter`] as the job runs, with the [`Spacing`] of attempts a
//! rate-limited server needs) and the job-wide hold: once the server answers 429 or 503 with
//! `Retry-After`, no request of the job sends an attempt before that time (a throttled server
//! is not hit again by the others before it asks).

use std::sync::Mutex;
use std::time::Duration;

use map_client::Verdict;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::limiter::Limiter;
use super::spacing::Spacing;

/// How many requests a job keeps in flight.
///
/// ```
/// use map_bulk::Concurrency;
///
/// assert_eq!(Concurrency::from(4), Concurrency::Fixed(4));
/// assert_eq!("auto".parse::<Concurrency>(), Ok(Concurrency::Auto { max: 8 }));
/// assert_eq!("3".parse::<Concurrency>(), Ok(Concurrency::Fixed(3)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Concurrency {
    /// Exactly this many (at least one).
    Fixed(usize),
    /// Start at one and find the server's capacity while the job runs, never above `max`:
    /// grow while answers come back at steady latency, halve on 429/503 or rising latency,
    /// and stay below the level that drew a 429.
    Auto {
        /// The most requests in flight.
        max: usize,
    },
}

impl Concurrency {
    /// The default `max` of [`Concurrency::Auto`].
    pub const DEFAULT_MAX: usize = 8;
}

impl From<usize> for Concurrency {
    fn from(n: usize) -> Self {
        Concurrency::Fixed(n)
    }
}

/// A `--concurrency` that is neither `auto` nor a number from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is neither auto nor a number from 1")]
pub struct ConcurrencyParseError(pub String);

impl std::str::FromStr for Concurrency {
    type Err = ConcurrencyParseError;

    /// `auto` (with [`Concurrency::DEFAULT_MAX`]) or a number from 1.
    fn from_str(text: &str) -> Result<Self, ConcurrencyParseError> {
        match text.trim() {
            "auto" => Ok(Concurrency::Auto {
                max: Concurrency::DEFAULT_MAX,
            }),
            number => match number.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Concurrency::Fixed(n)),
                _ => Err(ConcurrencyParseError(text.to_owned())),
            },
        }
    }
}

/// An attempt counted in flight, from [`Pace::attempt_starts`] until [`Attempting::ended`]
/// says what it came to — or until it is dropped (its request's task died), which frees its
/// place so that the job does not wait for it forever.
#[derive(Debug)]
pub(crate) struct Attempting<'a> {
    pace: &'a Pace,
    start: AttemptStart,
    ended: bool,
}

impl Attempting<'_> {
    /// The attempt, of `operations`, came to `verdict`.
    pub(crate) fn ended(mut self, operations: usize, verdict: &Verdict) {
        self.ended = true;
        self.pace.attempt_ended(self.start, operations, verdict);
    }
}

impl Drop for Attempting<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let mut state = self.pace.state();
            state.attempts_in_flight = state.attempts_in_flight.saturating_sub(1);
            drop(state);
            self.pace.released.notify_waiters();
        }
    }
}

/// When and how an attempt started.
#[derive(Debug, Clone, Copy)]
struct AttemptStart {
    /// Attempts in flight with this one.
    level: usize,
    epoch: u64,
    at: Instant,
}

/// The pace of one run.
#[derive(Debug)]
pub(crate) struct Pace {
    fixed: usize,
    state: Mutex<State>,
    /// Woken when an attempt ends.
    released: Notify,
}

/// What an attempt that cannot start yet waits for.
enum Wait {
    Until(Instant),
    ForRelease,
}

#[derive(Debug)]
struct State {
    limiter: Option<Limiter>,
    /// Under `Auto`, the spacing of attempt starts a rate-limited server needs.
    spacing: Option<Spacing>,
    hold_until: Option<Instant>,
    attempts_in_flight: usize,
}

impl Pace {
    pub(crate) fn new(concurrency: Concurrency) -> Self {
        let (fixed, limiter) = match concurrency {
            Concurrency::Fixed(n) => (n.max(1), None),
            Concurrency::Auto { max } => (max.max(1), Some(Limiter::new(max))),
        };
        let spacing = limiter.as_ref().map(|_| Spacing::default());
        Pace {
            fixed,
            state: Mutex::new(State {
                limiter,
                spacing,
                hold_until: None,
                attempts_in_flight: 0,
            }),
            released: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether one more request may start while `in_flight` are (requests in flight above a
    /// lowered limit finish undisturbed).
    pub(crate) fn admits(&self, in_flight: usize) -> bool {
        in_flight < self.limit()
    }

    /// Requests that may be in flight now.
    pub(crate) fn limit(&self) -> usize {
        self.state()
            .limiter
            .as_ref()
            .map_or(self.fixed, Limiter::limit)
    }

    /// Waits until the server's last `Retry-After` has passed and fewer attempts than the
    /// limit are in flight, then counts one more. (The driver admits requests within the
    /// limit; this holds their retries to it too, so that requests admitted before the limit
    /// was lowered do not all retry at once.)
    pub(crate) async fn attempt_starts(&self) -> Attempting<'_> {
        loop {
            let released = self.released.notified();
            let wait = {
                let mut state = self.state();
                let limit = state.limiter.as_ref().map_or(self.fixed, Limiter::limit);
                let now = Instant::now();
                let hold = state.hold_until.filter(|until| *until > now);
                let room = state.attempts_in_flight < limit;
                let spaced = match (&mut state.spacing, hold) {
                    (Some(spacing), None) if room => spacing.reserve(now),
                    _ => Ok(()),
                };
                match (hold, spaced) {
                    (Some(until), _) => Wait::Until(until),
                    _ if !room => Wait::ForRelease,
                    (None, Err(at)) => Wait::Until(at),
                    _ => {
                        state.attempts_in_flight += 1;
                        return Attempting {
                            pace: self,
                            start: AttemptStart {
                                level: state.attempts_in_flight,
                                epoch: state.limiter.as_ref().map_or(0, Limiter::epoch),
                                at: Instant::now(),
                            },
                            ended: false,
                        };
                    }
                }
            };
            match wait {
                Wait::Until(until) => tokio::time::sleep_until(until).await,
                Wait::ForRelease => released.await,
            }
        }
    }

    /// The attempt `start` of `operations` came to `verdict`: a throttle holds the job for
    /// its `Retry-After` and lowers an adaptive limit; an answer processed feeds its latency.
    fn attempt_ended(&self, start: AttemptStart, operations: usize, verdict: &Verdict) {
        let now = Instant::now();
        let mut state = self.state();
        let before = state.limiter.as_ref().map(Limiter::limit);
        state.attempts_in_flight = state.attempts_in_flight.saturating_sub(1);
        match verdict {
            Verdict::NotProcessed {
                throttled: true,
                retry_after,
                ..
            } => {
                if let Some(after) = retry_after {
                    let until = now + (*after).min(MAX_HOLD);
                    state.hold_until = Some(state.hold_until.map_or(until, |u| u.max(until)));
                }
                if let Some(limiter) = &mut state.limiter {
                    limiter.throttled(start.epoch, start.level);
                }
                // Even one attempt at a time was too many: the server limits a rate, not
                // requests at once (a throttle at a higher level is the limiter's).
                if let (Some(spacing), 1) = (&mut state.spacing, start.level) {
                    spacing.throttled(now);
                }
            }
            Verdict::Processed => {
                if let Some(limiter) = &mut state.limiter {
                    limiter.answered(start.epoch, operations, now - start.at);
                }
                if let Some(spacing) = &mut state.spacing {
                    spacing.accepted();
                }
            }
            _ => {}
        }
        let after = state.limiter.as_ref().map(Limiter::limit);
        if after != before {
            tracing::debug!(?after, latency = ?(now - start.at), ?verdict, "concurrency limit");
        }
        drop(state);
        self.released.notify_waiters();
    }
}

/// The longest a server's `Retry-After` holds the whole job (each request's own retry still
/// waits as its strategy says; a server asking for hours is given up on there).
const MAX_HOLD: Duration = Duration::from_secs(300);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn throttle(retry_after: Option<Duration>) -> Verdict {
        Verdict::NotProcessed {
            cause: "429".into(),
            retry_after,
            throttled: true,
        }
    }

    #[test]
    fn concurrency_reads_auto_or_a_number() {
        assert_eq!("auto".parse(), Ok(Concurrency::Auto { max: 8 }));
        assert_eq!(" 4 ".parse(), Ok(Concurrency::Fixed(4)));
        assert!("0".parse::<Concurrency>().is_err());
        assert!(
            "fast"
                .parse::<Concurrency>()
                .unwrap_err()
                .to_string()
                .contains("fast")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_holds_every_attempt_of_the_job_until_it_passes() {
        let pace = Pace::new(Concurrency::Fixed(4));
        let first = pace.attempt_starts().await;
        let second = pace.attempt_starts().await;
        first.ended(10, &throttle(Some(Duration::from_secs(3))));
        // The other attempt was in flight already; the next one of any request waits.
        second.ended(10, &Verdict::Processed);
        let before = Instant::now();
        let third = pace.attempt_starts().await;
        assert_eq!(Instant::now() - before, Duration::from_secs(3));
        assert_eq!(third.start.level, 1);
        assert_eq!(pace.limit(), 4, "a fixed limit stays");
    }

    #[tokio::test(start_paused = true)]
    async fn an_adaptive_limit_grows_on_answers_and_halves_on_a_throttle() {
        let pace = Pace::new(Concurrency::Auto { max: 8 });
        assert_eq!(pace.limit(), 1);
        for _ in 0..3 {
            let attempt = pace.attempt_starts().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            attempt.ended(10, &Verdict::Processed);
        }
        assert_eq!(pace.limit(), 4);
        let mut attempts = vec![
            pace.attempt_starts().await,
            pace.attempt_starts().await,
            pace.attempt_starts().await,
            pace.attempt_starts().await,
        ];
        attempts.pop().unwrap().ended(10, &throttle(None));
        assert_eq!(pace.limit(), 2);
        for attempt in attempts {
            attempt.ended(10, &throttle(None));
        }
        assert_eq!(pace.limit(), 2, "one reduction for attempts sent together");
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_dropped_without_an_end_frees_its_place() {
        let pace = Pace::new(Concurrency::Auto { max: 8 });
        let attempt = pace.attempt_starts().await;
        // The limit is one: the next waits until the first ends, or is dropped (as when its
        // request's task dies).
        drop(attempt);
        let second = tokio::time::timeout(Duration::from_secs(60), pace.attempt_starts()).await;
        assert!(second.is_ok(), "the dropped attempt's place was freed");
    }
}
