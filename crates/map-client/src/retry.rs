//! Retrying: [`RetryStrategy`] (whether and when to try a request again), [`StandardRetry`]
//! (the default: [`RetryPolicy`]'s backoff and a [`RetryBudget`] shared by a job's requests).

use std::sync::Mutex;
use std::time::Duration;

use crate::classify::Verdict;

/// Exponential backoff with full jitter, bounded in attempts and in total time; a server's
/// `Retry-After` is honoured (a request is never retried sooner than it asks).
///
/// ```
/// use std::time::Duration;
/// use map_client::RetryPolicy;
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

    /// The backoff before attempt `attempt + 1`, for a `unit` draw in [0, 1] (full jitter),
    /// never shorter than the server's `retry_after`.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let backoff = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        // A NaN draw (from an injected source) is no wait rather than a panic.
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        backoff
            .mul_f64(unit)
            .max(retry_after.unwrap_or(Duration::ZERO))
    }
}

/// One attempt of a request, as a [`RetryStrategy`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Attempts made so far, this one included (1 for the first).
    pub number: u32,
    /// Time since the request's first attempt started (the caller's clock).
    pub elapsed: Duration,
}

/// Whether to try a request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Send it again after this delay.
    After(Duration),
    /// Do not send it again.
    GiveUp(GiveUp),
}

/// Why a request is not sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "give_up", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GiveUp {
    /// What came back is not worth another attempt (processed, refused, …).
    NotRetryable,
    /// The policy's attempts are spent.
    Attempts {
        /// Attempts made.
        attempts: u32,
    },
    /// The next attempt would start later than the policy's `max_elapsed`.
    TimeBudget {
        /// Attempts made.
        attempts: u32,
    },
    /// The job's shared retry budget is spent: most of its requests are failing.
    RetryBudget {
        /// Attempts made.
        attempts: u32,
    },
    /// The job was interrupted (SIGINT, SIGTERM): no new attempt is started.
    Interrupted {
        /// Attempts made.
        attempts: u32,
    },
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GiveUp::NotRetryable => f.write_str("not retried"),
            GiveUp::Attempts { attempts } => write!(f, "gave up after {attempts} attempts"),
            GiveUp::TimeBudget { attempts } => write!(
                f,
                "gave up after {attempts} attempts (no time left to retry)"
            ),
            GiveUp::RetryBudget { attempts } => write!(
                f,
                "gave up after {attempts} attempts (the job's retry budget is spent: most requests are failing)"
            ),
            GiveUp::Interrupted { attempts } => write!(
                f,
                "not retried after {attempts} attempts: the job was interrupted"
            ),
        }
    }
}

/// Decides whether and when a request is tried again.
///
/// Only the decision: what may be sent again after an answer was lost (never a POST) is the
/// caller's rule, and the caller sleeps. One strategy serves all requests of a job, so it may
/// keep state across them (a [`RetryBudget`]).
///
/// ```
/// use std::time::Duration;
/// use map_client::{Attempt, GiveUp, RetryDecision, RetryStrategy, Verdict};
///
/// /// Retries only throttling, once, after what the server asked.
/// #[derive(Debug)]
/// struct OnceWhenThrottled;
///
/// impl RetryStrategy for OnceWhenThrottled {
///     fn retry(&self, verdict: &Verdict, attempt: Attempt) -> RetryDecision {
///         match verdict {
///             Verdict::NotProcessed { throttled: true, retry_after, .. } if attempt.number == 1 => {
///                 RetryDecision::After(retry_after.unwrap_or(Duration::from_secs(1)))
///             }
///             _ => RetryDecision::GiveUp(GiveUp::NotRetryable),
///         }
///     }
/// }
/// ```
pub trait RetryStrategy: Send + Sync + std::fmt::Debug {
    /// What to do after `attempt` came to `verdict`.
    fn retry(&self, verdict: &Verdict, attempt: Attempt) -> RetryDecision;

    /// `attempt` got an answer that settles the request (processed, or refused); a budget
    /// earns tokens back here. Does nothing by default.
    fn settled(&self, attempt: Attempt) {
        let _ = attempt;
    }
}

/// A token bucket shared by the requests of a job (as AWS SDKs' standard retry mode does):
/// each retry withdraws tokens ([`RetryBudget::RETRY_COST`], or
/// [`RetryBudget::LOST_ANSWER_COST`] after a lost answer), each request settled on its first
/// attempt puts one back, and a retried request that settles puts back [`RetryBudget::RETRY_COST`]
/// (once, however many retries it took). A job with occasional faults never
/// notices it; when most requests fail it runs dry and requests give up instead of every
/// one of them hammering a failing server.
///
/// ```
/// use map_client::RetryBudget;
///
/// let budget = RetryBudget::new(10);
/// assert!(budget.withdraw(RetryBudget::RETRY_COST));
/// assert!(budget.withdraw(RetryBudget::RETRY_COST));
/// assert!(!budget.withdraw(RetryBudget::RETRY_COST), "empty");
/// budget.deposit(RetryBudget::RETRY_COST);
/// assert_eq!(budget.tokens(), 5);
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    tokens: Mutex<u32>,
}

impl RetryBudget {
    /// The default capacity: room for 100 retries of requests that were not processed.
    pub const DEFAULT_CAPACITY: u32 = 500;
    /// Tokens a retry after a request was not processed costs.
    pub const RETRY_COST: u32 = 5;
    /// Tokens a retry after a lost answer (timeout, reset, 5xx) costs.
    pub const LOST_ANSWER_COST: u32 = 10;

    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        RetryBudget {
            capacity,
            tokens: Mutex::new(capacity),
        }
    }

    /// Tokens left.
    pub fn tokens(&self) -> u32 {
        *self.lock()
    }

    /// Takes `cost` tokens if there are that many.
    pub fn withdraw(&self, cost: u32) -> bool {
        let mut tokens = self.lock();
        match tokens.checked_sub(cost) {
            Some(left) => {
                *tokens = left;
                true
            }
            None => false,
        }
    }

    /// Puts back `amount` tokens, up to the capacity.
    pub fn deposit(&self, amount: u32) {
        let mut tokens = self.lock();
        *tokens = tokens.saturating_add(amount).min(self.capacity);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u32> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(Self::DEFAULT_CAPACITY)
    }
}

/// A draw in [0, 1] for jitter.
pub type RandomSource = Box<dyn FnMut() -> f64 + Send>;

/// The default strategy: [`RetryPolicy`]'s backoff and bounds for what was not processed or
/// whose answer was lost, and a [`RetryBudget`] for the whole job.
///
/// ```
/// use std::time::Duration;
/// use map_client::{Attempt, RetryDecision, RetryPolicy, RetryStrategy, StandardRetry, Verdict};
///
/// let strategy = StandardRetry::new(RetryPolicy::default()).with_random(Box::new(|| 1.0));
/// let busy = Verdict::NotProcessed { cause: "503".into(), retry_after: None, throttled: true };
/// let first = Attempt { number: 1, elapsed: Duration::ZERO };
/// assert_eq!(strategy.retry(&busy, first), RetryDecision::After(Duration::from_millis(250)));
/// ```
pub struct StandardRetry {
    policy: RetryPolicy,
    budget: Option<RetryBudget>,
    random: Mutex<RandomSource>,
}

impl std::fmt::Debug for StandardRetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardRetry")
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl StandardRetry {
    /// `policy` with a [`RetryBudget::default`] and jitter seeded from the clock.
    pub fn new(policy: RetryPolicy) -> Self {
        let mut jitter = Jitter::new();
        StandardRetry {
            policy,
            budget: Some(RetryBudget::default()),
            random: Mutex::new(Box::new(move || jitter.unit())),
        }
    }

    /// The same strategy drawing jitter from `random` (tests draw a fixed value).
    pub fn with_random(self, random: RandomSource) -> Self {
        StandardRetry {
            random: Mutex::new(random),
            ..self
        }
    }

    /// The same strategy with `budget` (`None`: no shared budget).
    pub fn with_budget(self, budget: Option<RetryBudget>) -> Self {
        StandardRetry { budget, ..self }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The budget, if any.
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.budget.as_ref()
    }

    fn draw(&self) -> f64 {
        let mut random = self.random.lock().unwrap_or_else(|e| e.into_inner());
        random()
    }
}

impl RetryStrategy for StandardRetry {
    fn retry(&self, verdict: &Verdict, attempt: Attempt) -> RetryDecision {
        let (retry_after, cost) = match verdict {
            Verdict::NotProcessed { retry_after, .. } => (*retry_after, RetryBudget::RETRY_COST),
            Verdict::Unreachable { .. } => (None, RetryBudget::RETRY_COST),
            Verdict::MayHaveBeenApplied { .. } => (None, RetryBudget::LOST_ANSWER_COST),
            _ => return RetryDecision::GiveUp(GiveUp::NotRetryable),
        };
        let attempts = attempt.number;
        if attempts >= self.policy.max_attempts {
            return RetryDecision::GiveUp(GiveUp::Attempts { attempts });
        }
        let delay = self.policy.backoff(attempts, retry_after, self.draw());
        // A server may ask for any wait (`Retry-After: 18446744073709551615`): no overflow.
        if attempt.elapsed.saturating_add(delay) > self.policy.max_elapsed {
            return RetryDecision::GiveUp(GiveUp::TimeBudget { attempts });
        }
        if let Some(budget) = &self.budget
            && !budget.withdraw(cost)
        {
            return RetryDecision::GiveUp(GiveUp::RetryBudget { attempts });
        }
        RetryDecision::After(delay)
    }

    fn settled(&self, attempt: Attempt) {
        if let Some(budget) = &self.budget {
            budget.deposit(if attempt.number == 1 {
                1
            } else {
                RetryBudget::RETRY_COST
            });
        }
    }
}

/// Draws for jitter (SplitMix64, seeded from the clock; jitter needs spread, not secrecy).
#[derive(Debug)]
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
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

    fn busy(retry_after: Option<Duration>) -> Verdict {
        Verdict::NotProcessed {
            cause: "503".into(),
            retry_after,
            throttled: true,
        }
    }

    fn at(number: u32, elapsed_secs: u64) -> Attempt {
        Attempt {
            number,
            elapsed: Duration::from_secs(elapsed_secs),
        }
    }

    fn exact(policy: RetryPolicy) -> StandardRetry {
        StandardRetry::new(policy)
            .with_random(Box::new(|| 1.0))
            .with_budget(None)
    }

    #[test]
    fn backoff_doubles_is_capped_and_honours_retry_after() {
        let strategy = exact(RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(60),
        });
        let delays: Vec<_> = (1..6)
            .map(|n| strategy.retry(&busy(None), at(n, 0)))
            .collect();
        let ms = |n| RetryDecision::After(Duration::from_millis(n));
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(800), ms(1000)]);
        assert_eq!(
            strategy.retry(&busy(Some(Duration::from_secs(7))), at(1, 0)),
            RetryDecision::After(Duration::from_secs(7)),
            "never sooner than Retry-After"
        );
        assert_eq!(
            strategy.retry(&busy(Some(Duration::from_secs(61))), at(1, 0)),
            RetryDecision::GiveUp(GiveUp::TimeBudget { attempts: 1 }),
            "a Retry-After past the time budget gives up"
        );
        assert_eq!(
            strategy.retry(&busy(None), at(10, 0)),
            RetryDecision::GiveUp(GiveUp::Attempts { attempts: 10 })
        );
    }

    #[test]
    fn full_jitter_draws_below_the_backoff() {
        let strategy = StandardRetry::new(RetryPolicy::default()).with_random(Box::new(|| 0.5));
        assert_eq!(
            strategy.retry(&busy(None), at(2, 0)),
            RetryDecision::After(Duration::from_millis(250))
        );
    }

    #[test]
    fn only_what_was_not_processed_or_lost_is_retried() {
        let strategy = exact(RetryPolicy::immediate(3));
        let refused = Verdict::Refused {
            status: Some(400),
            error: None,
            detail: "no".into(),
        };
        for verdict in [Verdict::Processed, refused] {
            assert_eq!(
                strategy.retry(&verdict, at(1, 0)),
                RetryDecision::GiveUp(GiveUp::NotRetryable)
            );
        }
        for verdict in [
            Verdict::Unreachable { cause: "x".into() },
            Verdict::MayHaveBeenApplied { cause: "x".into() },
        ] {
            assert_eq!(
                strategy.retry(&verdict, at(1, 0)),
                RetryDecision::After(Duration::ZERO)
            );
        }
        assert_eq!(
            exact(RetryPolicy::never()).retry(&busy(None), at(1, 0)),
            RetryDecision::GiveUp(GiveUp::Attempts { attempts: 1 })
        );
    }

    #[test]
    fn a_spent_budget_stops_retries_until_requests_settle_again() {
        let strategy = exact(RetryPolicy::immediate(100)).with_budget(Some(RetryBudget::new(12)));
        assert_eq!(
            strategy.retry(&busy(None), at(1, 0)),
            RetryDecision::After(Duration::ZERO)
        );
        assert_eq!(
            strategy.retry(&busy(None), at(2, 0)),
            RetryDecision::After(Duration::ZERO)
        );
        assert_eq!(
            strategy.retry(&busy(None), at(3, 0)),
            RetryDecision::GiveUp(GiveUp::RetryBudget { attempts: 3 })
        );
        let lost = Verdict::MayHaveBeenApplied { cause: "x".into() };
        strategy.settled(at(3, 0));
        assert_eq!(strategy.budget().map(RetryBudget::tokens), Some(7));
        assert_eq!(
            strategy.retry(&lost, at(1, 0)),
            RetryDecision::GiveUp(GiveUp::RetryBudget { attempts: 1 }),
            "a lost answer costs more"
        );
        for _ in 0..3 {
            strategy.settled(at(1, 0));
        }
        assert_eq!(
            strategy.retry(&lost, at(1, 0)),
            RetryDecision::After(Duration::ZERO)
        );
        strategy.settled(at(1, 0));
        for _ in 0..100 {
            strategy.settled(at(2, 0));
        }
        assert_eq!(
            strategy.budget().map(RetryBudget::tokens),
            Some(12),
            "never above capacity"
        );
    }

    #[test]
    fn the_default_budget_has_room_for_a_hundred_retries() {
        let strategy =
            exact(RetryPolicy::immediate(1000)).with_budget(Some(RetryBudget::default()));
        let granted = (1..=200)
            .take_while(|&n| {
                matches!(
                    strategy.retry(&busy(None), at(n, 0)),
                    RetryDecision::After(_)
                )
            })
            .count();
        assert_eq!(granted, 100);
    }

    #[test]
    fn a_server_asking_for_an_endless_wait_is_given_up_on_not_a_panic() {
        let strategy =
            StandardRetry::new(RetryPolicy::default()).with_random(Box::new(|| f64::NAN));
        let busy = Verdict::NotProcessed {
            cause: "429".into(),
            retry_after: Some(Duration::from_secs(u64::MAX)),
            throttled: true,
        };
        let attempt = Attempt {
            number: 1,
            elapsed: Duration::from_secs(1),
        };
        assert_eq!(
            strategy.retry(&busy, attempt),
            RetryDecision::GiveUp(GiveUp::TimeBudget { attempts: 1 })
        );
        assert_eq!(
            RetryPolicy::default().backoff(3, None, f64::NAN),
            Duration::ZERO
        );
    }
}
