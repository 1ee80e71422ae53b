//! [`Admission`]: how many requests may be in flight at once — a limit that may change while
//! the job runs (an adaptive limiter will set it from what the server answers).

/// The concurrency limit of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Admission {
    limit: usize,
}

impl Admission {
    /// At most `limit` requests in flight (at least one).
    pub(crate) fn new(limit: usize) -> Self {
        Admission {
            limit: limit.max(1),
        }
    }

    /// Whether one more request may start while `in_flight` are.
    pub(crate) fn admits(&self, in_flight: usize) -> bool {
        in_flight < self.limit
    }

    /// The limit now.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (at least one); requests in flight above it finish undisturbed.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_a_limit_that_can_change() {
        let mut admission = Admission::new(0);
        assert_eq!(admission.limit(), 1, "at least one request may go");
        assert!(admission.admits(0));
        assert!(!admission.admits(1));
        admission.set_limit(3);
        assert!(admission.admits(2));
        assert!(!admission.admits(3));
        admission.set_limit(1);
        assert!(
            !admission.admits(2),
            "lowered: no new request until below it"
        );
    }
}
