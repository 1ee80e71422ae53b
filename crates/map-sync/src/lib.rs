//! Keep mAP Core in step with an institution's records.
//!
//! [`plan`] compares a [`Desired`] state (what the institution's files describe) with the
//! [`Current`] one (what mAP Core holds) and gives the fewest [`Change`]s that make them
//! equal: creates for what is missing, PATCHes of only the attributes and members that
//! differ, and deletes only of groups pruned by prefix. [`operations`] turns the plan into a
//! bulk job for `map-bulk`'s engine, one operation per change, new users referred to by
//! `bulkId` from the groups that take them. Planning is a pure function of the two states:
//! [`apply_in_memory`] shows what a plan leads to, and planning again from there gives
//! nothing.
//!
//! Where things are: `state` (the two states and how users are keyed), `matching` (which
//! existing resource each desired one is), `compare` (when an attribute already is what is
//! desired), `membership` (who should be in each group), `plan`, `operations`, `simulate`,
//! `fit` (every operation within the server's limits), `safety` (limits a person must
//! raise), `settle` (unknown outcomes read back), and `read` (desired files: JSON documents,
//! CSV/TSV/XLSX tables, the NII import layout).
//!
//! ```
//! use map_sync::{Action, Attributes, Current, Desired, DesiredResource, Origin, SyncOptions, apply_in_memory, plan};
//! use serde_json::json;
//!
//! // What mAP Core holds (read with `read_current`): one user.
//! let current = Current {
//!     users: vec![Attributes::from(json!({"id": "u1", "userName": "Old name",
//!                                         "eduPersonPrincipalNames": [{"value": "john@idp.example.ac.jp"}]}))],
//!     ..Current::default()
//! };
//! // What the files say (read with `read_desired`): John renamed, in a new group.
//! let mut desired = Desired::default();
//! desired.users.push(DesiredResource::new(
//!     json!({"userName": "John", "eduPersonPrincipalNames": [{"value": "john@idp.example.ac.jp"}]}),
//!     Origin::new("people.csv", 2),
//! ));
//! desired.groups.push(DesiredResource::new(
//!     json!({"id": "lab-a", "displayName": "Lab A", "members": [{"value": "john@idp.example.ac.jp"}]}),
//!     Origin::new("groups.ndjson", 1),
//! ));
//!
//! let changes = plan(&desired, &current, &SyncOptions::default())?;
//! assert_eq!(changes.count(Action::Update), 1); // John's userName
//! assert_eq!(changes.count(Action::Create), 1); // lab-a, with John as its member
//!
//! let after = apply_in_memory(&changes, &current);
//! assert!(plan(&desired, &after, &SyncOptions::default())?.is_empty());
//! # Ok::<(), map_sync::PlanError>(())
//! ```

mod apply;
mod attributes;
mod compare;
mod current;
mod error;
mod fit;
mod matching;
mod membership;
mod operations;
mod plan;
mod read;
mod safety;
mod settle;
mod simulate;
mod state;
mod undo;

pub use apply::{ChangeResult, apply, job};
pub use attributes::Attributes;
pub use compare::AttributeChange;
pub use current::read_current;
pub use error::{PlanError, PlanProblem};
pub use membership::Member;
pub use operations::{bulk_id, operations};
pub use plan::{Action, Change, Plan, SyncOptions, plan};
pub use read::{Encoding, Notices, ReadError, UnknownEncoding, read_desired, read_desired_as};
pub use safety::{HeldBack, Limit, LimitParseError, SafetyLimits};
pub use settle::{Settled, settle};
pub use simulate::{apply_in_memory, simulated_user_id};
pub use state::{Columns, Current, Desired, DesiredResource, Kind, Origin, UserKey};
pub use undo::{Undo, undo};
