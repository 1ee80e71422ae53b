//! A job's operations: the one seam the engine reads them through ([`OperationSource`]), which
//! operations built in memory and job files ([`JobReader`]: NDJSON, a JSON array, a
//! BulkRequest document) both implement, and how a job file is read quickly behind it: read
//! twice without holding it (a first pass to validate, a second to send), its texts checked to
//! be the ones validated ([`second_pass`]), what the first pass learned spilled to a temporary
//! file past a bound ([`spill`]), files read by position ([`file_at`]). The engine sees only
//! [`OperationSource`] and the operations the second pass yields.

pub(crate) mod file_at;
pub(crate) mod reader;
pub(crate) mod second_pass;
pub(crate) mod source;
pub(crate) mod spill;

pub use reader::{InputFormat, JobReader};
pub use source::{
    JobOperation, OperationRef, OperationSource, OperationTexts, OperationVisitor, Operations,
    SourceError,
};
