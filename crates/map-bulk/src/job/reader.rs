//! [`JobReader`]: a job from a file, an open file or bytes, in any of the three formats mapctl
//! takes.
//!
//! - a BulkRequest document (`{"schemas": […], "Operations": […], "failOnErrors": n}`),
//! - a JSON array of operations,
//! - NDJSON: one operation per line, read as a stream (a million lines never sit in memory).
//!
//! The format is told apart by content: `[` starts an array; a first line that is a whole
//! object with `Operations` or `schemas` is a BulkRequest; a first line that is a whole object
//! otherwise is NDJSON; an object spread over lines is a BulkRequest.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::job::source::{
    JobOperation, OperationRef, OperationSource, OperationTexts, OperationVisitor, Operations,
    SourceError,
};
use crate::scan::borrow_operation;

/// The three input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// A BulkRequest document.
    BulkRequest,
    /// A JSON array of operations.
    JsonArray,
    /// One operation per line.
    Ndjson,
}

#[derive(Debug, Clone)]
enum Input {
    Path(PathBuf),
    Bytes(Arc<[u8]>),
    File(Arc<File>),
}

/// A job read from a file or from bytes; see the module docs for the formats.
///
/// ```
/// use map_bulk::{InputFormat, JobReader, OperationSource};
///
/// let ndjson = b"{\"method\":\"POST\",\"bulkId\":\"u1\",\"path\":\"/Users\",\"data\":{\"userName\":\"a\"}}\n\
///                {\"method\":\"DELETE\",\"path\":\"/Users/9f2\"}\n";
/// let mut reader = JobReader::from_bytes(ndjson.to_vec());
/// assert_eq!(reader.format()?, InputFormat::Ndjson);
/// assert_eq!(reader.operations()?.count(), 2);
/// # Ok::<(), map_bulk::SourceError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JobReader {
    input: Input,
    format: Option<InputFormat>,
    fail_on_errors: Option<u64>,
}

impl JobReader {
    /// A job in the file at `path` (read again for each pass).
    pub fn from_path(path: impl AsRef<Path>) -> Self {
        JobReader {
            input: Input::Path(path.as_ref().to_owned()),
            format: None,
            fail_on_errors: None,
        }
    }

    /// A job in an open file, read from its start for each pass by position (so readers never
    /// disturb each other's place): for instance stdin copied to a temporary file, which keeps
    /// memory flat however large the job. The file must not change while the job runs.
    ///
    /// ```
    /// use std::io::Write;
    /// use map_bulk::{JobReader, OperationSource};
    ///
    /// let mut file = tempfile::tempfile()?;
    /// file.write_all(b"{\"method\":\"DELETE\",\"path\":\"/Users/9f2\"}\n")?;
    /// let mut reader = JobReader::from_file(file);
    /// assert_eq!(reader.operations()?.count(), 1);
    /// assert_eq!(reader.operations()?.count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(file: File) -> Self {
        JobReader {
            input: Input::File(Arc::new(file)),
            format: None,
            fail_on_errors: None,
        }
    }

    /// A job held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        JobReader {
            input: Input::Bytes(bytes.into()),
            format: None,
            fail_on_errors: None,
        }
    }

    /// The input's format, told apart by its content.
    pub fn format(&mut self) -> Result<InputFormat, SourceError> {
        if let Some(format) = self.format {
            return Ok(format);
        }
        let mut reader = self.open()?;
        let mut first_line = Vec::new();
        loop {
            first_line.clear();
            let read = reader
                .read_until(b'\n', &mut first_line)
                .map_err(io_error)?;
            if read == 0 || first_line.iter().any(|b| !b.is_ascii_whitespace()) {
                break;
            }
        }
        let text = strip_bom(&first_line);
        let start = text.iter().position(|b| !b.is_ascii_whitespace());
        let format = match start.map(|i| text[i]) {
            None => InputFormat::Ndjson,
            Some(b'[') => InputFormat::JsonArray,
            Some(b'{') => {
                match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(text) {
                    Ok(object)
                        if object.contains_key("Operations") || object.contains_key("schemas") =>
                    {
                        InputFormat::BulkRequest
                    }
                    Ok(_) => InputFormat::Ndjson,
                    // An object that goes on past the first line is a pretty-printed document.
                    Err(e) if e.is_eof() => InputFormat::BulkRequest,
                    // A whole line that is not a good object: an NDJSON line, reported as such.
                    Err(_) => InputFormat::Ndjson,
                }
            }
            Some(other) => {
                return Err(SourceError {
                    index: None,
                    line: Some(1),
                    message: format!(
                        "expected a BulkRequest object, a JSON array or NDJSON operations, found {:?}",
                        char::from(other)
                    ),
                });
            }
        };
        self.format = Some(format);
        Ok(format)
    }

    /// The `failOnErrors` of a BulkRequest document, once its operations have been read.
    pub fn fail_on_errors(&self) -> Option<u64> {
        self.fail_on_errors
    }

    fn open(&self) -> Result<Box<dyn BufRead + Send>, SourceError> {
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            self.open_unbuffered()?,
        )))
    }

    fn open_unbuffered(&self) -> Result<Box<dyn Read + Send>, SourceError> {
        match &self.input {
            Input::Path(path) => {
                let file = File::open(path).map_err(|e| SourceError {
                    index: None,
                    line: None,
                    message: format!("cannot read {}: {e}", path.display()),
                })?;
                Ok(Box::new(file))
            }
            Input::Bytes(bytes) => Ok(Box::new(Cursor::new(bytes.clone()))),
            Input::File(file) => Ok(Box::new(FromStart {
                file: file.clone(),
                offset: 0,
            })),
        }
    }

    fn read_whole(&self) -> Result<Vec<u8>, SourceError> {
        let mut bytes = Vec::new();
        self.open_unbuffered()?
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        Ok(bytes)
    }
}

impl OperationSource for JobReader {
    fn operations(&mut self) -> Result<Operations<'_>, SourceError> {
        match self.format()? {
            InputFormat::Ndjson => Ok(Box::new(self.ndjson_lines()?)),
            InputFormat::JsonArray => {
                let bytes = self.read_whole()?;
                let elements: Vec<Box<RawValue>> = serde_json::from_slice(strip_bom(&bytes))
                    .map_err(|e| whole_error("a JSON array of operations", &e))?;
                Ok(Box::new(parse_elements(elements)))
            }
            InputFormat::BulkRequest => {
                #[derive(Deserialize)]
                struct Document {
                    #[serde(rename = "Operations")]
                    operations: Vec<Box<RawValue>>,
                    #[serde(rename = "failOnErrors", default)]
                    fail_on_errors: Option<u64>,
                }
                let bytes = self.read_whole()?;
                let document: Document = serde_json::from_slice(strip_bom(&bytes))
                    .map_err(|e| whole_error("a BulkRequest document", &e))?;
                self.fail_on_errors = document.fail_on_errors;
                Ok(Box::new(parse_elements(document.operations)))
            }
        }
    }

    /// NDJSON lines, as [`visit`](OperationSource::visit) lends them.
    fn texts(&mut self) -> Option<Result<OperationTexts<'_>, SourceError>> {
        match self.format() {
            Ok(InputFormat::Ndjson) => Some(
                self.ndjson_lines()
                    .map(|lines| Box::new(NdjsonTexts(lines)) as OperationTexts<'_>),
            ),
            Ok(_) => None,
            Err(error) => Some(Err(error)),
        }
    }

    /// NDJSON lines are lent straight from the line buffer; array elements from the document.
    fn visit(&mut self, visitor: &mut OperationVisitor<'_>) -> Result<(), SourceError> {
        if self.format()? != InputFormat::Ndjson {
            return visit_owned(self, visitor);
        }
        let mut lines = self.ndjson_lines()?;
        while let Some(found) = lines.next_line() {
            match found {
                Ok((text, index, line)) => visitor(match borrow_operation(text) {
                    Some(op) => Ok(op),
                    None => serde_json::from_str::<OperationRef<'_>>(text)
                        .map(|op| OperationRef {
                            text: Some(text),
                            ..op
                        })
                        .map_err(|e| line_error(index, line, e)),
                }),
                Err(error) => visitor(Err(error)),
            }
        }
        Ok(())
    }
}

impl JobReader {
    fn ndjson_lines(&self) -> Result<NdjsonLines, SourceError> {
        Ok(NdjsonLines {
            reader: LineReader::new(self.open_unbuffered()?),
            line: 0,
            index: 0,
            done: false,
        })
    }
}

/// Each NDJSON line's text, for the engine's second pass.
struct NdjsonTexts(NdjsonLines);

impl Iterator for NdjsonTexts {
    type Item = Result<String, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next_line()?.map(|(text, ..)| text.to_owned()))
    }
}

/// [`OperationSource::visit`]'s default, for the formats read whole.
fn visit_owned(
    source: &mut dyn OperationSource,
    visitor: &mut OperationVisitor<'_>,
) -> Result<(), SourceError> {
    for item in source.operations()? {
        match item {
            Ok(op) => visitor(Ok(op.borrowed())),
            Err(error) => visitor(Err(error)),
        }
    }
    Ok(())
}

fn parse_elements(
    elements: Vec<Box<RawValue>>,
) -> impl Iterator<Item = Result<JobOperation, SourceError>> + Send {
    elements.into_iter().enumerate().map(|(index, raw)| {
        serde_json::from_str(raw.get()).map_err(|e| SourceError {
            index: Some(index as u64),
            line: None,
            message: e.to_string(),
        })
    })
}

fn whole_error(expected: &str, error: &serde_json::Error) -> SourceError {
    SourceError {
        index: None,
        line: Some(error.line() as u64),
        message: format!("not {expected}: {error}"),
    }
}

/// An open file read from its start by position, leaving the file's own offset alone.
struct FromStart {
    file: Arc<File>,
    offset: u64,
}

impl Read for FromStart {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = crate::job::file_at::read_at(&self.file, buffer, self.offset)?;
        self.offset += read as u64;
        Ok(read)
    }
}

fn io_error(error: std::io::Error) -> SourceError {
    SourceError {
        index: None,
        line: None,
        message: format!("cannot read the input: {error}"),
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// NDJSON, one operation per non-blank line; a bad line is reported and reading goes on.
struct NdjsonLines {
    reader: LineReader,
    line: u64,
    index: u64,
    done: bool,
}

/// Lines lent straight from one large read buffer: no copy per line (std's `read_until`
/// copies every line into a second buffer).
struct LineReader {
    source: Box<dyn Read + Send>,
    buffer: Vec<u8>,
    /// The unread part of `buffer`.
    start: usize,
    end: usize,
    eof: bool,
}

impl LineReader {
    fn new(source: Box<dyn Read + Send>) -> Self {
        Self::with_capacity(source, 256 * 1024)
    }

    fn with_capacity(source: Box<dyn Read + Send>, capacity: usize) -> Self {
        LineReader {
            source,
            buffer: vec![0; capacity.max(1)],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// Where the next line (with its `\n`, if any) is in the buffer; `None` at the end.
    fn next_range(&mut self) -> Option<std::io::Result<std::ops::Range<usize>>> {
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.buffer[self.start..self.end]) {
                let range = self.start..self.start + at + 1;
                self.start = range.end;
                return Some(Ok(range));
            }
            if self.eof {
                if self.start == self.end {
                    return None;
                }
                let range = self.start..self.end;
                self.start = self.end;
                return Some(Ok(range));
            }
            // Keep the start of the unfinished line, and read more after it.
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buffer.len() {
                // A line longer than the buffer.
                self.buffer.resize(self.buffer.len() * 2, 0);
            }
            match self.source.read(&mut self.buffer[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(read) => self.end += read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl Iterator for NdjsonLines {
    type Item = Result<JobOperation, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (text, index, line) = match self.next_line()? {
            Ok(found) => found,
            Err(error) => return Some(Err(error)),
        };
        Some(serde_json::from_str(text).map_err(|e| line_error(index, line, e)))
    }
}

fn line_error(index: u64, line: u64, error: serde_json::Error) -> SourceError {
    SourceError {
        index: Some(index),
        line: Some(line),
        message: error.to_string(),
    }
}

impl NdjsonLines {
    /// The next non-blank line as text, with its operation index and line number.
    fn next_line(&mut self) -> Option<Result<(&str, u64, u64), SourceError>> {
        let range = loop {
            if self.done {
                return None;
            }
            let range = match self.reader.next_range() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Ok(range)) => range,
                Some(Err(error)) => {
                    self.done = true;
                    return Some(Err(io_error(error)));
                }
            };
            self.line += 1;
            let bytes = &self.reader.buffer[range.clone()];
            let bytes = if self.line == 1 {
                strip_bom(bytes)
            } else {
                bytes
            };
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                break range;
            }
        };
        let index = self.index;
        self.index += 1;
        let line = self.line;
        let bytes = &self.reader.buffer[range];
        let bytes = if line == 1 { strip_bom(bytes) } else { bytes };
        // One vectorised UTF-8 check of the line is cheaper than serde_json checking each
        // string of it.
        Some(match crate::scan::utf8(bytes) {
            Ok(text) => Ok((text, index, line)),
            Err(e) => Err(SourceError {
                index: Some(index),
                line: Some(line),
                message: format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_file_is_read_from_its_start_by_every_reader() {
        use std::io::{Seek, Write};
        let mut file = tempfile::tempfile().unwrap();
        for i in 0..1000 {
            writeln!(
                file,
                r#"{{"method":"POST","bulkId":"u{i}","path":"/Users","data":{{"userName":"u{i}"}}}}"#
            )
            .unwrap();
        }
        // The file's own offset is at its end, and stays wherever it is put.
        file.seek(std::io::SeekFrom::Start(17)).unwrap();
        let mut reader = JobReader::from_file(file);
        assert_eq!(reader.format().unwrap(), InputFormat::Ndjson);
        let mut first = reader.clone();
        let mut second = reader.clone();
        let mut a = first.texts().unwrap().unwrap();
        let mut b = second.texts().unwrap().unwrap();
        // Two readers taking turns each see every line, in order.
        for i in 0..1000 {
            let expected = format!(r#""bulkId":"u{i}""#);
            assert!(a.next().unwrap().unwrap().contains(&expected));
            assert!(b.next().unwrap().unwrap().contains(&expected));
        }
        assert!(a.next().is_none() && b.next().is_none());
        assert_eq!(reader.operations().unwrap().count(), 1000);
    }

    /// Hands out at most 3 bytes per read.
    struct Trickle(Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(3);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn lines_cross_reads_and_outgrow_the_buffer() {
        let long = "x".repeat(100);
        let text = format!("a\n\n{long}\nbc\r\nlast");
        let mut reader =
            LineReader::with_capacity(Box::new(Trickle(Cursor::new(text.into_bytes()))), 4);
        let mut lines = Vec::new();
        while let Some(range) = reader.next_range() {
            let range = range.unwrap();
            lines.push(String::from_utf8(reader.buffer[range].to_vec()).unwrap());
        }
        assert_eq!(lines, ["a\n", "\n", &format!("{long}\n"), "bc\r\n", "last"]);
    }

    fn formats(text: &str) -> Result<InputFormat, SourceError> {
        JobReader::from_bytes(text.as_bytes().to_vec()).format()
    }

    #[test]
    fn formats_are_told_apart_by_content() {
        assert_eq!(
            formats("\n [{\"method\":\"DELETE\",\"path\":\"/Users/1\"}]").unwrap(),
            InputFormat::JsonArray
        );
        assert_eq!(
            formats("{\"method\":\"DELETE\",\"path\":\"/Users/1\"}\n").unwrap(),
            InputFormat::Ndjson
        );
        assert_eq!(
            formats("{\"schemas\":[],\"Operations\":[]}").unwrap(),
            InputFormat::BulkRequest
        );
        assert_eq!(
            formats("{\n  \"Operations\": []\n}\n").unwrap(),
            InputFormat::BulkRequest
        );
        assert_eq!(
            formats("\u{feff}{\"method\":\"DELETE\",\"path\":\"/Users/1\"}").unwrap(),
            InputFormat::Ndjson
        );
        assert_eq!(formats("").unwrap(), InputFormat::Ndjson);
        assert!(
            formats("hello")
                .unwrap_err()
                .message
                .contains("expected a BulkRequest")
        );
    }

    #[test]
    fn ndjson_errors_name_the_line_and_reading_goes_on() {
        let text = b"{\"method\":\"DELETE\",\"path\":\"/Users/1\"}\n\n{\"method\":\"PUTCH\",\"path\":\"/Users/2\"}\n\xff\xfe\n{\"method\":\"DELETE\",\"path\":\"/Users/3\"}\n";
        let mut reader = JobReader::from_bytes(text.to_vec());
        let results: Vec<_> = reader.operations().unwrap().collect();
        assert_eq!(results.len(), 4);
        let bad = results[1].as_ref().unwrap_err();
        assert_eq!((bad.line, bad.index), (Some(3), Some(1)));
        assert!(bad.message.contains("PUTCH"), "{bad}");
        let binary = results[2].as_ref().unwrap_err();
        assert_eq!(binary.line, Some(4));
        assert!(binary.message.contains("UTF-8"));
        assert!(results[3].is_ok());
    }

    #[test]
    fn a_bulk_request_document_keeps_fail_on_errors() {
        let text = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":3,
                       "Operations":[{"method":"DELETE","path":"/Users/1"},{"method":"GET","path":"/Users/2"}]}"#;
        let mut reader = JobReader::from_bytes(text.as_bytes().to_vec());
        let results: Vec<_> = reader.operations().unwrap().collect();
        assert_eq!(reader.fail_on_errors(), Some(3));
        assert!(results[0].is_ok());
        assert_eq!(results[1].as_ref().unwrap_err().index, Some(1));
    }

    #[test]
    fn unknown_attributes_are_refused() {
        let typo = "{\"method\":\"DELETE\",\"path\":\"/Users/1\",\"bulkid\":\"x\"}\n";
        let mut reader = JobReader::from_bytes(typo.as_bytes().to_vec());
        let error = reader.operations().unwrap().next().unwrap().unwrap_err();
        assert!(
            error.message.contains(
                "unknown field `bulkid`, expected one of `method`, `bulkId`, `path`, `version`, `data`, `location`, `response`, `status`"
            ),
            "{error}"
        );
    }
}
