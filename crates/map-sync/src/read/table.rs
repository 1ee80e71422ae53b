//! [`Table`]: rows of text cells with the line each came from, whatever the file format
//! (CSV, TSV, a spreadsheet's first sheet).

use super::ReadError;

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The line (or the sheet's row), 1-based.
    pub(crate) line: u64,
    /// The cells, as text; trailing ones may be missing.
    pub(crate) cells: Vec<String>,
}

impl Row {
    /// The cell in `column` (0-based), trimmed; empty when there is none.
    pub(crate) fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map_or("", |c| c.trim())
    }

    /// Whether every cell is empty.
    pub(crate) fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// The rows of a table file, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Table {
    /// Every row, the header included.
    pub(crate) rows: Vec<Row>,
}

/// A CSV table, or a TSV one when its first line has a tab.
pub(crate) fn read_delimited(name: &str, bytes: &[u8]) -> Result<Table, ReadError> {
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b'\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut table = Table::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            ReadError::one(format!("{name}:{line}: {}", e.kind_message()))
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        table.rows.push(Row {
            line,
            cells: record.iter().map(str::to_owned).collect(),
        });
    }
    Ok(table)
}

/// What went wrong in a CSV record, without the position (we say it our way).
trait KindMessage {
    fn kind_message(&self) -> String;
}

impl KindMessage for csv::Error {
    fn kind_message(&self) -> String {
        match self.kind() {
            csv::ErrorKind::Utf8 { err, .. } => format!("not UTF-8 text ({err})"),
            _ => self.to_string(),
        }
    }
}
