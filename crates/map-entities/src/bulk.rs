//! Bulk request and response documents (RFC 7644 §3.7) as mAP Core reads and writes them.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::bulk_id;
use crate::error::MapError;
use crate::group::MapGroup;
use crate::schema::{BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ResourceKind};
use crate::service::MapService;
use crate::user::MapUser;
use crate::wire::{
    insert_extra, read_read_only_schemas, serialize_extra, set_once, set_once_opt, set_once_seq,
};

/// The HTTP method of one bulk operation. Anything else is refused when read.
///
/// ```
/// use map_entities::BulkMethod;
///
/// assert_eq!("PATCH".parse::<BulkMethod>(), Ok(BulkMethod::Patch));
/// assert!("PUTCH".parse::<BulkMethod>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BulkMethod {
    /// Create a resource.
    #[serde(rename = "POST")]
    Post,
    /// Replace a resource.
    #[serde(rename = "PUT")]
    Put,
    /// Modify a resource with a PatchOp document.
    #[serde(rename = "PATCH")]
    Patch,
    /// Delete a resource.
    #[serde(rename = "DELETE")]
    Delete,
}

impl BulkMethod {
    /// Every method, in the order RFC 7644 lists them.
    pub const ALL: [BulkMethod; 4] = [
        BulkMethod::Post,
        BulkMethod::Put,
        BulkMethod::Patch,
        BulkMethod::Delete,
    ];

    /// The method as written on the wire: `POST`, `PUT`, `PATCH`, `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }

    /// Whether an operation with this method must carry `data` (all but DELETE).
    pub fn requires_data(self) -> bool {
        self != BulkMethod::Delete
    }
}

impl fmt::Display for BulkMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of `POST`, `PUT`, `PATCH`, `DELETE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMethod(pub String);

impl fmt::Display for UnknownMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown method {:?}, expected one of POST, PUT, PATCH, DELETE",
            self.0
        )
    }
}

impl std::error::Error for UnknownMethod {}

impl FromStr for BulkMethod {
    type Err = UnknownMethod;

    fn from_str(text: &str) -> Result<Self, UnknownMethod> {
        BulkMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == text)
            .ok_or_else(|| UnknownMethod(text.to_owned()))
    }
}

/// One operation of a bulk request, or one result of a bulk response.
///
/// Requests use `method`, `bulkId` (required on POST), `path`, `data` and optionally `version`;
/// responses add `location`, `status` (a string such as `"201"`) and `response`, and may leave
/// `path` out.
///
/// ```
/// use map_entities::{BulkMethod, BulkOperation};
/// use serde_json::json;
///
/// let op = BulkOperation::post("/Users", "u1", json!({"userName": "alice"}));
/// assert_eq!(
///     serde_json::to_value(&op)?,
///     json!({"method": "POST", "bulkId": "u1", "path": "/Users", "data": {"userName": "alice"}})
/// );
///
/// let result: BulkOperation = serde_json::from_str(
///     r#"{"method":"POST","bulkId":"u1","location":"https://map.example/api/v2/Users/9f2","status":"201"}"#,
/// )?;
/// assert_eq!(result.status_code(), Some(201));
/// assert_eq!(result.resource_id(), Some("9f2"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    /// The HTTP method. On the wire: `method`.
    pub method: BulkMethod,
    /// The client's name for a resource this operation creates. On the wire: `bulkId`.
    pub bulk_id: Option<String>,
    /// The resource path, e.g. `/Users` or `/Groups/lab-a`. On the wire: `path`.
    pub path: Option<String>,
    /// The resource or PatchOp document. On the wire: `data`.
    pub data: Option<Value>,
    /// The resource version (an entity tag). On the wire: `version`.
    pub version: Option<String>,
    /// The URL of the resource the operation touched (responses). On the wire: `location`.
    pub location: Option<String>,
    /// The resulting resource or error (responses). On the wire: `response`.
    pub response: Option<OperationResponse>,
    /// The HTTP status as a string, e.g. `"201"` (responses). On the wire: `status`.
    pub status: Option<String>,
    /// Attributes this crate does not model, kept as they came.
    pub extra: Map<String, Value>,
}

impl BulkOperation {
    /// An operation with `method` on `path` and nothing else set.
    pub fn new(method: BulkMethod, path: impl Into<String>) -> Self {
        BulkOperation {
            method,
            bulk_id: None,
            path: Some(path.into()),
            data: None,
            version: None,
            location: None,
            response: None,
            status: None,
            extra: Map::new(),
        }
    }

    /// A POST creating `data` under `path`, known within the job as `bulk_id`.
    pub fn post(path: impl Into<String>, bulk_id: impl Into<String>, data: Value) -> Self {
        BulkOperation {
            bulk_id: Some(bulk_id.into()),
            data: Some(data),
            ..Self::new(BulkMethod::Post, path)
        }
    }

    /// A PUT replacing the resource at `path` with `data`.
    pub fn put(path: impl Into<String>, data: Value) -> Self {
        BulkOperation {
            data: Some(data),
            ..Self::new(BulkMethod::Put, path)
        }
    }

    /// A PATCH applying the PatchOp document `data` to the resource at `path`.
    pub fn patch(path: impl Into<String>, data: Value) -> Self {
        BulkOperation {
            data: Some(data),
            ..Self::new(BulkMethod::Patch, path)
        }
    }

    /// A DELETE of the resource at `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(BulkMethod::Delete, path)
    }

    /// The `status` as a number, when it is one.
    pub fn status_code(&self) -> Option<u16> {
        self.status.as_deref()?.trim().parse().ok()
    }

    /// The id of the resource this result is about: the last segment of `location`, or else
    /// the `id` of the `response` resource.
    pub fn resource_id(&self) -> Option<&str> {
        self.location
            .as_deref()
            .and_then(bulk_id::id_from_location)
            .or_else(|| self.response.as_ref()?.id())
    }

    /// Every `bulkId:X` reference in `path` and `data`, as the `X`s: those in `path` first,
    /// then those in `data` (object attributes in sorted order), repeats included.
    pub fn bulk_id_references(&self) -> Vec<&str> {
        bulk_id::bulk_id_references(self.path.as_deref().unwrap_or(""), self.data.as_ref())
    }
}

const OPERATION_FIELDS: [&str; 8] = [
    "method", "bulkId", "path", "data", "version", "location", "response", "status",
];

impl Serialize for BulkOperation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", &self.method)?;
        if let Some(bulk_id) = &self.bulk_id {
            map.serialize_entry("bulkId", bulk_id)?;
        }
        if let Some(path) = &self.path {
            map.serialize_entry("path", path)?;
        }
        if let Some(data) = &self.data {
            map.serialize_entry("data", data)?;
        }
        if let Some(version) = &self.version {
            map.serialize_entry("version", version)?;
        }
        if let Some(location) = &self.location {
            map.serialize_entry("location", location)?;
        }
        if let Some(response) = &self.response {
            map.serialize_entry("response", response)?;
        }
        if let Some(status) = &self.status {
            map.serialize_entry("status", status)?;
        }
        serialize_extra(&mut map, &self.extra, &OPERATION_FIELDS)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for BulkOperation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OperationVisitor;

        impl<'de> Visitor<'de> for OperationVisitor {
            type Value = BulkOperation;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bulk operation object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BulkOperation, A::Error> {
                let mut method = None;
                let mut op = BulkOperation::new(BulkMethod::Post, String::new());
                op.path = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "method" => set_once(&mut method, "method", &mut map)?,
                        "bulkId" => set_once_opt(&mut op.bulk_id, "bulkId", &mut map)?,
                        "path" => set_once_opt(&mut op.path, "path", &mut map)?,
                        "data" => set_once_opt(&mut op.data, "data", &mut map)?,
                        "version" => set_once_opt(&mut op.version, "version", &mut map)?,
                        "location" => set_once_opt(&mut op.location, "location", &mut map)?,
                        "response" => set_once_opt(&mut op.response, "response", &mut map)?,
                        "status" => set_once_opt(&mut op.status, "status", &mut map)?,
                        _ => insert_extra(&mut op.extra, key, &mut map)?,
                    }
                }
                op.method = method.ok_or_else(|| de::Error::missing_field("method"))?;
                Ok(op)
            }
        }

        deserializer.deserialize_map(OperationVisitor)
    }
}

/// What a bulk result's `response` holds, told apart by the suffix of its `schemas` URN.
///
/// A document of a kind this crate does not know, or without `schemas`, is kept whole as
/// [`OperationResponse::Other`], never dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationResponse {
    /// A user (`…:User`).
    User(Box<MapUser>),
    /// A group (`…:Group`).
    Group(Box<MapGroup>),
    /// A service (`…:Service`).
    Service(Box<MapService>),
    /// An error (`…:Error`).
    Error(Box<MapError>),
    /// Anything else, exactly as it came.
    Other(Value),
}

impl OperationResponse {
    /// The error, when the response is one.
    pub fn as_error(&self) -> Option<&MapError> {
        match self {
            OperationResponse::Error(error) => Some(error),
            _ => None,
        }
    }

    /// The `id` of the resource in the response, if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            OperationResponse::User(user) => user.id.as_deref(),
            OperationResponse::Group(group) => group.id.as_deref(),
            OperationResponse::Service(service) => service.id.as_deref(),
            OperationResponse::Error(_) => None,
            OperationResponse::Other(value) => value.get("id")?.as_str(),
        }
    }

    /// Reads a response document, choosing the model by its `schemas`.
    pub fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        let kind = match value.get("schemas").and_then(Value::as_array) {
            Some(schemas) => ResourceKind::from_schemas(schemas.iter().filter_map(Value::as_str)),
            None => None,
        };
        Ok(match kind {
            Some(ResourceKind::User) => OperationResponse::User(serde_json::from_value(value)?),
            Some(ResourceKind::Group) => OperationResponse::Group(serde_json::from_value(value)?),
            Some(ResourceKind::Service) => {
                OperationResponse::Service(serde_json::from_value(value)?)
            }
            Some(ResourceKind::Error) => OperationResponse::Error(serde_json::from_value(value)?),
            None => OperationResponse::Other(value),
        })
    }
}

impl Serialize for OperationResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OperationResponse::User(user) => user.serialize(serializer),
            OperationResponse::Group(group) => group.serialize(serializer),
            OperationResponse::Service(service) => service.serialize(serializer),
            OperationResponse::Error(error) => error.serialize(serializer),
            OperationResponse::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for OperationResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        OperationResponse::from_value(value).map_err(de::Error::custom)
    }
}

/// The body of `POST /api/v2/Bulk`.
///
/// `schemas` is read-only: it is always written as exactly the BulkRequest URN. `failOnErrors`
/// is left out unless set.
///
/// ```
/// use map_entities::{BulkOperation, BulkRequestPayload};
/// use serde_json::json;
///
/// let payload = BulkRequestPayload::new(vec![BulkOperation::delete("/Users/9f2")])
///     .with_fail_on_errors(1);
/// assert_eq!(
///     serde_json::to_value(&payload)?,
///     json!({
///         "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
///         "Operations": [{"method": "DELETE", "path": "/Users/9f2"}],
///         "failOnErrors": 1
///     })
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkRequestPayload {
    /// The operations, in the order the server applies them. On the wire: `Operations`.
    pub operations: Vec<BulkOperation>,
    /// Stop after this many errors. On the wire: `failOnErrors`.
    pub fail_on_errors: Option<u64>,
    /// Attributes this crate does not model, kept as they came (e.g. the `request` auth object
    /// of a signed body).
    pub extra: Map<String, Value>,
}

impl BulkRequestPayload {
    /// A request carrying `operations`, without `failOnErrors`.
    pub fn new(operations: Vec<BulkOperation>) -> Self {
        BulkRequestPayload {
            operations,
            ..Default::default()
        }
    }

    /// The same request with `failOnErrors` set to `count`.
    pub fn with_fail_on_errors(mut self, count: u64) -> Self {
        self.fail_on_errors = Some(count);
        self
    }

    /// The `schemas` written on the wire: exactly the BulkRequest URN.
    pub fn schemas(&self) -> &'static [&'static str] {
        &[BULK_REQUEST_SCHEMA]
    }
}

const REQUEST_FIELDS: [&str; 3] = ["schemas", "Operations", "failOnErrors"];

impl Serialize for BulkRequestPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", self.schemas())?;
        map.serialize_entry("Operations", &self.operations)?;
        if let Some(count) = self.fail_on_errors {
            map.serialize_entry("failOnErrors", &count)?;
        }
        serialize_extra(&mut map, &self.extra, &REQUEST_FIELDS)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for BulkRequestPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequestVisitor;

        impl<'de> Visitor<'de> for RequestVisitor {
            type Value = BulkRequestPayload;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a BulkRequest object")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<BulkRequestPayload, A::Error> {
                let mut schemas_seen = false;
                let mut operations = None;
                let mut payload = BulkRequestPayload::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "schemas" => read_read_only_schemas(
                            &mut schemas_seen,
                            BULK_REQUEST_SCHEMA,
                            &mut map,
                        )?,
                        "Operations" => set_once_seq(&mut operations, "Operations", &mut map)?,
                        "failOnErrors" => {
                            set_once_opt(&mut payload.fail_on_errors, "failOnErrors", &mut map)?
                        }
                        _ => insert_extra(&mut payload.extra, key, &mut map)?,
                    }
                }
                payload.operations =
                    operations.ok_or_else(|| de::Error::missing_field("Operations"))?;
                Ok(payload)
            }
        }

        deserializer.deserialize_map(RequestVisitor)
    }
}

/// The body of a `200` answer to `POST /api/v2/Bulk`: one result per processed operation.
///
/// Reads `Operations` or `operations` (both occur in the wild); always writes `Operations`.
/// `schemas` is read-only: always written as exactly the BulkResponse URN.
///
/// ```
/// use map_entities::BulkResponsePayload;
///
/// let response: BulkResponsePayload = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
///     "operations": [{"method": "DELETE", "status": "404", "response": {
///         "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
///         "status": "404", "detail": "'9f2' Not Found"}}]
/// }"#)?;
/// let error = response.operations[0].response.as_ref().and_then(|r| r.as_error());
/// assert_eq!(error.and_then(|e| e.detail.as_deref()), Some("'9f2' Not Found"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkResponsePayload {
    /// The results, in the order the server processed the operations. On the wire:
    /// `Operations`.
    pub operations: Vec<BulkOperation>,
    /// Attributes this crate does not model, kept as they came.
    pub extra: Map<String, Value>,
}

impl BulkResponsePayload {
    /// A response carrying `operations`.
    pub fn new(operations: Vec<BulkOperation>) -> Self {
        BulkResponsePayload {
            operations,
            extra: Map::new(),
        }
    }

    /// The `schemas` written on the wire: exactly the BulkResponse URN.
    pub fn schemas(&self) -> &'static [&'static str] {
        &[BULK_RESPONSE_SCHEMA]
    }
}

const RESPONSE_FIELDS: [&str; 3] = ["schemas", "Operations", "operations"];

impl Serialize for BulkResponsePayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", self.schemas())?;
        map.serialize_entry("Operations", &self.operations)?;
        serialize_extra(&mut map, &self.extra, &RESPONSE_FIELDS)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for BulkResponsePayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ResponseVisitor;

        impl<'de> Visitor<'de> for ResponseVisitor {
            type Value = BulkResponsePayload;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a BulkResponse object")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<BulkResponsePayload, A::Error> {
                let mut schemas_seen = false;
                let mut operations = None;
                let mut payload = BulkResponsePayload::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "schemas" => read_read_only_schemas(
                            &mut schemas_seen,
                            BULK_RESPONSE_SCHEMA,
                            &mut map,
                        )?,
                        // Either spelling, but not both.
                        "Operations" | "operations" => {
                            set_once_seq(&mut operations, &key, &mut map)?
                        }
                        _ => insert_extra(&mut payload.extra, key, &mut map)?,
                    }
                }
                payload.operations =
                    operations.ok_or_else(|| de::Error::missing_field("Operations"))?;
                Ok(payload)
            }
        }

        deserializer.deserialize_map(ResponseVisitor)
    }
}
