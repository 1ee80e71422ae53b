//! Where a job's operations come from: [`JobOperation`] and [`OperationSource`].

use std::borrow::Cow;
use std::fmt;

use map_entities::{BulkMethod, BulkOperation};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One operation of a job, as read from the input: its `data` is kept as raw JSON, passed to
/// the server as it came unless a `bulkId:X` reference in it has to be substituted.
///
/// ```
/// use map_bulk::JobOperation;
///
/// let op: JobOperation = serde_json::from_str(
///     r#"{"method":"POST","bulkId":"u1","path":"/Users","data":{"userName":"alice"}}"#,
/// )?;
/// assert_eq!(op.data.as_ref().unwrap().get(), r#"{"userName":"alice"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "JobOperationFields")]
pub struct JobOperation {
    /// The method.
    pub method: BulkMethod,
    /// The `bulkId`: needed only when a later operation refers to what this POST creates.
    pub bulk_id: Option<String>,
    /// The resource path, e.g. `/Users`, `/Groups/lab-a` or `Groups/lab-a`.
    pub path: Option<String>,
    /// The resource version (an entity tag), sent as `version`.
    pub version: Option<String>,
    /// The resource or PatchOp document (or one bare patch operation), as raw JSON.
    pub data: Option<Box<RawValue>>,
}

/// [`JobOperation`] as written: its fields, and a result's fields left `null`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobOperationFields {
    method: BulkMethod,
    #[serde(rename = "bulkId", default)]
    bulk_id: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(rename = "location", default)]
    _location: ResultField,
    #[serde(rename = "response", default)]
    _response: ResultField,
    #[serde(rename = "status", default)]
    _status: ResultField,
}

impl From<JobOperationFields> for JobOperation {
    fn from(fields: JobOperationFields) -> Self {
        JobOperation {
            method: fields.method,
            bulk_id: fields.bulk_id,
            path: fields.path,
            version: fields.version,
            data: fields.data,
        }
    }
}

impl JobOperation {
    /// The operation, borrowed.
    pub fn borrowed(&self) -> OperationRef<'_> {
        OperationRef {
            method: self.method,
            bulk_id: self.bulk_id.as_deref().map(Cow::Borrowed),
            path: self.path.as_deref().map(Cow::Borrowed),
            version: self.version.as_deref().map(Cow::Borrowed),
            data: self.data.as_deref().map(RawValue::get),
            text: None,
        }
    }
}

/// One operation borrowed from the buffer it was read into: what the engine's first pass
/// (validation and planning) reads, so that it copies nothing. The same fields, rules and
/// error messages as [`JobOperation`].
///
/// ```
/// use map_bulk::OperationRef;
///
/// let line = r#"{"method":"POST","bulkId":"u1","path":"/Users","data":{"userName":"alice"}}"#;
/// let op: OperationRef<'_> = serde_json::from_str(line)?;
/// assert_eq!(op.bulk_id.as_deref(), Some("u1"));
/// assert_eq!(op.data, Some(r#"{"userName":"alice"}"#));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "OperationRefFields<'a>")]
pub struct OperationRef<'a> {
    /// The method.
    pub method: BulkMethod,
    /// The `bulkId` (needed only when something refers to the POST); owned only if it had
    /// escapes.
    pub bulk_id: Option<Cow<'a, str>>,
    /// The resource path.
    pub path: Option<Cow<'a, str>>,
    /// The resource version.
    pub version: Option<Cow<'a, str>>,
    /// The resource or PatchOp document (or one bare patch operation): its JSON text exactly
    /// as read (checked to be valid JSON).
    pub data: Option<&'a str>,
    /// The whole operation's JSON text, when the source lends it (set by the source, never
    /// read from the JSON): the engine hashes it so that its second pass, reading
    /// [`OperationSource::texts`], can tell the input has not changed.
    pub text: Option<&'a str>,
}

/// [`OperationRef`] as written: its fields, and a result's fields left `null`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationRefFields<'a> {
    method: BulkMethod,
    #[serde(rename = "bulkId", default, borrow, deserialize_with = "borrowed_text")]
    bulk_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    path: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    version: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "raw_json")]
    data: Option<&'a str>,
    #[serde(rename = "location", default)]
    _location: ResultField,
    #[serde(rename = "response", default)]
    _response: ResultField,
    #[serde(rename = "status", default)]
    _status: ResultField,
}

impl<'a> From<OperationRefFields<'a>> for OperationRef<'a> {
    fn from(fields: OperationRefFields<'a>) -> Self {
        OperationRef {
            method: fields.method,
            bulk_id: fields.bulk_id,
            path: fields.path,
            version: fields.version,
            data: fields.data,
            text: None,
        }
    }
}

/// `location`, `response` or `status` in a job's operation: a result's field, which mAP
/// Core's own client writes as `null` in every operation it sends. `null` reads as absent;
/// anything else is refused (a job cannot say what the server answered).
#[derive(Default)]
struct ResultField;

impl<'de> Deserialize<'de> for ResultField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NullVisitor;
        impl serde::de::Visitor<'_> for NullVisitor {
            type Value = ResultField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "null (location, response and status are the server's answer: a job leaves them out or null)",
                )
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<ResultField, E> {
                Ok(ResultField)
            }
        }
        deserializer.deserialize_any(NullVisitor)
    }
}

/// Optional raw JSON, as its text.
fn raw_json<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<&'a str>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<&'de RawValue>::deserialize(deserializer).map(|raw| raw.map(RawValue::get))
}

/// An optional string borrowed from the input unless it has escapes (serde's own
/// `Option<Cow<str>>` always copies).
fn borrowed_text<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct TextVisitor;
    impl<'de> serde::de::Visitor<'de> for TextVisitor {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(text)))
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text.to_owned())))
        }
    }
    deserializer.deserialize_option(TextVisitor)
}

impl PartialEq for JobOperation {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.bulk_id == other.bulk_id
            && self.path == other.path
            && self.version == other.version
            && self.data.as_ref().map(|d| d.get()) == other.data.as_ref().map(|d| d.get())
    }
}

impl From<&BulkOperation> for JobOperation {
    /// The request part of an entity operation (`location`, `status` and `response` are
    /// results and are left out).
    fn from(op: &BulkOperation) -> Self {
        JobOperation {
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            path: op.path.clone(),
            version: op.version.clone(),
            data: op
                .data
                .as_ref()
                .and_then(|data| serde_json::value::to_raw_value(data).ok()),
        }
    }
}

/// An input that could not be read, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceError {
    /// The operation's index, when the failure is about one operation.
    pub index: Option<u64>,
    /// The input line (from 1), for line-oriented input.
    pub line: Option<u64>,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.index) {
            (Some(line), Some(index)) => {
                write!(f, "line {line} (operation {index}): {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            (None, Some(index)) => write!(f, "operation {index}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// The operations of a job, in order.
pub type Operations<'a> = Box<dyn Iterator<Item = Result<JobOperation, SourceError>> + Send + 'a>;

/// A job's input. The engine reads it twice — once to validate and plan, once to send — so
/// that nothing is sent for an invalid job and a million operations never sit in memory.
pub trait OperationSource: Send {
    /// Starts a fresh pass over the operations, from the first.
    fn operations(&mut self) -> Result<Operations<'_>, SourceError>;

    /// Hands every operation, in order, to `visitor`, borrowed where the source can lend it
    /// (the engine validates through this, without copying). An `Err` only when the input
    /// cannot be read at all. The default borrows from [`operations`](Self::operations).
    fn visit(&mut self, visitor: &mut OperationVisitor<'_>) -> Result<(), SourceError> {
        for item in self.operations()? {
            match item {
                Ok(op) => visitor(Ok(op.borrowed())),
                Err(error) => visitor(Err(error)),
            }
        }
        Ok(())
    }

    /// A fresh pass over the operations' JSON texts — exactly the texts that
    /// [`visit`](Self::visit) lends as [`OperationRef::text`] — for sources that keep each
    /// operation as a text of its own (NDJSON lines). The engine's second pass reads these
    /// instead of parsing every operation again: each is checked against a hash of the text
    /// the first pass validated. `None` (the default) when the source has no such texts.
    fn texts(&mut self) -> Option<Result<OperationTexts<'_>, SourceError>> {
        None
    }
}

/// The operations' JSON texts, one per operation, in order: see [`OperationSource::texts`].
pub type OperationTexts<'a> = Box<dyn Iterator<Item = Result<String, SourceError>> + Send + 'a>;

/// What [`OperationSource::visit`] hands each operation to.
pub type OperationVisitor<'v> = dyn FnMut(Result<OperationRef<'_>, SourceError>) + 'v;

impl OperationSource for Vec<JobOperation> {
    fn operations(&mut self) -> Result<Operations<'_>, SourceError> {
        Ok(Box::new(self.iter().cloned().map(Ok)))
    }
}

impl OperationSource for Vec<BulkOperation> {
    fn operations(&mut self) -> Result<Operations<'_>, SourceError> {
        Ok(Box::new(self.iter().map(|op| Ok(JobOperation::from(op)))))
    }
}
