//! [`Outcome`]: how each operation of a job ended. Exactly one per input operation.

use std::fmt;

use map_entities::{BulkMethod, MapError};

/// How one operation of a job ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The operation's position in the job's input, from 0.
    pub index: u64,
    /// Its method.
    pub method: BulkMethod,
    /// Its path as sent (normalised, references to earlier requests substituted).
    pub path: String,
    /// Its `bulkId`, if any.
    pub bulk_id: Option<String>,
    /// What happened.
    pub kind: OutcomeKind,
}

/// What happened to an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeKind {
    /// The server said it was applied.
    Succeeded {
        /// The status the server gave it (`201`, `200`, `204`; or `404` for a DELETE whose
        /// earlier attempt's answer was lost, see `note`).
        status: u16,
        /// The resource's URL.
        location: Option<String>,
        /// The resource's id (the last segment of `location`, or the response's `id`).
        id: Option<String>,
        /// Anything worth knowing about how it succeeded.
        note: Option<String>,
    },
    /// The server said it was not applied.
    Failed {
        /// The status the server gave it, when it gave one.
        status: Option<u16>,
        /// The server's error, when it sent one.
        error: Option<MapError>,
        /// What went wrong, in one line.
        message: String,
    },
    /// It was not sent, or sent but certainly not processed.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// It may have been applied, but no answer came back; it was not sent again.
    Unknown {
        /// What happened to the answer.
        reason: String,
    },
}

/// Why an operation was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A POST it references (`bulkId:X`) failed.
    DependencyFailed {
        /// The referenced `bulkId`.
        bulk_id: String,
    },
    /// A POST it references may or may not have been applied.
    DependencyUnknown {
        /// The referenced `bulkId`.
        bulk_id: String,
    },
    /// A POST it references was itself skipped.
    DependencySkipped {
        /// The referenced `bulkId`.
        bulk_id: String,
    },
    /// The job's error budget ran out before it was sent.
    ErrorBudgetExhausted,
    /// The server stopped processing its request under `failOnErrors`.
    StoppedByFailOnErrors,
    /// The server refused the job's credentials; nothing more was sent.
    AuthenticationFailed,
    /// The server could not be reached; nothing more was sent.
    ServerUnreachable,
    /// The job's journal could not be written; nothing more was sent.
    JournalUnwritable,
    /// The server refused its request without processing it, and retrying gave up.
    NotProcessed {
        /// The last refusal (e.g. `503 Service Unavailable after 5 attempts`).
        detail: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::DependencyFailed { bulk_id } => {
                write!(f, "depends on bulkId '{bulk_id}', which failed")
            }
            SkipReason::DependencyUnknown { bulk_id } => {
                write!(f, "depends on bulkId '{bulk_id}', whose outcome is unknown")
            }
            SkipReason::DependencySkipped { bulk_id } => {
                write!(f, "depends on bulkId '{bulk_id}', which was skipped")
            }
            SkipReason::ErrorBudgetExhausted => f.write_str("the job's error budget ran out"),
            SkipReason::StoppedByFailOnErrors => {
                f.write_str("the server stopped early under failOnErrors")
            }
            SkipReason::AuthenticationFailed => f.write_str("the server refused the credentials"),
            SkipReason::ServerUnreachable => f.write_str("the server could not be reached"),
            SkipReason::JournalUnwritable => f.write_str("the journal could not be written"),
            SkipReason::NotProcessed { detail } => {
                write!(f, "not processed by the server: {detail}")
            }
        }
    }
}

impl OutcomeKind {
    /// `succeeded`, `failed`, `skipped` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            OutcomeKind::Succeeded { .. } => "succeeded",
            OutcomeKind::Failed { .. } => "failed",
            OutcomeKind::Skipped { .. } => "skipped",
            OutcomeKind::Unknown { .. } => "unknown",
        }
    }

    /// The status the server gave, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            OutcomeKind::Succeeded { status, .. } => Some(*status),
            OutcomeKind::Failed { status, .. } => *status,
            OutcomeKind::Skipped { .. } | OutcomeKind::Unknown { .. } => None,
        }
    }
}

/// Counts of a job's outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Operations in the job.
    pub total: u64,
    /// Operations that succeeded.
    pub succeeded: u64,
    /// Operations that failed.
    pub failed: u64,
    /// Operations that were skipped.
    pub skipped: u64,
    /// Operations whose outcome is unknown.
    pub unknown: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
}

impl Summary {
    /// Counts one more outcome.
    pub fn count(&mut self, kind: &OutcomeKind) {
        self.total += 1;
        match kind {
            OutcomeKind::Succeeded { .. } => self.succeeded += 1,
            OutcomeKind::Failed { .. } => self.failed += 1,
            OutcomeKind::Skipped { .. } => self.skipped += 1,
            OutcomeKind::Unknown { .. } => self.unknown += 1,
        }
    }

    /// Whether every operation succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.succeeded == self.total
    }
}
