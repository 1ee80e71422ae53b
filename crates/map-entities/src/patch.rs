//! PATCH documents (RFC 7644 §3.5.2): [`PatchRequestPayload`] and [`PatchOperation`].

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::schema::PATCH_OP_SCHEMA;
use crate::wire::{
    insert_extra, read_read_only_schemas, serialize_extra, set_once, set_once_opt, set_once_seq,
};

/// What a patch operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    /// Add values (to a multi-valued attribute, e.g. `members`) or set an attribute.
    Add,
    /// Remove an attribute or the values a filter selects.
    Remove,
    /// Replace an attribute's value.
    Replace,
}

/// One operation of a PATCH: `op`, an optional `path`, and a `value`.
///
/// ```
/// use map_entities::{PatchOperation, PatchRequestPayload};
/// use serde_json::json;
///
/// let patch = PatchRequestPayload::new(vec![PatchOperation::add("members", json!([{"type": "User", "value": "u-1"}]))]);
/// assert_eq!(
///     serde_json::to_value(&patch)?,
///     json!({
///         "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///         "Operations": [{"op": "add", "path": "members", "value": [{"type": "User", "value": "u-1"}]}]
///     })
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// `add`, `remove` or `replace`. On the wire: `op`.
    pub op: PatchOp,
    /// The attribute path, e.g. `members` or `members[value eq "u-1"]`. On the wire: `path`.
    pub path: Option<String>,
    /// The value to add or replace with. On the wire: `value`.
    pub value: Option<Value>,
    /// Attributes this crate does not model, kept as they came.
    pub extra: Map<String, Value>,
}

impl PatchOperation {
    /// An operation `op` on `path` with `value`.
    pub fn new(op: PatchOp, path: Option<String>, value: Option<Value>) -> Self {
        PatchOperation {
            op,
            path,
            value,
            extra: Map::new(),
        }
    }

    /// Adds `value` at `path`.
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        Self::new(PatchOp::Add, Some(path.into()), Some(value))
    }

    /// Replaces the attribute at `path` with `value`.
    pub fn replace(path: impl Into<String>, value: Value) -> Self {
        Self::new(PatchOp::Replace, Some(path.into()), Some(value))
    }

    /// Removes what `path` selects.
    pub fn remove(path: impl Into<String>) -> Self {
        Self::new(PatchOp::Remove, Some(path.into()), None)
    }
}

const OPERATION_FIELDS: [&str; 3] = ["op", "path", "value"];

impl Serialize for PatchOperation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("op", &self.op)?;
        if let Some(path) = &self.path {
            map.serialize_entry("path", path)?;
        }
        if let Some(value) = &self.value {
            map.serialize_entry("value", value)?;
        }
        serialize_extra(&mut map, &self.extra, &OPERATION_FIELDS)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for PatchOperation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OperationVisitor;

        impl<'de> Visitor<'de> for OperationVisitor {
            type Value = PatchOperation;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a patch operation object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PatchOperation, A::Error> {
                let mut op = None;
                let mut operation = PatchOperation::new(PatchOp::Add, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "op" => set_once(&mut op, "op", &mut map)?,
                        "path" => set_once_opt(&mut operation.path, "path", &mut map)?,
                        "value" => set_once_opt(&mut operation.value, "value", &mut map)?,
                        _ => insert_extra(&mut operation.extra, key, &mut map)?,
                    }
                }
                operation.op = op.ok_or_else(|| de::Error::missing_field("op"))?;
                Ok(operation)
            }
        }

        deserializer.deserialize_map(OperationVisitor)
    }
}

/// The body of a PATCH (also the `data` of a bulk PATCH). `schemas` is read-only: always
/// written as exactly the PatchOp URN.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatchRequestPayload {
    /// The operations, applied in order. On the wire: `Operations`.
    pub operations: Vec<PatchOperation>,
    /// Attributes this crate does not model, kept as they came.
    pub extra: Map<String, Value>,
}

impl PatchRequestPayload {
    /// A PATCH body carrying `operations`.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchRequestPayload {
            operations,
            extra: Map::new(),
        }
    }

    /// The `schemas` written on the wire: exactly the PatchOp URN.
    pub fn schemas(&self) -> &'static [&'static str] {
        &[PATCH_OP_SCHEMA]
    }
}

const PAYLOAD_FIELDS: [&str; 2] = ["schemas", "Operations"];

impl Serialize for PatchRequestPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", self.schemas())?;
        map.serialize_entry("Operations", &self.operations)?;
        serialize_extra(&mut map, &self.extra, &PAYLOAD_FIELDS)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for PatchRequestPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;

        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = PatchRequestPayload;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a PatchOp object")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<PatchRequestPayload, A::Error> {
                let mut schemas_seen = false;
                let mut operations = None;
                let mut payload = PatchRequestPayload::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "schemas" => {
                            read_read_only_schemas(&mut schemas_seen, PATCH_OP_SCHEMA, &mut map)?
                        }
                        "Operations" => set_once_seq(&mut operations, "Operations", &mut map)?,
                        _ => insert_extra(&mut payload.extra, key, &mut map)?,
                    }
                }
                payload.operations =
                    operations.ok_or_else(|| de::Error::missing_field("Operations"))?;
                Ok(payload)
            }
        }

        deserializer.deserialize_map(PayloadVisitor)
    }
}
/// The `data` of a bulk PATCH: a PatchOp document (RFC 7644), or one bare patch operation,
/// as mAP Core's own client writes it (`{"op": "add", "path": "members", "value": …}`).
///
/// Told apart by the `op` key: an object with one is a bare operation. Written back in the
/// form it was read.
///
/// ```
/// use map_entities::{PatchData, PatchOp};
///
/// let bare: PatchData = serde_json::from_str(r#"{"op": "remove", "path": "members[value eq u1]"}"#)?;
/// assert_eq!(bare.operations()[0].op, PatchOp::Remove);
/// let document: PatchData = serde_json::from_str(
///     r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": []}]}"#,
/// )?;
/// assert_eq!(document.operations().len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum PatchData {
    /// A PatchOp document with its `Operations`.
    Document(PatchRequestPayload),
    /// One bare patch operation.
    Operation(PatchOperation),
}

impl PatchData {
    /// The patch operations, in order.
    pub fn operations(&self) -> &[PatchOperation] {
        match self {
            PatchData::Document(document) => &document.operations,
            PatchData::Operation(operation) => std::slice::from_ref(operation),
        }
    }

    /// The patch operations, owned.
    pub fn into_operations(self) -> Vec<PatchOperation> {
        match self {
            PatchData::Document(document) => document.operations,
            PatchData::Operation(operation) => vec![operation],
        }
    }
}

impl Serialize for PatchData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PatchData::Document(document) => document.serialize(serializer),
            PatchData::Operation(operation) => operation.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for PatchData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = Map::<String, Value>::deserialize(deserializer)?;
        let value = Value::Object(object);
        if value.get("op").is_some() {
            PatchOperation::deserialize(value)
                .map(PatchData::Operation)
                .map_err(|e| de::Error::custom(format_args!("a patch operation: {e}")))
        } else {
            PatchRequestPayload::deserialize(value)
                .map(PatchData::Document)
                .map_err(|e| de::Error::custom(format_args!("a PatchOp document: {e}")))
        }
    }
}
