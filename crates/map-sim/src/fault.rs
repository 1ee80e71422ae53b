//! Fault injection: which bulk requests misbehave, and how.
//!
//! A [`FaultPlan`] is a list of rules, each a [`Fault`] and when it strikes: on the N-th bulk
//! request (counting from 1), or on a share of them drawn from a seeded generator, so a
//! schedule is reproducible. Only `POST …/Bulk` requests count and are faulted.
//!
//! The plan also reads from a compact spec (`mapctl serve --faults SPEC`): comma-separated
//! items `KIND@N` (on request N), `KIND%P` (on P percent of requests) and `seed=S`, where KIND
//! is `429[:SECS]`, `503[:SECS]` (with `Retry-After: SECS`, default 1), `500`, `502`,
//! `delay:MS`, `close-before`, `close-after` or `truncate`.
//!
//! ```
//! use map_sim::{Fault, FaultPlan};
//!
//! let plan: FaultPlan = "503:2@1,close-after@3,500%10,seed=7".parse()?;
//! assert_eq!(plan.rules.len(), 3);
//! assert_eq!(plan.rules[0].fault, Fault::Unavailable { retry_after_secs: 2 });
//! assert_eq!(plan.seed, 7);
//! # Ok::<(), map_sim::FaultSpecError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One way a bulk request can go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After`; nothing applied.
    TooManyRequests {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After`; nothing applied.
    Unavailable {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// 500; nothing applied.
    InternalError,
    /// 502; nothing applied.
    BadGateway,
    /// Wait this long, then process normally.
    Delay(Duration),
    /// Close the connection before reading the request; nothing applied.
    CloseBeforeReading,
    /// Apply the request, then close the connection without answering: the hardest case for
    /// a client, which cannot know what was applied.
    CloseAfterApplying,
    /// Apply the request, then send only part of the response body.
    TruncatedBody,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TooManyRequests { retry_after_secs } => write!(f, "429:{retry_after_secs}"),
            Fault::Unavailable { retry_after_secs } => write!(f, "503:{retry_after_secs}"),
            Fault::InternalError => f.write_str("500"),
            Fault::BadGateway => f.write_str("502"),
            Fault::Delay(delay) => write!(f, "delay:{}", delay.as_millis()),
            Fault::CloseBeforeReading => f.write_str("close-before"),
            Fault::CloseAfterApplying => f.write_str("close-after"),
            Fault::TruncatedBody => f.write_str("truncate"),
        }
    }
}

/// When a rule strikes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// On the N-th bulk request (the first is 1).
    OnRequest(u64),
    /// On each bulk request with this probability (0.0 to 1.0).
    Rate(f64),
}

/// A fault and when it strikes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRule {
    /// When.
    pub trigger: Trigger,
    /// What.
    pub fault: Fault,
}

/// The faults of a run. Rules for a request number win over rates; among rates, the first
/// that fires wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    /// The rules, in the order they are tried.
    pub rules: Vec<FaultRule>,
    /// Seeds the generator that rates draw from.
    pub seed: u64,
}

impl FaultPlan {
    /// A plan with no faults.
    pub fn none() -> Self {
        FaultPlan::default()
    }

    /// Adds `fault` on the `request`-th bulk request.
    pub fn on_request(mut self, request: u64, fault: Fault) -> Self {
        self.rules.push(FaultRule {
            trigger: Trigger::OnRequest(request),
            fault,
        });
        self
    }

    /// Adds `fault` on each bulk request with probability `rate`.
    pub fn at_rate(mut self, rate: f64, fault: Fault) -> Self {
        self.rules.push(FaultRule {
            trigger: Trigger::Rate(rate),
            fault,
        });
        self
    }

    /// Sets the seed of the generator that rates draw from.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// A fault spec that could not be read; says which item and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault spec item {item:?}: {reason}")]
pub struct FaultSpecError {
    /// The item of the spec that was wrong.
    pub item: String,
    /// What was wrong with it.
    pub reason: String,
}

impl FromStr for FaultPlan {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, FaultSpecError> {
        let mut plan = FaultPlan::default();
        for item in spec
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let error = |reason: &str| FaultSpecError {
                item: item.to_owned(),
                reason: reason.to_owned(),
            };
            if let Some(seed) = item.strip_prefix("seed=") {
                plan.seed = seed
                    .parse()
                    .map_err(|_| error("the seed must be a whole number"))?;
            } else if let Some((kind, request)) = item.split_once('@') {
                let request: u64 = request
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| error("the request number after '@' must be 1 or more"))?;
                plan = plan.on_request(request, parse_fault(kind).map_err(|r| error(&r))?);
            } else if let Some((kind, percent)) = item.split_once('%') {
                let percent: f64 = percent
                    .parse()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| error("the percentage after '%' must be between 0 and 100"))?;
                plan = plan.at_rate(percent / 100.0, parse_fault(kind).map_err(|r| error(&r))?);
            } else {
                return Err(error("expected KIND@N, KIND%P or seed=S"));
            }
        }
        Ok(plan)
    }
}

fn parse_fault(kind: &str) -> Result<Fault, String> {
    let (name, argument) = match kind.split_once(':') {
        Some((name, argument)) => (name, Some(argument)),
        None => (kind, None),
    };
    let number = |default: u64| -> Result<u64, String> {
        argument.map_or(Ok(default), |a| {
            a.parse()
                .map_err(|_| format!("{a:?} is not a whole number"))
        })
    };
    let no_argument = |fault: Fault| match argument {
        None => Ok(fault),
        Some(_) => Err(format!("{name} takes no argument")),
    };
    match name {
        "429" => Ok(Fault::TooManyRequests {
            retry_after_secs: number(1)?,
        }),
        "503" => Ok(Fault::Unavailable {
            retry_after_secs: number(1)?,
        }),
        "500" => no_argument(Fault::InternalError),
        "502" => no_argument(Fault::BadGateway),
        "delay" => match argument {
            Some(_) => Ok(Fault::Delay(Duration::from_millis(number(0)?))),
            None => Err("delay needs milliseconds, e.g. delay:200".to_owned()),
        },
        "close-before" => no_argument(Fault::CloseBeforeReading),
        "close-after" => no_argument(Fault::CloseAfterApplying),
        "truncate" => no_argument(Fault::TruncatedBody),
        _ => Err(format!(
            "unknown fault {name:?}: expected 429, 503, 500, 502, delay:MS, close-before, close-after or truncate"
        )),
    }
}

/// Decides, request by request, which fault strikes.
#[derive(Debug)]
pub(crate) struct FaultSchedule {
    plan: FaultPlan,
    requests: AtomicU64,
    generator: Mutex<SplitMix64>,
}

impl FaultSchedule {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        let generator = Mutex::new(SplitMix64(plan.seed));
        FaultSchedule {
            plan,
            requests: AtomicU64::new(0),
            generator,
        }
    }

    /// Numbers the next bulk request and picks its fault, if any.
    pub(crate) fn next(&self) -> Option<Fault> {
        let number = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let on_number = self.plan.rules.iter().find_map(|rule| match rule.trigger {
            Trigger::OnRequest(n) if n == number => Some(rule.fault),
            _ => None,
        });
        if on_number.is_some() {
            return on_number;
        }
        let mut generator = self.generator.lock().unwrap_or_else(|e| e.into_inner());
        for rule in &self.plan.rules {
            if let Trigger::Rate(rate) = rule.trigger
                && generator.next_unit() < rate
            {
                return Some(rule.fault);
            }
        }
        None
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64): the same seed gives the
/// same schedule on every machine and version.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw in [0, 1).
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_read_item_by_item() {
        let plan: FaultPlan = "429@1, 503:3@2,500@3,502@4,delay:250@5,close-before@6,close-after@7,truncate%50,seed=9"
            .parse()
            .unwrap();
        let faults: Vec<_> = plan.rules.iter().map(|r| r.fault.to_string()).collect();
        assert_eq!(
            faults,
            [
                "429:1",
                "503:3",
                "500",
                "502",
                "delay:250",
                "close-before",
                "close-after",
                "truncate"
            ]
        );
        assert_eq!(plan.rules[7].trigger, Trigger::Rate(0.5));
        assert_eq!(plan.seed, 9);
    }

    #[test]
    fn bad_items_are_named() {
        for (spec, needle) in [
            ("teapot@1", "unknown fault"),
            ("500@0", "1 or more"),
            ("500%150", "between 0 and 100"),
            ("500", "expected KIND@N"),
            ("delay@1", "milliseconds"),
            ("500:3@1", "no argument"),
        ] {
            let error = spec.parse::<FaultPlan>().unwrap_err();
            assert!(error.to_string().contains(needle), "{spec}: {error}");
        }
    }

    #[test]
    fn request_numbers_win_and_rates_are_reproducible() {
        let plan = FaultPlan::none()
            .on_request(2, Fault::BadGateway)
            .at_rate(0.5, Fault::InternalError)
            .with_seed(42);
        let draw = || {
            let schedule = FaultSchedule::new(plan.clone());
            (0..200).map(|_| schedule.next()).collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw(), "the same seed gives the same schedule");
        assert_eq!(first[1], Some(Fault::BadGateway));
        let hits = first
            .iter()
            .filter(|f| **f == Some(Fault::InternalError))
            .count();
        assert!((60..=140).contains(&hits), "{hits} of 200 at rate 0.5");
    }
}
