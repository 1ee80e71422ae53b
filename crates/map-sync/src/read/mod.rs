//! Reading desired files, told apart by content: JSON (an array of documents, or one
//! document per line), XLSX (a zip), or a CSV/TSV table; a table in the NII groups manager's
//! import layout is recognised by its header. [`read_desired`] adds a file's resources to a
//! [`Desired`] state, or says every bad row with its file, line and column.

mod documents;
mod encoding;
mod nii;
mod table;
mod users;
mod xlsx;

use crate::state::Desired;

pub use encoding::{Encoding, UnknownEncoding};

/// A desired file that cannot be read: every problem, each naming file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct ReadError {
    /// Each problem, as `file:line: column: what is wrong`.
    pub problems: Vec<String>,
}

impl ReadError {
    pub(crate) fn one(problem: String) -> Self {
        ReadError {
            problems: vec![problem],
        }
    }
}

/// What reading a file found besides resources: columns ignored and why.
pub type Notices = Vec<String>;

/// Adds the resources of the file `name` (its content `bytes`, UTF-8 or, told as
/// [`Encoding::Auto`] tells, UTF-16 or CP932) to `desired`, returning notices about what it
/// ignored or how it read the file.
///
/// ```
/// use map_sync::{Desired, read_desired};
///
/// let csv = "eduPersonPrincipalNames,userName,groups\njohn@idp.example.ac.jp,John,lab-a;lab-b\n";
/// let mut desired = Desired::default();
/// read_desired("people.csv", csv.as_bytes(), &mut desired)?;
/// assert_eq!(desired.users[0].groups.as_deref(), Some(&["lab-a".to_owned(), "lab-b".to_owned()][..]));
/// assert_eq!(desired.users[0].origin.to_string(), "people.csv:2");
/// # Ok::<(), map_sync::ReadError>(())
/// ```
pub fn read_desired(name: &str, bytes: &[u8], desired: &mut Desired) -> Result<Notices, ReadError> {
    read_desired_as(name, bytes, Encoding::Auto, desired)
}

/// [`read_desired`] with the file's text encoding given (`--encoding`); an XLSX workbook
/// is a zip whatever is given.
///
/// ```
/// use map_sync::{Desired, Encoding, read_desired_as};
///
/// // "userName\n山田\n" as Excel writes a CSV on Japanese Windows (CP932).
/// let cp932 = b"userName\n\x8eR\x93c\n";
/// let mut desired = Desired::default();
/// read_desired_as("people.csv", cp932, Encoding::Cp932, &mut desired)?;
/// assert_eq!(desired.users[0].attributes.string("userName").as_deref(), Some("山田"));
/// # Ok::<(), map_sync::ReadError>(())
/// ```
pub fn read_desired_as(
    name: &str,
    bytes: &[u8],
    encoding: Encoding,
    desired: &mut Desired,
) -> Result<Notices, ReadError> {
    if bytes.starts_with(b"PK\x03\x04") {
        let table = xlsx::first_sheet(name, bytes)?;
        return users::from_table(name, &table, desired);
    }
    let (text, decoded_as) = encoding::decode(name, bytes, encoding)?;
    let mut notices: Notices = decoded_as.into_iter().collect();
    let first = text.bytes().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{' | b'[')) {
        documents::read(name, &text, desired)?;
        return Ok(notices);
    }
    let table = table::read_delimited(name, &text)?;
    notices.extend(users::from_table(name, &table, desired)?);
    Ok(notices)
}
