//! Which operations may be sent again: the one rule that keeps a job from applying anything
//! twice. A retry strategy decides *whether and when* a request is tried again; this decides
//! *which of its operations* go with it.
//!
//! After an attempt that applied nothing (not processed, unreachable, too large) every
//! operation may go again. After one that may have been applied (a lost answer, or an earlier
//! run interrupted in flight), only those that are safe to apply twice: a PUT, a PATCH or a
//! DELETE sets the same state again; a POST would create a second resource.

use map_client::Verdict;
use map_entities::BulkMethod;

/// Whether an operation sent in an attempt that came to `verdict` may be sent again.
pub(crate) fn may_send_again(method: BulkMethod, verdict: &Verdict) -> bool {
    verdict.nothing_applied() || may_send_again_after_lost_answer(method)
}

/// Whether an operation that may have been applied may be sent again.
pub(crate) fn may_send_again_after_lost_answer(method: BulkMethod) -> bool {
    method != BulkMethod::Post
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> Verdict {
        Verdict::MayHaveBeenApplied {
            cause: "timed out".into(),
        }
    }

    #[test]
    fn after_a_lost_answer_only_a_post_is_held_back() {
        assert!(!may_send_again(BulkMethod::Post, &lost()));
        for method in [BulkMethod::Put, BulkMethod::Patch, BulkMethod::Delete] {
            assert!(may_send_again(method, &lost()), "{method}");
        }
    }

    #[test]
    fn what_applied_nothing_may_all_go_again() {
        let verdicts = [
            Verdict::NotProcessed {
                cause: "503".into(),
                retry_after: None,
                throttled: true,
            },
            Verdict::Unreachable {
                cause: "refused".into(),
            },
            Verdict::TooLarge {
                error: None,
                detail: "413".into(),
            },
        ];
        for verdict in &verdicts {
            assert!(may_send_again(BulkMethod::Post, verdict), "{verdict:?}");
        }
    }
}
