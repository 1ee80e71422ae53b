//! The first sheet of an XLSX workbook as a [`Table`], read with `calamine`.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::ReadError;
use super::table::{Row, Table};

pub(crate) fn first_sheet(name: &str, bytes: &[u8]) -> Result<Table, ReadError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        ReadError::one(format!("{name}: not a readable XLSX workbook: {e}"))
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let range = match workbook.worksheet_range_at(0) {
        Some(range) => range.map_err(|e| unreadable(&e))?,
        None => return Err(ReadError::one(format!("{name}: the workbook has no sheet"))),
    };
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row {
            line: first_row + i as u64 + 1,
            cells: cells.iter().map(text).collect(),
        })
        .collect();
    Ok(Table { rows })
}

/// A cell as the text a CSV export would hold (whole numbers without `.0`).
fn text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}
