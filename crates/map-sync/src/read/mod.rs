//! Reading desired files, told apart by content: JSON (an array of documents, or one
//! document per line), XLSX (a zip), or a CSV/TSV table; a table in the NII groups manager's
//! import layout is recognised by its header. [`read_desired`] adds a file's resources to a
//! [`Desired`] state, or says every bad row with its file, line and column.

mod documents;
mod nii;
mod table;
mod users;
mod xlsx;

use crate::state::Desired;

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

/// Adds the resources of the file `name` (its content `bytes`) to `desired`, returning
/// notices about what it ignored.
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
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    if bytes.starts_with(b"PK\x03\x04") {
        let table = xlsx::first_sheet(name, bytes)?;
        return users::from_table(name, &table, desired);
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{' | b'[')) {
        documents::read(name, bytes, desired)?;
        return Ok(Vec::new());
    }
    let table = table::read_delimited(name, bytes)?;
    users::from_table(name, &table, desired)
}
