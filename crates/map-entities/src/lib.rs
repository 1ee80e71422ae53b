//! Serde models of every mAP Core API V2 document.
//!
//! mAP Core is GakuNin's member attribute provider, a SCIM 2.0 service for users, groups and
//! services. This crate is its data model and nothing else: no I/O, no async, no HTTP. It
//! depends only on serde, serde_json and chrono, so a consumer can take it alone.
//!
//! - Field names are exactly mAP's (`userName`, `bulkId`, `Operations`, `$ref`).
//! - `schemas` of request messages is read-only: written as exactly the right URN.
//! - Lossless: a document read and written back keeps every non-null attribute, including ones
//!   this crate does not model (they live in each type's `extra` map), and timestamps keep
//!   their text.
//! - Malformed input is refused with a serde error that names the field
//!   (`Operations[2]: method: unknown variant `PUTCH`, …`); never a panic.
//!
//! ```
//! use map_entities::{BulkOperation, BulkRequestPayload, BulkResponsePayload, OperationResponse};
//! use serde_json::json;
//!
//! // A request: create a user and a group that has the new user as a member.
//! let request = BulkRequestPayload::new(vec![
//!     BulkOperation::post("/Users", "u1", json!({"userName": "alice"})),
//!     BulkOperation::post("/Groups", "g1", json!({"id": "lab-a", "members": [{"type": "User", "value": "bulkId:u1"}]})),
//! ]);
//! let body = serde_json::to_string(&request)?;
//! assert!(body.starts_with(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":["#));
//! assert_eq!(request.operations[1].bulk_id_references(), ["u1"]);
//!
//! // Its response: the results, each with the resource or error it produced.
//! let response: BulkResponsePayload = serde_json::from_str(r#"{
//!   "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
//!   "Operations": [
//!     {"method": "POST", "bulkId": "u1", "status": "201", "location": "https://map.example/api/v2/Users/9f2"},
//!     {"method": "POST", "bulkId": "g1", "status": "409", "response": {
//!        "schemas": ["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Error"],
//!        "status": "409", "scimType": "uniqueness", "detail": "Duplicate id 'lab-a'"}}
//!   ]
//! }"#)?;
//! assert_eq!(response.operations[0].resource_id(), Some("9f2"));
//! assert!(matches!(response.operations[1].response, Some(OperationResponse::Error(_))));
//! # Ok::<(), serde_json::Error>(())
//! ```

mod bulk;
mod bulk_id;
mod error;
mod group;
mod list;
mod meta;
mod patch;
mod resource_ref;
mod schema;
mod search;
mod service;
mod timestamp;
mod user;
mod wire;

pub use bulk::{
    BulkMethod, BulkOperation, BulkRequestPayload, BulkResponsePayload, OperationResponse,
    UnknownMethod,
};
pub use bulk_id::{BULK_ID_PREFIX, bulk_id_references, id_from_location, parse_bulk_id_reference};
pub use error::{ErrorDetail, MapError, ScimType, UnknownScimType};
pub use group::{GroupMember, GroupService, MapGroup, MemberListVisibility, MemberType};
pub use list::ListResponse;
pub use meta::Meta;
pub use patch::{PatchData, PatchOp, PatchOperation, PatchRequestPayload};
pub use resource_ref::ResourceRef;
pub use schema::{
    BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ERROR_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA,
    PATCH_OP_SCHEMA, ResourceKind, SERVICE_SCHEMA, USER_SCHEMA,
};
pub use search::{SearchRequestParameter, SortOrder};
pub use service::{EntityId, MapRepository, MapService};
pub use timestamp::{Timestamp, TimestampError};
pub use user::{Email, Eppn, MapUser, UserGroup};
