//! The first pass over a job: every operation checked, every problem listed with its index,
//! and the plan of requests made — before anything is sent.
//!
//! Memory stays flat for large jobs: bulkIds are kept as 64-bit hashes (a hash collision
//! triggers an exact re-check), and they, each operation's size and what the second pass
//! needs of its text (a hash, where its fields are) go to temporary files past a bound
//! ([`crate::job::spill`]). Only the references themselves are kept
//! in memory, one per `bulkId:` reference.

use std::fmt;
use std::hash::BuildHasher;

use map_entities::{BulkMethod, PatchData, ResourceKind};

use crate::encode::{ENVELOPE_RESERVE, OperationParts, operation_size};
use crate::job::second_pass::TextFacts;
use crate::job::source::{OperationSource, SourceError};
use crate::job::spill::{Definition, Definitions, Scratch, Spool};
use crate::plan::{Plan, plan_requests};
use crate::reference::{normalize_path, references};

/// A substituted id may be longer than the `bulkId:X` it replaces; each reference is counted
/// this much larger when packing requests.
pub(crate) const REFERENCE_ALLOWANCE: usize = 64;

/// mAP resources are a few levels deep; data nested deeper than this is refused.
const MAX_DATA_DEPTH: usize = 64;

/// At most this many problems are listed; the rest are counted.
const MAX_LISTED_PROBLEMS: usize = 1000;

/// How many operations and bytes one bulk request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Operations per request (mAP's `maxOperations`). Default 1000.
    pub max_operations: usize,
    /// Bytes per request body, envelope and signature included (mAP's `maxPayloadSize`).
    /// Default 1 MiB.
    pub max_payload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 1000,
            max_payload_bytes: 1024 * 1024,
        }
    }
}

impl Limits {
    /// The bytes left for operations once the envelope is reserved.
    pub(crate) fn operation_bytes(&self) -> usize {
        self.max_payload_bytes.saturating_sub(ENVELOPE_RESERVE)
    }

    /// The most bytes one operation may count ([`counted_size`]) to fit a request alone:
    /// `max_payload_bytes` less the room kept for the envelope and the signature.
    pub fn operation_room(&self) -> usize {
        self.operation_bytes()
    }
}

/// The bytes `operation` counts toward a request, as the engine's validation counts them:
/// its encoding (method, bulkId, path, version, data as serde_json writes it), each
/// `bulkId:` reference counted larger by the room a substituted id may need. A planner that
/// keeps every operation within [`Limits::operation_room`] makes jobs validation accepts.
///
/// ```
/// use map_bulk::{Limits, counted_size};
/// use map_entities::BulkOperation;
/// use serde_json::json;
///
/// let small = BulkOperation::delete("/Groups/lab-a");
/// assert!(counted_size(&small) < Limits::default().operation_room());
/// let referring = BulkOperation::patch("/Groups/bulkId:g0", json!({"op": "add"}));
/// assert!(counted_size(&referring) > 64, "a reference counts the room of an id");
/// ```
pub fn counted_size(operation: &map_entities::BulkOperation) -> usize {
    let data = operation.data.as_ref().map(serde_json::Value::to_string);
    let path = operation.path.as_deref().unwrap_or("");
    let found = references(path, data.as_deref());
    operation_size(&OperationParts {
        method: operation.method,
        bulk_id: operation.bulk_id.as_deref(),
        path,
        version: operation.version.as_deref(),
        data: data.as_deref(),
    }) + found.len() * REFERENCE_ALLOWANCE
}

/// One thing wrong with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The operation's index (from 0), when the problem is about one operation.
    pub index: Option<u64>,
    /// The input line (from 1), when the input is line-oriented.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, self.line) {
            (Some(index), Some(line)) => {
                write!(f, "operation {index} (line {line}): {}", self.message)
            }
            (Some(index), None) => write!(f, "operation {index}: {}", self.message),
            (None, Some(line)) => write!(f, "line {line}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// A job refused whole: nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The problems, in input order (at most the first 1000).
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub total: usize,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the job is invalid ({} problem{}); nothing was sent",
            self.total,
            if self.total == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        if self.total > self.problems.len() {
            write!(f, "\n  … and {} more", self.total - self.problems.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// What the second pass needs from the first.
#[derive(Debug, Default)]
pub(crate) struct JobIndex {
    /// Hashes of every bulkId some operation references, sorted: only these created ids are
    /// remembered while sending.
    pub(crate) referenced: Vec<u64>,
    /// What the first pass learned of each operation's text (its hash, where its fields
    /// are), when the source lent every text: the second pass checks the texts it re-reads
    /// against these.
    pub(crate) text_facts: Option<Spool<TextFacts>>,
}

impl JobIndex {
    pub(crate) fn is_referenced(&self, bulk_id: &str) -> bool {
        !self.referenced.is_empty() && self.referenced.binary_search(&hash(bulk_id)).is_ok()
    }
}

/// A bulkId's 64-bit hash (foldhash: several times faster than SipHash on short ids, and
/// collisions are re-checked exactly).
pub(crate) fn hash(text: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6d61_702d_7273).hash_one(text)
}

/// A reference from one operation to a bulkId.
#[derive(Debug, Clone)]
struct Reference {
    hash: u64,
    from: u64,
    name: Box<str>,
    /// A reference in the path must name a resource of the path's kind.
    path_kind: Option<ResourceKind>,
}

struct Problems {
    listed: Vec<Problem>,
    total: usize,
}

impl Problems {
    fn push(&mut self, index: Option<u64>, line: Option<u64>, message: String) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(Problem {
                index,
                line,
                message,
            });
        }
    }
}

/// Checks every operation of `source` and plans its requests.
pub(crate) fn validate(
    source: &mut dyn OperationSource,
    limits: Limits,
) -> Result<(Plan, JobIndex), JobInputError> {
    if limits.max_operations == 0 || limits.operation_bytes() == 0 {
        return Err(JobInputError::Invalid(ValidationError {
            problems: vec![Problem {
                index: None,
                line: None,
                message: format!(
                    "limits too small: max_operations must be at least 1 and max_payload_bytes more than {ENVELOPE_RESERVE}"
                ),
            }],
            total: 1,
        }));
    }
    let mut problems = Problems {
        listed: Vec::new(),
        total: 0,
    };
    // One temporary file for everything spilled, created only if something is.
    let scratch = Scratch::default();
    let mut definitions = Definitions::new(&scratch);
    let mut refs: Vec<Reference> = Vec::new();
    let mut sizes: Spool<u32> = Spool::in_memory_up_to_bound(&scratch);
    let mut total = 0u64;

    // Whether the input failed to read partway (it is then refused whole).
    let mut fatal: Option<SourceError> = None;
    // Whether what is kept for later could not be written to a temporary file.
    let mut spill_error: Option<std::io::Error> = None;
    let mut kept = |result: std::io::Result<()>| {
        if let Err(error) = result {
            spill_error.get_or_insert(error);
        }
    };
    let mut text_facts: Option<Spool<TextFacts>> = Some(Spool::in_memory_up_to_bound(&scratch));
    source
        .visit(&mut |item| {
        if fatal.is_some() {
            return;
        }
        let index = total;
        total += 1;
        let op = match item {
            Ok(op) => op,
            Err(error) if error.index.is_none() && error.line.is_none() => {
                fatal = Some(error);
                return;
            }
            Err(error) => {
                problems.push(
                    Some(error.index.unwrap_or(index)),
                    error.line,
                    error.message,
                );
                kept(sizes.push(0));
                text_facts = None;
                return;
            }
        };
        match (&mut text_facts, op.text) {
            (Some(facts), Some(text)) => kept(facts.push(TextFacts::of(text, &op))),
            _ => text_facts = None,
        }
        let mut problem = |message: String| problems.push(Some(index), None, message);
        let target = match op.path.as_deref() {
            None | Some("") => {
                problem("path is required".to_owned());
                None
            }
            Some(path) => normalize_path(op.method, path).map_err(&mut problem).ok(),
        };
        // A POST needs a bulkId only when something refers to it: mAP Core's own client
        // sends none otherwise (a reference to an undefined bulkId is refused below).
        match (&op.bulk_id, op.method) {
            (Some(bulk_id), _) if bulk_id.is_empty() => {
                problem("bulkId must not be empty".to_owned())
            }
            (Some(bulk_id), method) => kept(definitions.push(Definition {
                hash: hash(bulk_id),
                index: u32::try_from(index).unwrap_or(u32::MAX),
                kind: target.as_ref().map(|t| t.kind),
                is_post: method == BulkMethod::Post,
            })),
            (None, _) => {}
        }
        match (op.data, op.method) {
            (None, BulkMethod::Delete) => {}
            (None, method) => problem(format!("data is required on {method}")),
            (Some(data), method) => {
                if !data.trim_start().starts_with('{') {
                    problem("data must be a JSON object".to_owned());
                } else if nesting_depth(data) > MAX_DATA_DEPTH {
                    problem(format!(
                        "data is nested more than {MAX_DATA_DEPTH} levels deep"
                    ));
                } else if method == BulkMethod::Patch {
                    if let Err(error) = serde_json::from_str::<PatchData>(data) {
                        problem(format!(
                            "data is neither a PatchOp document nor one patch operation: {error}"
                        ));
                    }
                } else if method == BulkMethod::Delete {
                    problem("DELETE takes no data".to_owned());
                }
            }
        }
        let path = target
            .as_ref()
            .map_or(op.path.as_deref().unwrap_or(""), |t| t.normalized.as_ref());
        let found = references(path, op.data);
        let path_refs = path
            .split('/')
            .filter(|s| s.starts_with(map_entities::BULK_ID_PREFIX))
            .count();
        for (position, name) in found.iter().enumerate() {
            refs.push(Reference {
                hash: hash(name),
                from: index,
                name: name.as_str().into(),
                path_kind: (position < path_refs)
                    .then(|| target.as_ref().map(|t| t.kind))
                    .flatten(),
            });
        }
        let size = operation_size(&OperationParts {
                method: op.method,
                bulk_id: op.bulk_id.as_deref(),
                path,
                version: op.version.as_deref(),
                data: op.data,
            },
        ) + found.len() * REFERENCE_ALLOWANCE;
        if size > limits.operation_bytes() {
            problem(format!(
                "the operation is {size} bytes encoded; a request of at most {} bytes leaves room for {} bytes of operations",
                limits.max_payload_bytes,
                limits.operation_bytes()
            ));
        }
        kept(sizes.push(u32::try_from(size).unwrap_or(u32::MAX)));
            })
        .map_err(JobInputError::Source)?;
    if let Some(error) = fatal {
        return Err(JobInputError::Source(error));
    }
    if let Some(error) = spill_error {
        return Err(JobInputError::temp_file(error));
    }
    if total == 0 {
        problems.push(None, None, "the job has no operations".to_owned());
    }
    if total > u64::from(u32::MAX) {
        problems.push(
            None,
            None,
            format!(
                "the job has {total} operations; at most {} are supported",
                u32::MAX
            ),
        );
    }

    // Each group holds every definition of a range of hashes: duplicates and the definition
    // a reference names are found within one group.
    refs.sort_unstable_by_key(|r| r.hash);
    let mut suspects: Vec<u64> = Vec::new();
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let mut unresolved = refs.as_slice();
    for group in definitions.into_groups() {
        let (range, group) = group.map_err(JobInputError::temp_file)?;
        suspects.extend(
            group
                .windows(2)
                .filter(|pair| pair[0].hash == pair[1].hash)
                .map(|pair| pair[0].hash),
        );
        let in_range = unresolved.partition_point(|r| r.hash <= *range.end());
        let (here, rest) = unresolved.split_at(in_range);
        unresolved = rest;
        for reference in here {
            let first = group.partition_point(|d| d.hash < reference.hash);
            let definition = group[first..]
                .iter()
                .take_while(|d| d.hash == reference.hash)
                .find(|d| d.is_post);
            resolve(reference, definition, &mut problems, &mut spans);
        }
    }
    check_duplicates(source, suspects, &mut problems)?;
    let spans = merge_spans(spans);
    let operations = sizes.len();
    let mut unreadable: Option<std::io::Error> = None;
    let sizes = sizes
        .into_reader()
        .map_err(JobInputError::temp_file)?
        .map_while(|size| size.map_err(|e| unreadable = Some(e)).ok());
    let mut plan = plan_requests(
        sizes,
        operations,
        &spans,
        limits,
        &mut |first, last, message| {
            problems.push(
                Some(first),
                None,
                format!("operations {first} to {last} {message}"),
            )
        },
    );
    if let Some(error) = unreadable {
        return Err(JobInputError::temp_file(error));
    }
    problems.listed.sort_by_key(|p| p.index.unwrap_or(u64::MAX));
    if problems.total > 0 {
        return Err(JobInputError::Invalid(ValidationError {
            problems: problems.listed,
            total: problems.total,
        }));
    }
    plan.references = refs.len() as u64;
    let mut referenced: Vec<u64> = refs.iter().map(|r| r.hash).collect();
    referenced.sort_unstable();
    referenced.dedup();
    Ok((
        plan,
        JobIndex {
            referenced,
            text_facts,
        },
    ))
}

/// Checks `reference` against the POST that defines its bulkId (`definition`, if any); a
/// reference to a later operation adds the span the two must share a request in.
fn resolve(
    reference: &Reference,
    definition: Option<&Definition>,
    problems: &mut Problems,
    spans: &mut Vec<(u64, u64)>,
) {
    let name = &reference.name;
    let Some(definition) = definition else {
        problems.push(
            Some(reference.from),
            None,
            format!("bulkId:{name} is not defined by a POST of this job"),
        );
        return;
    };
    let defined_by = u64::from(definition.index);
    if defined_by == reference.from {
        problems.push(
            Some(reference.from),
            None,
            format!("bulkId:{name} refers to the operation itself"),
        );
        return;
    }
    if let (Some(expected), Some(kind)) = (reference.path_kind, definition.kind)
        && expected != kind
    {
        problems.push(
                Some(reference.from),
                None,
                format!(
                    "the path refers to bulkId:{name}, which creates a {kind:?} (operation {defined_by}), not a {expected:?}"
                ),
            );
    }
    if defined_by > reference.from {
        spans.push((reference.from, defined_by));
    }
}

/// How deeply arrays and objects nest in a JSON text (strings are skipped).
fn nesting_depth(json: &str) -> usize {
    let bytes = json.as_bytes();
    // Cheap common case: too few brackets to be deep. `b | 0x20 == b'{'` holds for `[` and
    // `{` alone; counting in bytes, 255 at a time, lets the compiler vectorise it.
    let brackets: usize = bytes
        .chunks(255)
        .map(|chunk| {
            let count: u8 = chunk.iter().map(|&b| u8::from(b | 0x20 == b'{')).sum();
            usize::from(count)
        })
        .sum();
    if brackets <= MAX_DATA_DEPTH {
        return 0;
    }
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Operations that reference each other before their POST must share a request: joins
/// overlapping `(from, to)` spans.
fn merge_spans(mut spans: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Equal hashes are duplicates or (very rarely) collisions: re-read the job to tell, exactly.
fn check_duplicates(
    source: &mut dyn OperationSource,
    mut suspects: Vec<u64>,
    problems: &mut Problems,
) -> Result<(), JobInputError> {
    if suspects.is_empty() {
        return Ok(());
    }
    suspects.sort_unstable();
    suspects.dedup();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (index, item) in source
        .operations()
        .map_err(JobInputError::Source)?
        .enumerate()
    {
        let Ok(op) = item else { continue };
        let Some(bulk_id) = op
            .bulk_id
            .filter(|b| suspects.binary_search(&hash(b)).is_ok())
        else {
            continue;
        };
        if let Some(first) = seen.get(&bulk_id) {
            problems.push(
                Some(index as u64),
                None,
                format!("bulkId '{bulk_id}' is already used by operation {first}"),
            );
        } else {
            seen.insert(bulk_id, index as u64);
        }
    }
    Ok(())
}

/// Why a job could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobInputError {
    /// The job is invalid; every problem is listed.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The input could not be read at all.
    #[error("{0}")]
    Source(SourceError),
    /// What the first pass keeps of a large job could not be written to, or read back from,
    /// a temporary file in the system's temporary directory (`TMPDIR` on Unix); the message
    /// names the directory and the error.
    #[error("could not keep the job's index in a temporary file: {0}")]
    TempFile(String),
}

impl JobInputError {
    /// The temporary file's `error`, naming the directory it was to be in.
    pub(crate) fn temp_file(error: std::io::Error) -> Self {
        JobInputError::TempFile(format!(
            "{error} (directory {}; set TMPDIR to choose another)",
            std::env::temp_dir().display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!(
            r#"{{"a":{}1{}}}"#,
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        )
    }

    #[test]
    fn nesting_depth_counts_containers_and_not_brackets_in_strings() {
        assert_eq!(
            nesting_depth(r#"{"a":[{"b":[1]}]}"#),
            0,
            "few brackets: not counted"
        );
        assert_eq!(nesting_depth(&nested(MAX_DATA_DEPTH)), 0);
        assert_eq!(
            nesting_depth(&nested(MAX_DATA_DEPTH + 1)),
            MAX_DATA_DEPTH + 1
        );
        // Many brackets, but inside a string: shallow.
        let in_string = format!(r#"{{"a":"{}"}}"#, "[{".repeat(200));
        assert_eq!(nesting_depth(&in_string), 1);
        // Brackets spread over more than one 255-byte chunk are all counted.
        let spread = format!(
            r#"{{"a":{}"{}"{}}}"#,
            "[".repeat(40),
            "x".repeat(600),
            "]".repeat(40)
        );
        let deeper = spread.replacen("[", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 1);
        let deeper = deeper.replacen("]", "]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 1);
        assert_eq!(nesting_depth(&spread), 0);
        assert_eq!(nesting_depth(&deeper), 68);
    }
}
