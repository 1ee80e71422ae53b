//! Printing resources to stdout: one document (pretty-printed for people, one line for json
//! and ndjson), or a list a page at a time as it arrives — a table, one JSON document, or
//! one resource per line — so that memory stays flat however many pages there are.

use std::io::{self, BufWriter, StdoutLock, Write};
use std::marker::PhantomData;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::resources::kind::Listed;

/// The widest a table column grows from the values of the first page.
const MAX_COLUMN_WIDTH: usize = 40;

/// Prints `document` on its own.
pub(crate) fn document(document: &impl Serialize, output: OutputFormat) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match output {
        OutputFormat::Human => serde_json::to_writer_pretty(&mut out, document)?,
        OutputFormat::Json | OutputFormat::Ndjson => serde_json::to_writer(&mut out, document)?,
    }
    writeln!(out)?;
    out.flush()
}

/// Prints one line of text.
pub(crate) fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Prints a list of resources of kind `T`, a page at a time.
pub(crate) struct ListPrinter<T> {
    output: OutputFormat,
    out: BufWriter<StdoutLock<'static>>,
    /// The table's column widths, from the header and the first page.
    widths: Option<Vec<usize>>,
    shown: u64,
    total: Option<u64>,
    kind: PhantomData<fn(&T)>,
}

impl<T: Listed> ListPrinter<T> {
    pub(crate) fn new(output: OutputFormat) -> Self {
        ListPrinter {
            output,
            out: BufWriter::new(io::stdout().lock()),
            widths: None,
            shown: 0,
            total: None,
            kind: PhantomData,
        }
    }

    /// Prints one page; `total` is its `totalResults`.
    pub(crate) fn page(&mut self, resources: &[T], total: u64) -> io::Result<()> {
        if self.total.is_none() && self.output == OutputFormat::Json {
            write!(self.out, r#"{{"totalResults":{total},"Resources":["#)?;
        }
        self.total.get_or_insert(total);
        match self.output {
            OutputFormat::Human => self.rows(resources)?,
            OutputFormat::Json => {
                for (n, resource) in resources.iter().enumerate() {
                    if self.shown > 0 || n > 0 {
                        self.out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut self.out, resource)?;
                }
            }
            OutputFormat::Ndjson => {
                for resource in resources {
                    serde_json::to_writer(&mut self.out, resource)?;
                    self.out.write_all(b"\n")?;
                }
            }
        }
        self.shown += resources.len() as u64;
        self.out.flush()
    }

    /// Ends the list: closes the JSON document, or says how many of how many were shown.
    pub(crate) fn finish(mut self, all: bool) -> io::Result<()> {
        let total = self.total.unwrap_or(0);
        match self.output {
            OutputFormat::Json => writeln!(self.out, "]}}")?,
            OutputFormat::Ndjson => {}
            OutputFormat::Human => {
                if self.widths.is_none() {
                    self.rows(&[])?;
                }
                let more = if !all && self.shown < total {
                    " (--all for every page)"
                } else {
                    ""
                };
                writeln!(self.out, "{} of {total} {}{more}", self.shown, T::PLURAL)?;
            }
        }
        self.out.flush()
    }

    /// Table rows, after the header the first time.
    fn rows(&mut self, resources: &[T]) -> io::Result<()> {
        let rows: Vec<Vec<String>> = resources
            .iter()
            .map(|resource| resource.row().iter().map(|cell| printable(cell)).collect())
            .collect();
        if self.widths.is_none() {
            let header: Vec<String> = T::COLUMNS.iter().map(|c| (*c).to_owned()).collect();
            let widths = T::COLUMNS
                .iter()
                .enumerate()
                .map(|(column, name)| {
                    rows.iter()
                        .map(|row| crate::text::width(&row[column]))
                        .fold(name.len(), usize::max)
                        .min(MAX_COLUMN_WIDTH)
                })
                .collect();
            self.widths = Some(widths);
            self.row(&header)?;
        }
        for row in &rows {
            self.row(row)?;
        }
        Ok(())
    }

    fn row(&mut self, cells: &[String]) -> io::Result<()> {
        let widths = self.widths.as_deref().unwrap_or_default();
        let mut line = String::new();
        for (n, cell) in cells.iter().enumerate() {
            if n + 1 == cells.len() {
                line.push_str(cell);
            } else {
                let width = widths.get(n).copied().unwrap_or(0);
                line.push_str(&crate::text::pad(cell, width));
                line.push_str("  ");
            }
        }
        writeln!(self.out, "{}", line.trim_end())
    }
}

/// `text` with control characters (a server's, say, which could move the cursor or recolour
/// the terminal) shown as `\u{…}` escapes.
fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_do_not_reach_the_terminal() {
        assert_eq!(printable("Alice"), "Alice");
        assert_eq!(printable("A\u{1b}[2Jx\n"), "A\\u{1b}[2Jx\\u{a}");
    }
}
