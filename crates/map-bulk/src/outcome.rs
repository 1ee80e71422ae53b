//! [`Outcome`]: how each operation of a job ended. Exactly one per input operation.

use std::fmt;

use map_client::GiveUp;
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
#[non_exhaustive]
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
    /// It may have been applied, but no answer says whether it was; it was not sent again.
    Unknown {
        /// Why nothing says.
        reason: UnknownReason,
    },
}

/// Why an operation's outcome is unknown.
///
/// Kept as it is in a job's journal (tagged by `why`), so a resumed run reports the same.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnknownReason {
    /// An attempt that carried it may have been applied, but no usable answer came back (a
    /// timeout, a reset, a 500, 502 or 504, an unreadable 200), and it may not be sent again:
    /// a POST, sent twice, would create two resources.
    AnswerLost {
        /// What happened to the answer.
        cause: String,
    },
    /// An attempt's answer was lost, and retrying gave up.
    RetriesGaveUp {
        /// What happened to the last attempt's answer.
        cause: String,
        /// Why retrying stopped.
        give_up: GiveUp,
    },
    /// An earlier run sent it and was interrupted before the answer came; it may not be sent
    /// again.
    Interrupted,
    /// An earlier run settled it, but the journal's record of how could not be read back; it
    /// is not sent again.
    JournalUnreadable {
        /// What could not be read.
        detail: String,
    },
    /// An earlier run recorded it as unknown in the journal, for this reason.
    Recorded {
        /// The reason as the earlier run wrote it.
        reason: String,
    },
    /// The response's results could not be matched to the operations sent.
    ResultsMismatched {
        /// Results that matched no operation.
        unmatched: usize,
    },
    /// The response has fewer results than operations, and none for this one.
    ResultMissing {
        /// Results in the response.
        results: usize,
        /// Operations sent.
        operations: usize,
    },
    /// Its result has no status.
    ResultWithoutStatus,
    /// An earlier attempt whose answer was lost may have applied it, so the retry's failure
    /// proves nothing (later operations of that attempt may have changed what it found).
    RetryInconclusive {
        /// The retry's status.
        status: u16,
        /// What the server said.
        message: String,
    },
    /// An attempt whose answer was lost may have applied it, and the retry was not processed
    /// (credentials refused, the server unreachable or busy until retrying gave up).
    RetryNotProcessed {
        /// Why the retry was not processed.
        cause: String,
    },
    /// The task sending its request ended abnormally after it may have been sent.
    TaskEnded {
        /// How it ended.
        detail: String,
    },
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownReason::AnswerLost { cause } => {
                write!(f, "{cause}; it may have been applied, so it is not sent again")
            }
            UnknownReason::RetriesGaveUp { cause, give_up } => write!(f, "{cause}; {give_up}"),
            UnknownReason::Interrupted => f.write_str(
                "an earlier run sent it and was interrupted before the answer came; it may have been applied, so it is not sent again",
            ),
            UnknownReason::JournalUnreadable { detail } => write!(
                f,
                "an earlier run settled it, but its record could not be read back from the journal ({detail}); not sent again"
            ),
            UnknownReason::Recorded { reason } => f.write_str(reason),
            UnknownReason::ResultsMismatched { unmatched } => write!(
                f,
                "the response's results did not match the operations sent ({unmatched} unmatched)"
            ),
            UnknownReason::ResultMissing {
                results,
                operations,
            } => write!(
                f,
                "the response has {results} results for {operations} operations and none for this one"
            ),
            UnknownReason::ResultWithoutStatus => f.write_str("its result has no status"),
            UnknownReason::RetryInconclusive { status, message } => write!(
                f,
                "an attempt whose answer was lost may have applied it; the retry failed with {status} ({message})"
            ),
            UnknownReason::RetryNotProcessed { cause } => write!(
                f,
                "an attempt whose answer was lost may have applied it; the retry was not processed: {cause}"
            ),
            UnknownReason::TaskEnded { detail } => {
                write!(f, "the request's task ended abnormally: {detail}")
            }
        }
    }
}

/// Why an operation was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The job was interrupted before it was sent.
    Interrupted,
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
            SkipReason::Interrupted => f.write_str("the job was interrupted before it was sent"),
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
