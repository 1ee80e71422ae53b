//! The mAP Core API V2 request pipeline, and the clients on it.
//!
//! Every call to mAP Core goes the same way, one piece per step:
//!
//! 1. [`Endpoint`]: where the API is (https, or http to loopback).
//! 2. [`Pipeline`]: builds the request, signs this attempt (map-auth knows where the signature
//!    travels for each method), sends it through a [`map_transport::Transport`] within the
//!    attempt timeout, and reads the whole answer.
//! 3. [`classify()`]: one function, without side effects, from what came back to a
//!    [`Verdict`]: processed, refused, credentials refused, too large, not processed (safe to
//!    send again), or may have been applied.
//! 4. [`RetryStrategy`]: given the verdict and the attempt, give up or try again after a
//!    delay. [`StandardRetry`] is exponential backoff with jitter, `Retry-After`, and a
//!    [`RetryBudget`] shared by all requests of a job.
//!
//! [`Filter`] writes search filters with their values quoted and escaped.
//!
//! [`ResourceClient`] reads and writes Users, Groups and Services one at a time on that
//! pipeline: typed results, mAP's 400/404/409 answers as [`ResourceAnswer`] values, searches
//! as [`Pages`] that fetch the next page when it is needed, and after a lost answer only a
//! GET, PUT or DELETE sent again.
//!
//! [`BulkClient`] is the seed's client on that pipeline: one signed `POST /api/v2/Bulk`, 200 →
//! results, 400 → a [`map_entities::MapError`] as a value, anything else an error. The job
//! engine (`map-bulk`) drives the same pipeline, classifier and strategy for whole jobs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use map_auth::Credentials;
//! use map_client::{BulkAnswer, BulkClient, Endpoint};
//! use map_entities::BulkOperation;
//! use map_transport::{ReqwestTransport, TransportConfig};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = Arc::new(ReqwestTransport::new(TransportConfig::default())?);
//! let client = BulkClient::new(Endpoint::new("https://cg.gakunin.jp")?, transport);
//! let operations = vec![BulkOperation::post("/Users", "u1", json!({"userName": "alice"}))];
//! match client.post(&operations, &Credentials::new("token", "secret")).await? {
//!     BulkAnswer::Processed(response) => println!("{} results", response.operations.len()),
//!     BulkAnswer::Refused(error) => println!("refused: {:?}", error.detail),
//! }
//! # Ok(())
//! # }
//! ```

mod bulk;
mod classify;
mod endpoint;
mod filter;
mod pipeline;
mod resource;
mod resource_client;
mod retry;
mod search;

pub use bulk::{BulkAnswer, BulkClient, BulkError};
pub use classify::{Verdict, classify, retry_after};
pub use endpoint::{Endpoint, EndpointError};
pub use filter::Filter;
pub use pipeline::{Answer, Call, CallBody, DEFAULT_ATTEMPT_TIMEOUT, ExchangeError, Pipeline};
pub use resource::{Deletable, Resource, ResourceAnswer, ResourceError};
pub use resource_client::{Projection, ResourceClient, Resources, may_resend_after_lost_answer};
pub use retry::{
    Attempt, GiveUp, RandomSource, RetryBudget, RetryDecision, RetryPolicy, RetryStrategy,
    StandardRetry,
};
pub use search::Pages;
