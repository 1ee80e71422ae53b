//! Writing bulk request bodies, fast: operations are written straight into one buffer and
//! their `data` passes through as raw JSON.

use map_entities::{BULK_REQUEST_SCHEMA, BulkMethod};
use serde_json::value::RawValue;

/// The unsigned BulkRequest body the engine sends for `operations`: written straight into one
/// buffer, each operation's `data` passed through as raw JSON. (The signer then puts the
/// `request` auth object first.)
///
/// ```
/// use map_bulk::{JobOperation, encode_request};
///
/// let op: JobOperation = serde_json::from_str(r#"{"method":"DELETE","path":"/Users/9f2"}"#)?;
/// let body = encode_request(&[op], Some(1));
/// assert_eq!(
///     String::from_utf8(body).unwrap(),
///     r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"DELETE","path":"/Users/9f2"}],"failOnErrors":1}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn encode_request(operations: &[crate::JobOperation], fail_on_errors: Option<u64>) -> Vec<u8> {
    let mut writer = BodyWriter::new(0, operations.len() * 192);
    for op in operations {
        writer.push(&OperationParts {
            method: op.method,
            bulk_id: op.bulk_id.as_deref(),
            path: op.path.as_deref().unwrap_or(""),
            version: op.version.as_deref(),
            data: op.data.as_deref().map(RawValue::get),
        });
    }
    writer.finish(fail_on_errors)
}

/// Bytes kept free in every request for the envelope (`schemas`, `Operations`,
/// `failOnErrors`) and the `request` auth object the signer adds (about 110 bytes).
pub(crate) const ENVELOPE_RESERVE: usize = 256;

/// The request part of one operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OperationParts<'a> {
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<&'a str>,
    pub(crate) path: &'a str,
    pub(crate) version: Option<&'a str>,
    /// The data's JSON text, passed through as it is.
    pub(crate) data: Option<&'a str>,
}

/// Appends one operation object to `out`.
pub(crate) fn write_operation(out: &mut Vec<u8>, op: &OperationParts<'_>) {
    out.extend_from_slice(b"{\"method\":\"");
    out.extend_from_slice(op.method.as_str().as_bytes());
    out.push(b'"');
    if let Some(bulk_id) = op.bulk_id {
        out.extend_from_slice(b",\"bulkId\":");
        write_string(out, bulk_id);
    }
    out.extend_from_slice(b",\"path\":");
    write_string(out, op.path);
    if let Some(version) = op.version {
        out.extend_from_slice(b",\"version\":");
        write_string(out, version);
    }
    if let Some(data) = op.data {
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(data.as_bytes());
    }
    out.push(b'}');
}

/// The size [`write_operation`] writes for `op`, plus its separating comma, counted without
/// writing it.
pub(crate) fn operation_size(op: &OperationParts<'_>) -> usize {
    let mut size = r#"{"method":""#.len() + op.method.as_str().len() + r#""}"#.len() + 1;
    if let Some(bulk_id) = op.bulk_id {
        size += r#","bulkId":"#.len() + string_size(bulk_id);
    }
    size += r#","path":"#.len() + string_size(op.path);
    if let Some(version) = op.version {
        size += r#","version":"#.len() + string_size(version);
    }
    if let Some(data) = op.data {
        size += r#","data":"#.len() + data.len();
    }
    size
}

/// Whether serde_json writes `text` as it is (it escapes only `"`, `\` and control
/// characters).
fn needs_no_escape(text: &str) -> bool {
    text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// The size of `text` written as a JSON string.
fn string_size(text: &str) -> usize {
    if needs_no_escape(text) {
        text.len() + 2
    } else {
        serde_json::to_string(text).map_or(0, |written| written.len())
    }
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    // The common case, nothing to escape, is a copy.
    if needs_no_escape(text) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing a &str to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Builds one BulkRequest body, after `room` bytes left free for the signer (see
/// [`map_auth::Signer::sign_body_in_room`]).
pub(crate) struct BodyWriter {
    body: Vec<u8>,
    first: bool,
}

impl BodyWriter {
    /// A writer for about `capacity` bytes of operations.
    pub(crate) fn new(room: usize, capacity: usize) -> Self {
        let mut body = Vec::with_capacity(room + ENVELOPE_RESERVE + capacity);
        body.resize(room, 0);
        body.extend_from_slice(b"{\"schemas\":[\"");
        body.extend_from_slice(BULK_REQUEST_SCHEMA.as_bytes());
        body.extend_from_slice(b"\"],\"Operations\":[");
        BodyWriter { body, first: true }
    }

    pub(crate) fn push(&mut self, op: &OperationParts<'_>) {
        if !self.first {
            self.body.push(b',');
        }
        self.first = false;
        write_operation(&mut self.body, op);
    }

    pub(crate) fn finish(mut self, fail_on_errors: Option<u64>) -> Vec<u8> {
        self.body.push(b']');
        if let Some(count) = fail_on_errors {
            self.body.extend_from_slice(b",\"failOnErrors\":");
            self.body.extend_from_slice(count.to_string().as_bytes());
        }
        self.body.push(b'}');
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use map_entities::BulkRequestPayload;

    #[test]
    fn sizes_are_counted_as_written() {
        let data = r#"{"userName":"a\"b"}"#;
        for bulk_id in [None, Some("u1"), Some("u\"1")] {
            for version in [None, Some("W/\"1\"")] {
                for data in [None, Some(data)] {
                    for method in [BulkMethod::Post, BulkMethod::Delete] {
                        let op = OperationParts {
                            method,
                            bulk_id,
                            path: "/Users/ü\t",
                            version,
                            data,
                        };
                        let mut written = Vec::new();
                        write_operation(&mut written, &op);
                        assert_eq!(operation_size(&op), written.len() + 1, "{op:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "u1",
            "/Users/ü",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{7f}\u{1f}",
            "日本",
        ] {
            let mut out = Vec::new();
            write_string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn bodies_are_bulk_requests_the_model_reads_back() {
        let data =
            RawValue::from_string(r#"{"userName":"a\"b","emails":[{"value":"x@y"}]}"#.to_owned())
                .unwrap();
        let mut writer = BodyWriter::new(0, 0);
        writer.push(&OperationParts {
            method: BulkMethod::Post,
            bulk_id: Some("u\"1"),
            path: "/Users",
            version: None,
            data: Some(data.get()),
        });
        writer.push(&OperationParts {
            method: BulkMethod::Delete,
            bulk_id: None,
            path: "/Users/ü",
            version: Some("W/\"1\""),
            data: None,
        });
        let body = writer.finish(Some(2));
        let payload: BulkRequestPayload = serde_json::from_slice(&body).unwrap();
        assert_eq!(payload.operations.len(), 2);
        assert_eq!(payload.operations[0].bulk_id.as_deref(), Some("u\"1"));
        assert_eq!(
            payload.operations[0].data.as_ref().unwrap()["userName"],
            "a\"b"
        );
        assert_eq!(payload.operations[1].version.as_deref(), Some("W/\"1\""));
        assert_eq!(payload.fail_on_errors, Some(2));
        // Sizes add up to the body.
        let empty = BodyWriter::new(0, 0).finish(None).len();
        let one = operation_size(&OperationParts {
            method: BulkMethod::Delete,
            bulk_id: None,
            path: "/Users/1",
            version: None,
            data: None,
        });
        let mut writer = BodyWriter::new(0, 0);
        writer.push(&OperationParts {
            method: BulkMethod::Delete,
            bulk_id: None,
            path: "/Users/1",
            version: None,
            data: None,
        });
        assert_eq!(writer.finish(None).len(), empty + one - 1);
    }
}
