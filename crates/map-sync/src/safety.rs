//! Safety limits: how much a plan may take away before a person must look at it. A nightly
//! run from a broken export (half the people missing, a filter that matched nothing) plans
//! large deletions that are all "correct" for its input; [`SafetyLimits::check`] holds such a
//! plan back before anything is sent, as Google Cloud Directory Sync's deletion limits,
//! Entra's accidental-deletion threshold and Okta's import safeguard do.
//!
//! Two kinds are counted: groups the plan deletes (`--prune-groups`), and memberships it
//! removes (from any group: by its `members`, or by `--exact-groups`). Each limit is a count,
//! or a percentage of what there is: the existing groups under the prune prefix, and the
//! memberships of the groups the plan touches. A percentage never holds back fewer than
//! [`SafetyLimits::FLOOR`] of a kind, so that small states run as they always did.

use std::fmt;
use std::str::FromStr;

use crate::plan::{Action, Plan, SyncOptions};
use crate::state::{Current, Kind, value_of};

/// How many of a kind a plan may take away: a count, or a percentage of what there is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// At most this many (`0` forbids the kind).
    Count(u64),
    /// At most this percentage (0 to 100) of what there is, but never fewer than
    /// [`SafetyLimits::FLOOR`].
    Percent(f64),
}

impl Limit {
    /// How many of `base` this limit allows.
    pub fn allowed(self, base: u64) -> u64 {
        match self {
            Limit::Count(n) => n,
            Limit::Percent(p) => {
                ((base as f64 * p / 100.0).floor() as u64).max(SafetyLimits::FLOOR)
            }
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Count(n) => write!(f, "{n}"),
            Limit::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A limit that is neither a count nor a percentage from 0 to 100.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a limit: expected a count (e.g. 25) or a percentage (e.g. 10%)")]
pub struct LimitParseError(String);

impl FromStr for Limit {
    type Err = LimitParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || LimitParseError(text.to_owned());
        match text.trim().strip_suffix('%') {
            Some(percent) => percent
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=100.0).contains(p))
                .map(Limit::Percent)
                .ok_or_else(error),
            None => text.trim().parse().map(Limit::Count).map_err(|_| error()),
        }
    }
}

/// The limits a plan is checked against before anything is sent.
///
/// ```
/// use map_sync::{Current, Plan, SafetyLimits, SyncOptions};
///
/// let limits = SafetyLimits { max_deletes: "0".parse()?, ..SafetyLimits::default() };
/// let verdict = limits.check(&Plan::default(), &Current::default(), &SyncOptions::default());
/// assert!(verdict.is_empty(), "an empty plan deletes nothing");
/// # Ok::<(), map_sync::LimitParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafetyLimits {
    /// Groups the plan deletes (`--max-deletes`). Default 10% of the existing groups under
    /// the prune prefix.
    pub max_deletes: Limit,
    /// Memberships the plan removes (`--max-removals`). Default 10% of the memberships of
    /// the groups it touches.
    pub max_removals: Limit,
}

impl Default for SafetyLimits {
    fn default() -> Self {
        SafetyLimits {
            max_deletes: Limit::Percent(10.0),
            max_removals: Limit::Percent(10.0),
        }
    }
}

/// A limit a plan goes over: it must not be applied unless a person raises the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBack {
    /// What is counted: `group deletions` or `membership removals`.
    pub what: &'static str,
    /// How many the plan would do.
    pub planned: u64,
    /// How many the limit allows.
    pub allowed: u64,
    /// The limit as given, and what a percentage is of.
    pub limit: String,
    /// The flag that raises it.
    pub flag: &'static str,
}

impl fmt::Display for HeldBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the plan makes {} {}, over the {} allowed by {} {} (raise it with {} if that is meant)",
            self.planned, self.what, self.allowed, self.flag, self.limit, self.flag
        )
    }
}

impl SafetyLimits {
    /// A percentage never holds back fewer than this many of a kind.
    pub const FLOOR: u64 = 10;

    /// Every limit `plan` (made from `current` with `options`) goes over; empty when it may
    /// be applied.
    pub fn check(&self, plan: &Plan, current: &Current, options: &SyncOptions) -> Vec<HeldBack> {
        let counts = Counts::of(plan, current, options);
        let mut held = Vec::new();
        let mut judge = |what, planned, limit: Limit, base: u64, of: &str, flag| {
            let allowed = limit.allowed(base);
            if planned > allowed {
                let limit = match limit {
                    Limit::Count(_) => limit.to_string(),
                    Limit::Percent(_) => format!("{limit} of {base} {of}"),
                };
                held.push(HeldBack {
                    what,
                    planned,
                    allowed,
                    limit,
                    flag,
                });
            }
        };
        judge(
            "group deletions",
            counts.deletes,
            self.max_deletes,
            counts.prunable,
            "groups under the prune prefix",
            "--max-deletes",
        );
        judge(
            "membership removals",
            counts.removals,
            self.max_removals,
            counts.memberships,
            "memberships of the groups it changes",
            "--max-removals",
        );
        held
    }
}

/// What a plan takes away, and what there is to take away.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) deletes: u64,
    pub(crate) removals: u64,
    /// Existing groups under the prune prefix.
    pub(crate) prunable: u64,
    /// Memberships of the existing groups the plan changes (not of those it deletes).
    pub(crate) memberships: u64,
}

impl Counts {
    pub(crate) fn of(plan: &Plan, current: &Current, options: &SyncOptions) -> Counts {
        let groups = plan.changes.iter().filter(|c| c.kind == Kind::Group);
        let mut counts = Counts::default();
        for change in groups {
            if change.action == Action::Delete {
                counts.deletes += 1;
            }
            counts.removals += change.members_removed.len() as u64;
            // A pruned group's memberships go with it: they are not what removals are a
            // share of (that would loosen the limit by what deletions already take).
            if let (Action::Update, Some(before)) = (change.action, &change.before) {
                counts.memberships += members(before);
            }
        }
        if let Some(prefix) = options.prune_groups.as_deref() {
            counts.prunable = current
                .groups
                .iter()
                .filter(|g| g.plain_str("id").is_some_and(|id| id.starts_with(prefix)))
                .count() as u64;
        }
        counts
    }
}

fn members(group: &crate::attributes::Attributes) -> u64 {
    match group.get("members") {
        Some(serde_json::Value::Array(members)) => {
            members.iter().filter(|m| value_of(m).is_some()).count() as u64
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_as_counts_or_percentages() {
        assert_eq!("25".parse(), Ok(Limit::Count(25)));
        assert_eq!(" 10% ".parse(), Ok(Limit::Percent(10.0)));
        assert_eq!("2.5%".parse(), Ok(Limit::Percent(2.5)));
        for bad in ["", "-1", "ten", "120%", "%"] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_percentage_allows_its_share_but_never_fewer_than_the_floor() {
        assert_eq!(Limit::Percent(10.0).allowed(23), 10);
        assert_eq!(Limit::Percent(10.0).allowed(1000), 100);
        assert_eq!(Limit::Percent(10.0).allowed(0), 10);
        assert_eq!(Limit::Count(0).allowed(1000), 0);
        assert_eq!(Limit::Count(5).allowed(1), 5);
    }
}
