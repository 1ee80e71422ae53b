//! The mAP Core API V2 bulk client and job engine.
//!
//! Two levels:
//!
//! - [`BulkClient`] (from `map-client`, re-exported) is the seed's client: one signed `POST /api/v2/Bulk` and mAP's status
//!   semantics (200 → results, 400 → a [`map_entities::MapError`] as a value, anything else
//!   an error), never a panic.
//! - [`Engine`] runs a whole job of any size: it validates every operation before sending
//!   anything, plans requests within `maxOperations` and `maxPayloadSize`, substitutes the ids
//!   earlier requests created for `bulkId:X` references, retries what is safe to retry
//!   (never a POST that may have been applied), and settles every operation with exactly one
//!   [`Outcome`]: succeeded, failed, skipped or unknown.
//!
//! Where things are: `job` (the [`OperationSource`] seam, job files and reading them twice
//! quickly), `validate` and `plan` (the first pass: the rules, and requests within
//! [`Limits`]), `engine` (sending: one request's attempts, which operations may go again,
//! references, admission, in-order outcomes), `correlate` (matching results to operations),
//! [`Journal`] (resuming), [`Outcome`] and [`Event`] (what a job reports).
//!
//! ```no_run
//! use std::sync::Arc;
//! use map_auth::Credentials;
//! use map_bulk::{BulkClient, Endpoint, Engine, JobConfig, JobReader};
//! use map_transport::{ReqwestTransport, TransportConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = Arc::new(ReqwestTransport::new(TransportConfig::default())?);
//! let client = BulkClient::new(Endpoint::new("https://cg.gakunin.jp")?, transport);
//! let engine = Engine::new(client, &Credentials::new("token", "secret"), JobConfig::default());
//! let mut job = JobReader::from_path("users.ndjson");
//! let report = engine.run_quietly(&mut job).await?;
//! println!("{:?}", report.summary);
//! # Ok(())
//! # }
//! ```

mod correlate;
mod encode;
mod engine;
mod event;
mod job;
mod journal;
mod outcome;
mod plan;
mod reference;
mod scan;
mod validate;

#[cfg(fuzzing)]
pub mod fuzzing;

pub use encode::encode_request;
pub use engine::{
    Concurrency, ConcurrencyParseError, Engine, Interrupt, JobConfig, JobReport, JobStop, plan_job,
};
pub use event::{Event, EventHandler, ignore_events};
pub use job::{
    InputFormat, JobOperation, JobReader, OperationRef, OperationSource, OperationTexts,
    OperationVisitor, Operations, SourceError,
};
pub use journal::{JobFingerprint, Journal, JournalError, JournalLock};
pub use map_client::{
    Attempt, BulkAnswer, BulkClient, BulkError, Endpoint, EndpointError, GiveUp, RetryBudget,
    RetryDecision, RetryPolicy, RetryStrategy, StandardRetry, Verdict,
};
pub use outcome::{Outcome, OutcomeKind, SkipReason, Summary, UnknownReason};
pub use plan::{Plan, PlannedRequest, Substitution};
pub use validate::{JobInputError, Limits, Problem, ValidationError, counted_size};
