//! [`JobStop`]: why a job stopped sending, and the one mapping from a stop to the reason its
//! unsent operations are skipped.

use crate::outcome::SkipReason;

/// Why a job stopped sending before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobStop {
    /// The server refused the credentials (401 or 403).
    Authentication {
        /// The status.
        status: u16,
        /// What the server said.
        detail: String,
    },
    /// The server could not be reached: every attempt of a request failed to connect.
    Unreachable {
        /// The last failure.
        detail: String,
    },
    /// The journal could not be written: nothing more is sent that it could not record.
    Journal {
        /// What failed.
        detail: String,
    },
    /// The job was interrupted ([`crate::Interrupt`]): nothing more was sent.
    Interrupted,
    /// More operations failed than the error budget allows.
    ErrorBudget {
        /// Operations failed when the job stopped.
        failed: u64,
        /// The budget.
        budget: u64,
    },
}

impl JobStop {
    /// Why an operation not yet sent when the job stopped so is skipped.
    pub fn skip_reason(&self) -> SkipReason {
        match self {
            JobStop::Authentication { .. } => SkipReason::AuthenticationFailed,
            JobStop::ErrorBudget { .. } => SkipReason::ErrorBudgetExhausted,
            JobStop::Unreachable { .. } => SkipReason::ServerUnreachable,
            JobStop::Journal { .. } => SkipReason::JournalUnwritable,
            JobStop::Interrupted => SkipReason::Interrupted,
        }
    }
}

impl std::fmt::Display for JobStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobStop::Authentication { status, detail } => {
                write!(f, "mAP Core refused the credentials ({status}): {detail}")
            }
            JobStop::ErrorBudget { failed, budget } => {
                write!(
                    f,
                    "{failed} operations failed, more than the error budget of {budget}"
                )
            }
            JobStop::Unreachable { detail } => write!(f, "mAP Core could not be reached: {detail}"),
            JobStop::Journal { detail } => write!(f, "the journal could not be written: {detail}"),
            JobStop::Interrupted => f.write_str("the job was interrupted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stop_skips_for_its_own_reason() {
        let cases = [
            (
                JobStop::Authentication {
                    status: 401,
                    detail: "no".into(),
                },
                SkipReason::AuthenticationFailed,
            ),
            (
                JobStop::Unreachable {
                    detail: "down".into(),
                },
                SkipReason::ServerUnreachable,
            ),
            (
                JobStop::Journal {
                    detail: "full".into(),
                },
                SkipReason::JournalUnwritable,
            ),
            (
                JobStop::ErrorBudget {
                    failed: 3,
                    budget: 2,
                },
                SkipReason::ErrorBudgetExhausted,
            ),
            (JobStop::Interrupted, SkipReason::Interrupted),
        ];
        for (stop, reason) in cases {
            assert_eq!(stop.skip_reason(), reason, "{stop}");
        }
    }
}
