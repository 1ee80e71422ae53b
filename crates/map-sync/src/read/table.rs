//! [`Table`]: rows of text cells with the line each came from, whatever the file format
//! (CSV, TSV, a spreadsheet's first sheet). Lines are the file's physical lines, counted
//! from 1 whatever its line endings (`\n` or Excel's `\r\n`).
//!
//! A table never guesses: a cell holding a line break is refused (mAP's attributes are
//! single-line; in a CSV it is nearly always a stray quote that swallowed the rows after
//! it), naming the line and column where the cell starts, and a quote never closed is an
//! error naming the line where it opened.

use super::ReadError;
use super::encoding::line_at;

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

    /// A problem for each column this row (a header) names again, naming both columns:
    /// which of the two was meant cannot be known.
    pub(crate) fn repeated_columns(&self, name: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, cell) in self.cells.iter().enumerate() {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            if let Some(first) = self.cells[..i].iter().position(|c| c.trim() == cell) {
                problems.push(format!(
                    "{name}:{}: columns {} and {} both name {cell:?}: say it once",
                    self.line,
                    first + 1,
                    i + 1
                ));
            }
        }
        problems
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

impl Table {
    /// Every cell holding a line break, as a problem naming where the cell starts, in the
    /// rows that hold data (`holds_data(i)` for the i-th row: not a layout's title or
    /// description rows).
    pub(crate) fn multi_line_cells(
        &self,
        name: &str,
        holds_data: impl Fn(usize) -> bool,
    ) -> Result<(), ReadError> {
        let mut problems = Vec::new();
        for (_, row) in self.rows.iter().enumerate().filter(|(i, _)| holds_data(*i)) {
            let mut line = row.line;
            for (i, cell) in row.cells.iter().enumerate() {
                if cell.contains(['\n', '\r']) {
                    problems.push(format!(
                        "{name}:{line}: column {}: the cell holds a line break, which no mAP attribute may (a stray quote in the file?)",
                        i + 1
                    ));
                }
                line += cell.matches('\n').count() as u64;
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ReadError { problems })
        }
    }
}

/// A CSV table, or a TSV one when its first line has a tab.
pub(crate) fn read_delimited(name: &str, text: &str) -> Result<Table, ReadError> {
    let bytes = text.as_bytes();
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
    // Lines are counted here from byte offsets: the csv crate's own count is off by one
    // after each `\r\n`-ended record.
    let (mut counted_to, mut line) = (0usize, 1u64);
    let mut record = csv::StringRecord::new();
    loop {
        let start = reader.position().byte() as usize;
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let at = error.position().map_or(start, |p| p.byte() as usize);
                return Err(ReadError::one(format!(
                    "{name}:{}: {error}",
                    line_at(bytes, at)
                )));
            }
        }
        // A record's position is where reading it began, before the blank lines skipped.
        let mut start = record.position().map_or(start, |p| p.byte() as usize);
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += line_at(&bytes[counted_to..], start.saturating_sub(counted_to)) - 1;
        counted_to = start.max(counted_to);
        let end = reader.position().byte() as usize;
        if end >= bytes.len()
            && let Some(opened) = unclosed_quote(&bytes[start..])
        {
            return Err(ReadError::one(format!(
                "{name}:{}: a quote opened here is never closed: the rest of the file would be one cell",
                line + line_at(&bytes[start..], opened) - 1
            )));
        }
        table.rows.push(Row {
            line,
            cells: record.iter().map(str::to_owned).collect(),
        });
    }
    Ok(table)
}

/// Where, in the last record of a file (`record`, up to its end), a quote opens that is
/// never closed: the record's quotes, pairs (`""`) included, are then odd in number.
fn unclosed_quote(record: &[u8]) -> Option<usize> {
    let quotes: Vec<usize> = record
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'"')
        .map(|(i, _)| i)
        .collect();
    if quotes.len() % 2 == 1 {
        // The opening quote that is left over: the last one that starts a cell.
        quotes
            .iter()
            .rev()
            .find(|&&i| i == 0 || matches!(record[i - 1], b',' | b'\t' | b'\n'))
            .or(quotes.first())
            .copied()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lines(table: &Table) -> Vec<u64> {
        table.rows.iter().map(|r| r.line).collect()
    }

    #[test]
    fn lines_are_physical_whatever_the_line_endings() {
        let lf = read_delimited("f.csv", "a,b\n1,2\n\n3,4\n").unwrap();
        let crlf = read_delimited("f.csv", "a,b\r\n1,2\r\n\r\n3,4\r\n").unwrap();
        assert_eq!(lines(&lf), [1, 2, 4]);
        assert_eq!(lines(&crlf), [1, 2, 4]);
    }

    #[test]
    fn a_quote_never_closed_names_the_line_it_opened() {
        let error = read_delimited(
            "f.csv",
            "userName,emails\nAlice,a@x.jp\r\n\"Bob,b@x.jp\r\nCarol,c@x.jp\r\n",
        )
        .unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
        assert!(
            error.problems[0].starts_with("f.csv:3: a quote opened here is never closed"),
            "{error}"
        );
    }

    #[test]
    fn a_quote_never_closed_on_a_last_line_without_a_line_end_is_found_too() {
        let error = read_delimited("f.csv", "userName,emails\n\"Carol,c@x.jp").unwrap_err();
        assert!(
            error.problems[0].starts_with("f.csv:2: a quote opened here is never closed"),
            "{error}"
        );
    }

    #[test]
    fn a_cell_holding_a_line_break_is_refused_where_it_starts() {
        let table =
            read_delimited("f.csv", "userName,emails\n\"A\nB\",\"x\ny\"\nC,c@x.jp\n").unwrap();
        let error = table.multi_line_cells("f.csv", |_| true).unwrap_err();
        assert_eq!(
            error.problems,
            [
                "f.csv:2: column 1: the cell holds a line break, which no mAP attribute may (a stray quote in the file?)",
                "f.csv:3: column 2: the cell holds a line break, which no mAP attribute may (a stray quote in the file?)",
            ]
        );
    }

    #[test]
    fn quoted_cells_without_line_breaks_are_read_as_they_are() {
        let table = read_delimited("f.csv", "a,b\r\n\"x, \"\"y\"\"\",z\r\n").unwrap();
        assert_eq!(table.rows[1].cells, ["x, \"y\"", "z"]);
    }
}
