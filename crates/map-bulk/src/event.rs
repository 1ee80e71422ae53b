//! [`Event`]: what a running job reports as it goes, for progress bars and logs.

use std::sync::Arc;
use std::time::Duration;

use crate::outcome::Outcome;

/// Something that happened while a job ran.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The job was validated and planned; sending starts.
    Planned {
        /// Operations in the job.
        operations: u64,
        /// Requests planned (retries and splits come on top).
        requests: u64,
    },
    /// A request (or a retry of it) was sent.
    RequestSent {
        /// The planned request's number, from 1.
        request: u64,
        /// Which attempt this is, from 1.
        attempt: u32,
        /// Operations in it.
        operations: usize,
        /// Its body's size in bytes (before signing).
        bytes: usize,
    },
    /// A retry was scheduled.
    RetryScheduled {
        /// The planned request's number.
        request: u64,
        /// The attempt that will follow.
        attempt: u32,
        /// How long until it.
        delay: Duration,
        /// Why the previous attempt did not settle the request.
        cause: &'a str,
    },
    /// Every operation of a request settled.
    RequestSettled {
        /// The planned request's number.
        request: u64,
        /// Operations that succeeded.
        succeeded: u64,
        /// Operations that failed.
        failed: u64,
        /// Operations that were skipped.
        skipped: u64,
        /// Operations whose outcome is unknown.
        unknown: u64,
    },
    /// A request started or settled: how many are in flight, and the concurrency limit now
    /// (which `Concurrency::Auto` changes as the job runs).
    InFlight {
        /// Requests in flight.
        requests: usize,
        /// Requests that may be in flight.
        limit: usize,
    },
    /// One operation settled. These come in input order, one per operation.
    OperationSettled(&'a Outcome),
}

/// Receives a job's events; called from the task that runs the job, so keep it quick.
pub type EventHandler = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// A handler that ignores every event.
pub fn ignore_events() -> EventHandler {
    Arc::new(|_: &Event<'_>| {})
}
