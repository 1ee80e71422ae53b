//! The engine's second pass over a job: each operation read again, to be sent.
//!
//! A source that lends its operations' texts (NDJSON) is re-read as texts: each is checked
//! against the hash the first pass took of the text it validated, and its fields are located
//! by [`scan_operation`] instead of a second full parse. Other sources are parsed again.

use map_entities::BulkMethod;

use crate::scan::scan_operation;
use crate::source::{JobOperation, OperationTexts, Operations};
use crate::spill::SpoolReader;
use crate::validate::text_hash;

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
        /// The first pass's hashes, one per operation, read in step with the texts.
        hashes: SpoolReader<u32>,
    },
}

impl SecondPass<'_> {
    /// The next operation, or why it cannot be sent; `None` at the end.
    pub(crate) fn next(&mut self) -> Option<Result<ReadOp, String>> {
        match self {
            SecondPass::Parsed(operations) => Some(
                operations
                    .next()?
                    .map(ReadOp::from)
                    .map_err(|error| format!("could not be read again: {error}")),
            ),
            SecondPass::Texts { texts, hashes } => {
                let text = match texts.next()? {
                    Ok(text) => text,
                    Err(error) => return Some(Err(format!("could not be read again: {error}"))),
                };
                match hashes.next() {
                    Some(Ok(expected)) if expected == text_hash(&text) => {}
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
                }
                Some(
                    ReadOp::from_text(text)
                        .map_err(|error| format!("could not be read again: {error}")),
                )
            }
        }
    }
}
