//! [`PlanError`]: why no plan could be made. Every problem is listed, each naming where the
//! resource was read, so that a file can be fixed in one pass; nothing is sent.

use std::fmt;

use crate::state::Origin;

/// One reason the desired state cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// Where the resource it concerns was read, when it came from a file.
    pub origin: Option<Origin>,
    /// What is wrong, naming the resource and the attribute.
    pub message: String,
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The desired state cannot be planned against the current one; nothing should be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s), nothing planned:\n{}", problems.len(), list(problems))]
pub struct PlanError {
    /// Every problem found, in the order of the desired resources.
    pub problems: Vec<PlanProblem>,
}

fn list(problems: &[PlanProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Problems collected while planning.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<PlanProblem>);

impl Problems {
    pub(crate) fn add(&mut self, origin: Option<&Origin>, message: impl Into<String>) {
        self.0.push(PlanProblem {
            origin: origin.cloned(),
            message: message.into(),
        });
    }

    /// `Ok(value)` when none was found.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, PlanError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(PlanError { problems: self.0 })
        }
    }
}
