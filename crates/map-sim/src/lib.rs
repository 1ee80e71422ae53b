//! An in-memory mAP Core API V2 server, for tests, demos and benchmarks.
//!
//! It speaks the real protocol: `Authorization: Bearer` plus the signature
//! `hex(sha256(client_secret + access_token + time_stamp))` (time stamp within ±300 s,
//! compared in constant time), bulk requests with `maxOperations` and `maxPayloadSize`,
//! `failOnErrors`, `bulkId:X` references within a request (forward ones too), and the resource
//! endpoints with RFC 7644's filter grammar, paging (20 a page by default), sorting and
//! attribute selection, `Existeppn` and `Self`. Where RFC 7644 and mAP Core differ it answers
//! as mAP Core does: a missing resource is a 400 `'X' Not Found`, `meta` has mAP's fields
//! only, bulk results echo `path` and `data`, and membership written on a group or on a user
//! shows on both. What it answers reads with models as strict as mAP Core's own client's.
//!
//! For clients under test it can misbehave on purpose ([`FaultPlan`]): 429/503 with
//! `Retry-After`, 500, 502, delays, connections closed before reading or after applying, and
//! truncated bodies. Its [`Counters`] count applied operations per `bulkId` and per resource,
//! so a test can prove that nothing was applied twice. In null mode it checks and answers but
//! stores nothing, for benchmarks. With a [`Load`] it behaves like a busy server across a
//! network: latency on every answer, time per bulk operation, a capacity of requests at once
//! and a rate of requests per second, beyond which it answers 429 with `Retry-After`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use map_sim::{Fault, FaultPlan, SimConfig, Simulator};
//!
//! let sim = Simulator::start(
//!     SimConfig::default().with_faults(FaultPlan::none().on_request(1, Fault::CloseAfterApplying)),
//! )
//! .await?;
//! println!("mAP Core at {} accepting {:?}", sim.base_url(), sim.credentials());
//! // … run a client against sim.base_url() …
//! assert!(sim.snapshot().users.is_empty());
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod apply;
mod auth;
mod bulk;
mod config;
mod error;
mod fault;
mod filter;
mod load;
mod membership;
mod patch;
mod query;
mod resource;
mod resources;
mod server;
mod store;

pub use config::{DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET, SimConfig};
pub use fault::{Fault, FaultPlan, FaultRule, FaultSpecError, Trigger};
pub use load::Load;
pub use resource::ResourceType;
pub use server::Simulator;
pub use store::{Counters, Snapshot};
