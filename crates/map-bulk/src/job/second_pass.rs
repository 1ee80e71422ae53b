//! The engine's second pass over a job: each operation read again, to be sent.
//!
//! A source that lends its operations' texts (NDJSON) is re-read as texts: each is checked
//! against the hash the first pass took of the text it validated ([`TextFacts`]), and its
//! fields are cut where the first pass found them — or, when it could not say, located by
//! [`scan_operation`] — instead of a second full parse. Other sources are parsed again.

use std::hash::BuildHasher;

use map_entities::BulkMethod;

use crate::job::source::{
    JobOperation, OperationRef, OperationSource, OperationTexts, Operations, SourceError,
};
use crate::job::spill::{Record, Spool, SpoolReader};
use crate::scan::scan_operation;
use crate::validate::JobInputError;

/// What the first pass learned of an operation's text for the second: a hash of the text,
/// and where its fields are in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextFacts {
    /// The text's 32-bit hash: a text changed between the passes is caught unless it hashes
    /// the same (1 in 4 billion).
    pub(crate) hash: u32,
    /// The fields' places, when every field the first pass read was a slice of the text.
    pub(crate) fields: Option<FieldSpans>,
}

/// Where an operation's fields are in its text: byte ranges, `None` for a field it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSpans {
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<(u32, u32)>,
    pub(crate) path: Option<(u32, u32)>,
    pub(crate) version: Option<(u32, u32)>,
    pub(crate) data: Option<(u32, u32)>,
}

impl TextFacts {
    /// The facts of `op`, read from `text`.
    pub(crate) fn of(text: &str, op: &OperationRef<'_>) -> Self {
        TextFacts {
            hash: text_hash(text),
            fields: FieldSpans::of(text, op),
        }
    }
}

impl FieldSpans {
    fn of(text: &str, op: &OperationRef<'_>) -> Option<Self> {
        // A field's place, if it is a slice of `text`; `Some(None)` for an absent field.
        let span = |field: Option<&str>| -> Option<Option<(u32, u32)>> {
            let Some(field) = field else {
                return Some(None);
            };
            let start = (field.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
            let end = start + field.len();
            (end <= text.len()).then_some(())?;
            Some(Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?)))
        };
        Some(FieldSpans {
            method: op.method,
            bulk_id: span(op.bulk_id.as_deref())?,
            path: span(op.path.as_deref())?,
            version: span(op.version.as_deref())?,
            data: span(op.data)?,
        })
    }
}

/// An operation text's 32-bit hash.
pub(crate) fn text_hash(text: &str) -> u32 {
    foldhash::fast::FixedState::with_seed(0x7465_7874).hash_one(text) as u32
}

impl Record for TextFacts {
    const SIZE: usize = 37;

    fn encode(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.hash.to_le_bytes());
        let Some(fields) = self.fields else {
            out[4] = 0;
            return;
        };
        out[4] = match fields.method {
            BulkMethod::Post => 1,
            BulkMethod::Put => 2,
            BulkMethod::Patch => 3,
            BulkMethod::Delete => 4,
        };
        let spans = [fields.bulk_id, fields.path, fields.version, fields.data];
        for (span, out) in spans.iter().zip(out[5..].chunks_exact_mut(8)) {
            let (start, end) = span.unwrap_or((u32::MAX, u32::MAX));
            out[..4].copy_from_slice(&start.to_le_bytes());
            out[4..].copy_from_slice(&end.to_le_bytes());
        }
    }

    fn decode(bytes: &[u8]) -> Self {
        let method = match bytes[4] {
            1 => Some(BulkMethod::Post),
            2 => Some(BulkMethod::Put),
            3 => Some(BulkMethod::Patch),
            4 => Some(BulkMethod::Delete),
            _ => None,
        };
        let span = |at: usize| {
            let start = u32::decode(&bytes[at..at + 4]);
            let end = u32::decode(&bytes[at + 4..at + 8]);
            (start != u32::MAX).then_some((start, end))
        };
        TextFacts {
            hash: u32::decode(&bytes[..4]),
            fields: method.map(|method| FieldSpans {
                method,
                bulk_id: span(5),
                path: span(13),
                version: span(21),
                data: span(29),
            }),
        }
    }
}

/// One operation as the second pass read it, its data as JSON text.
#[derive(Debug, Clone)]
pub(crate) struct ReadOp {
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) data: Option<String>,
}

impl From<JobOperation> for ReadOp {
    fn from(op: JobOperation) -> Self {
        ReadOp {
            method: op.method,
            bulk_id: op.bulk_id,
            path: op.path,
            version: op.version,
            data: op.data.map(|data| Box::<str>::from(data).into_string()),
        }
    }
}

impl ReadOp {
    /// The operation in `text`, which the first pass validated and found `fields` in. The
    /// text's own buffer becomes the data's.
    fn from_spans(mut text: String, fields: FieldSpans) -> Option<Self> {
        let cut = |span: Option<(u32, u32)>| -> Option<Option<&str>> {
            match span {
                None => Some(None),
                Some((start, end)) => text.get(start as usize..end as usize).map(Some),
            }
        };
        let mut op = ReadOp {
            method: fields.method,
            bulk_id: cut(fields.bulk_id)?.map(str::to_owned),
            path: cut(fields.path)?.map(str::to_owned),
            version: cut(fields.version)?.map(str::to_owned),
            data: None,
        };
        if let Some((start, end)) = fields.data {
            text.get(start as usize..end as usize)?;
            text.truncate(end as usize);
            text.replace_range(..start as usize, "");
            op.data = Some(text);
        }
        Some(op)
    }

    /// The operation in `text`, which the first pass validated. The text's own buffer
    /// becomes the data's.
    fn from_text(mut text: String) -> Result<Self, String> {
        match scan_operation(&text) {
            Some(found) => {
                let data = found.data.map(|data| {
                    let start = data.as_ptr() as usize - text.as_ptr() as usize;
                    (start, start + data.len())
                });
                let mut op = ReadOp {
                    method: found.method,
                    bulk_id: found.bulk_id.map(str::to_owned),
                    path: found.path.map(str::to_owned),
                    version: found.version.map(str::to_owned),
                    data: None,
                };
                if let Some((start, end)) = data {
                    text.truncate(end);
                    text.replace_range(..start, "");
                    op.data = Some(text);
                }
                Ok(op)
            }
            None => serde_json::from_str::<JobOperation>(&text)
                .map(ReadOp::from)
                .map_err(|e| e.to_string()),
        }
    }
}

/// The second pass's reader.
pub(crate) enum SecondPass<'a> {
    /// Operations parsed again.
    Parsed(Operations<'a>),
    /// Texts checked against the first pass's hashes.
    Texts {
        texts: OperationTexts<'a>,
        /// What the first pass learned of each text, read in step with the texts.
        facts: SpoolReader<TextFacts>,
    },
}

impl<'a> SecondPass<'a> {
    /// Opens the second pass over a validated job: the texts the first pass checked
    /// (`text_facts`), when the source lent them, or its operations parsed again.
    pub(crate) fn open(
        source: &'a mut dyn OperationSource,
        text_facts: Option<Spool<TextFacts>>,
    ) -> Result<Self, JobInputError> {
        let Some(facts) = text_facts else {
            return Ok(SecondPass::Parsed(
                source.operations().map_err(JobInputError::Source)?,
            ));
        };
        let Some(texts) = source.texts() else {
            return Err(JobInputError::Source(SourceError {
                index: None,
                line: None,
                message:
                    "the source lent its operations' texts to the first pass but not to the second"
                        .to_owned(),
            }));
        };
        Ok(SecondPass::Texts {
            texts: texts.map_err(JobInputError::Source)?,
            facts: facts.into_reader().map_err(JobInputError::temp_file)?,
        })
    }

    /// The next operation, or why it cannot be sent; `None` at the end.
    pub(crate) fn next(&mut self) -> Option<Result<ReadOp, String>> {
        match self {
            SecondPass::Parsed(operations) => Some(
                operations
                    .next()?
                    .map(ReadOp::from)
                    .map_err(|error| format!("could not be read again: {error}")),
            ),
            SecondPass::Texts { texts, facts } => {
                let text = match texts.next()? {
                    Ok(text) => text,
                    Err(error) => return Some(Err(format!("could not be read again: {error}"))),
                };
                let fields = match facts.next() {
                    Some(Ok(expected)) if expected.hash == text_hash(&text) => expected.fields,
                    Some(Err(error)) => {
                        return Some(Err(format!(
                            "its hash from the first pass could not be read back: {error}; not sent"
                        )));
                    }
                    Some(Ok(_)) | None => {
                        return Some(Err(
                            "the input changed since it was validated; not sent".to_owned()
                        ));
                    }
                };
                let text = match fields {
                    Some(fields) => match ReadOp::from_spans(text, fields) {
                        Some(op) => return Some(Ok(op)),
                        None => {
                            return Some(Err(
                                "its fields were not where the first pass found them; not sent"
                                    .to_owned(),
                            ));
                        }
                    },
                    None => text,
                };
                Some(
                    ReadOp::from_text(text)
                        .map_err(|error| format!("could not be read again: {error}")),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::scan::borrow_operation;

    #[test]
    fn facts_locate_the_fields_and_survive_the_spool() {
        let text = r#"{"method":"PATCH","bulkId":"b1","path":"/Groups/g","version":"W/\"1\"","data":{"Operations":[]}}"#;
        // The version has escapes: the scanner declines, serde reads it owned.
        assert!(borrow_operation(text).is_none());
        let owned: OperationRef<'_> = serde_json::from_str(text).unwrap();
        assert!(matches!(owned.version, Some(Cow::Owned(_))));
        assert_eq!(TextFacts::of(text, &owned).fields, None);

        let text =
            r#"{"method":"PATCH","bulkId":"b1","path":"/Groups/g","data":{"Operations":[]}}"#;
        let op = OperationRef {
            text: Some(text),
            ..borrow_operation(text).unwrap()
        };
        let facts = TextFacts::of(text, &op);
        let fields = facts.fields.unwrap();
        let cut = |span: Option<(u32, u32)>| span.map(|(a, b)| &text[a as usize..b as usize]);
        assert_eq!(fields.method, BulkMethod::Patch);
        assert_eq!(cut(fields.bulk_id), Some("b1"));
        assert_eq!(cut(fields.path), Some("/Groups/g"));
        assert_eq!(cut(fields.version), None);
        assert_eq!(cut(fields.data), Some(r#"{"Operations":[]}"#));

        let mut bytes = [0u8; TextFacts::SIZE];
        for facts in [facts, TextFacts::of(text, &owned)] {
            facts.encode(&mut bytes);
            assert_eq!(TextFacts::decode(&bytes), facts);
        }

        let read = ReadOp::from_spans(text.to_owned(), fields).unwrap();
        assert_eq!(read.bulk_id.as_deref(), Some("b1"));
        assert_eq!(read.path.as_deref(), Some("/Groups/g"));
        assert_eq!(read.data.as_deref(), Some(r#"{"Operations":[]}"#));
        // Spans that do not fit the text are refused, never cut wrongly.
        assert!(ReadOp::from_spans("{}".to_owned(), fields).is_none());
    }

    #[test]
    fn fields_lent_from_elsewhere_are_not_located() {
        let text = r#"{"method":"POST","bulkId":"u1","path":"/Users","data":{}}"#;
        let elsewhere = text.to_owned();
        let op = OperationRef {
            text: Some(text),
            ..borrow_operation(&elsewhere).unwrap()
        };
        assert_eq!(TextFacts::of(text, &op).fields, None);
    }
}
