//! Rendering a job's progress and outcomes: a progress bar and a table (human), one JSON
//! document (json), or one line per operation (ndjson).

use std::io::{BufWriter, Stdout, Write};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use map_bulk::{Event, EventHandler, JobReport, Outcome, OutcomeKind};
use map_entities::MapError;
use serde::Serialize;

use crate::cli::OutputFormat;

/// At most this many operations that did not succeed are kept for the human table.
const MAX_TABLE_ROWS: usize = 1000;

/// One operation in the json and ndjson reports.
#[derive(Serialize)]
struct Entry<'a> {
    index: u64,
    method: &'static str,
    path: &'a str,
    #[serde(rename = "bulkId", skip_serializing_if = "Option::is_none")]
    bulk_id: Option<&'a str>,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a MapError>,
    /// The recognised shape of the error's detail (`notFound`, `alreadyTied`, …).
    #[serde(rename = "errorKind", skip_serializing_if = "Option::is_none")]
    error_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl<'a> Entry<'a> {
    fn of(outcome: &'a Outcome) -> Self {
        let mut entry = Entry {
            index: outcome.index,
            method: outcome.method.as_str(),
            path: &outcome.path,
            bulk_id: outcome.bulk_id.as_deref(),
            outcome: outcome.kind.name(),
            status: outcome.kind.status(),
            location: None,
            id: None,
            error: None,
            error_kind: None,
            reason: None,
        };
        match &outcome.kind {
            OutcomeKind::Succeeded {
                location, id, note, ..
            } => {
                entry.location = location.as_deref();
                entry.id = id.as_deref();
                entry.reason = note.clone();
            }
            OutcomeKind::Failed { error, message, .. } => {
                entry.error = error.as_ref();
                entry.error_kind = error_kind(error.as_ref());
                entry.reason = Some(message.clone());
            }
            OutcomeKind::Skipped { reason } => entry.reason = Some(reason.to_string()),
            OutcomeKind::Unknown { reason } => entry.reason = Some(reason.to_string()),
            _ => {}
        }
        entry
    }
}

/// The name of the recognised shape of `error`'s detail.
fn error_kind(error: Option<&MapError>) -> Option<&'static str> {
    Some(error?.detail_kind()?.name())
}

/// The summary in the json and ndjson reports.
#[derive(Serialize)]
struct SummaryEntry {
    total: u64,
    succeeded: u64,
    failed: u64,
    skipped: u64,
    unknown: u64,
    requests: u64,
    /// Operations whose outcome came from the journal of an earlier run.
    #[serde(skip_serializing_if = "is_zero")]
    resumed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl SummaryEntry {
    fn of(report: &JobReport) -> Self {
        let s = report.summary;
        SummaryEntry {
            total: s.total,
            succeeded: s.succeeded,
            failed: s.failed,
            skipped: s.skipped,
            unknown: s.unknown,
            requests: s.requests,
            resumed: report.resumed,
            stopped: report.stopped.as_ref().map(ToString::to_string),
        }
    }
}

enum Sink {
    Human {
        bar: ProgressBar,
        /// Every operation goes in the table, not only those that did not succeed.
        all: bool,
        /// Operations settled so far.
        settled: u64,
        rows: Vec<Outcome>,
        more: u64,
    },
    Json {
        first: bool,
    },
    Ndjson,
}

/// Receives a job's events and writes its report to stdout.
pub(crate) struct Renderer {
    sink: Sink,
    out: BufWriter<Stdout>,
}

impl Renderer {
    /// A renderer whose human table lists only what did not succeed.
    pub(crate) fn new(format: OutputFormat) -> Self {
        Self::with_table(format, false)
    }

    /// A renderer whose human table lists every operation when `all` is set.
    pub(crate) fn with_table(format: OutputFormat, all: bool) -> Self {
        let sink = match format {
            OutputFormat::Human => Sink::Human {
                bar: progress_bar(),
                all,
                settled: 0,
                rows: Vec::new(),
                more: 0,
            },
            OutputFormat::Json => Sink::Json { first: true },
            OutputFormat::Ndjson => Sink::Ndjson,
        };
        Renderer {
            sink,
            out: BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        }
    }

    /// Shares the renderer as an event handler.
    pub(crate) fn handler(renderer: &Arc<Mutex<Renderer>>) -> EventHandler {
        let renderer = renderer.clone();
        Arc::new(move |event: &Event<'_>| {
            renderer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .on_event(event);
        })
    }

    fn on_event(&mut self, event: &Event<'_>) {
        // A closed stdout (e.g. piped into `head`) must not stop the job: write errors are
        // ignored here and the job's outcome still decides the exit code.
        match (&mut self.sink, event) {
            (
                Sink::Human {
                    bar,
                    all,
                    rows,
                    more,
                    settled,
                },
                Event::OperationSettled(outcome),
            ) => {
                show_progress(bar, settled, event);
                if *all || !matches!(outcome.kind, OutcomeKind::Succeeded { .. }) {
                    if rows.len() < MAX_TABLE_ROWS {
                        rows.push((*outcome).clone());
                    } else {
                        *more += 1;
                    }
                }
            }
            (Sink::Human { bar, settled, .. }, event) => show_progress(bar, settled, event),
            (Sink::Json { first }, Event::Planned { .. }) if *first => {
                let _ = self.out.write_all(b"{\"operations\":[");
            }
            (Sink::Json { first }, Event::OperationSettled(outcome)) => {
                if !*first {
                    let _ = self.out.write_all(b",\n");
                } else {
                    let _ = self.out.write_all(b"\n");
                }
                *first = false;
                let _ = serde_json::to_writer(&mut self.out, &Entry::of(outcome));
            }
            (Sink::Ndjson, Event::OperationSettled(outcome)) => {
                let _ = serde_json::to_writer(&mut self.out, &Entry::of(outcome));
                let _ = self.out.write_all(b"\n");
                let _ = self.out.flush();
            }
            _ => {}
        }
    }

    /// Writes the end of the report.
    pub(crate) fn finish(&mut self, report: &JobReport) {
        let summary = SummaryEntry::of(report);
        match &mut self.sink {
            Sink::Human {
                bar, rows, more, ..
            } => {
                bar.finish_and_clear();
                let _ = write_human(&mut self.out, report, rows, *more);
            }
            Sink::Json { first } => {
                if *first {
                    let _ = self.out.write_all(b"{\"operations\":[");
                }
                let _ = self.out.write_all(b"\n],\"summary\":");
                let _ = serde_json::to_writer(&mut self.out, &summary);
                let _ = self.out.write_all(b"}\n");
            }
            Sink::Ndjson => {
                #[derive(Serialize)]
                struct Line<'a> {
                    summary: &'a SummaryEntry,
                }
                let _ = serde_json::to_writer(&mut self.out, &Line { summary: &summary });
                let _ = self.out.write_all(b"\n");
            }
        }
        let _ = self.out.flush();
    }
}

/// `s` unless there is one.
fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A job's progress bar, drawn on stderr only when it is a terminal.
pub(crate) fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} operations {prefix} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// An event handler that only moves `bar` (what `sync` shows while it applies).
pub(crate) fn progress(bar: &ProgressBar) -> EventHandler {
    let bar = bar.clone();
    let settled = Mutex::new(0u64);
    Arc::new(move |event: &Event<'_>| {
        let mut settled = settled.lock().unwrap_or_else(|e| e.into_inner());
        show_progress(&bar, &mut settled, event);
    })
}

/// Moves the bar as requests settle (and every 256 operations, for those settled from a
/// journal): telling it about every operation costs more than drawing.
fn show_progress(bar: &ProgressBar, settled: &mut u64, event: &Event<'_>) {
    match event {
        Event::Planned { operations, .. } => bar.set_length(*operations),
        Event::InFlight { requests, limit } => {
            bar.set_prefix(format!("[{requests} in flight, limit {limit}]"));
        }
        Event::RetryScheduled {
            request,
            delay,
            cause,
            ..
        } => bar.set_message(format!(
            "(request {request} retrying in {delay:?}: {cause})"
        )),
        Event::OperationSettled(_) => {
            *settled += 1;
            if (*settled).is_multiple_of(256) {
                bar.set_position(*settled);
            }
        }
        Event::RequestSettled { .. } => bar.set_position(*settled),
        _ => {}
    }
}

fn write_human(
    out: &mut impl Write,
    report: &JobReport,
    rows: &[Outcome],
    more: u64,
) -> std::io::Result<()> {
    let s = report.summary;
    let requests = report.plan.requests.len() as u64;
    // Attempts beyond one per request are retries; say how many reached an answer.
    let attempts = if s.requests == requests {
        String::new()
    } else {
        format!(
            " ({} attempt{}, {} answered)",
            s.requests,
            plural(s.requests),
            report.answered
        )
    };
    writeln!(
        out,
        "{} operation{} in {requests} request{}{attempts}: {} succeeded, {} failed, {} skipped, {} unknown",
        s.total,
        plural(s.total),
        plural(requests),
        s.succeeded,
        s.failed,
        s.skipped,
        s.unknown
    )?;
    if report.resumed > 0 {
        writeln!(
            out,
            "resumed: {} of them settled in an earlier run (from the journal) and were not sent again",
            report.resumed
        )?;
    }
    if let Some(stopped) = &report.stopped {
        writeln!(out, "stopped early: {stopped}")?;
    }
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:>6}  {:<6}  {:<28}  {:<10}  {:<9}  {:>6}  DETAIL",
        "#", "METHOD", "PATH", "BULKID", "OUTCOME", "STATUS"
    )?;
    for outcome in rows {
        let detail = match &outcome.kind {
            OutcomeKind::Failed { message, error, .. } => match error_kind(error.as_ref()) {
                Some(kind) => format!("{message} ({kind})"),
                None => message.clone(),
            },
            OutcomeKind::Skipped { reason } => reason.to_string(),
            OutcomeKind::Unknown { reason } => reason.to_string(),
            OutcomeKind::Succeeded { id, note, .. } => match (note, id) {
                (Some(note), _) => note.clone(),
                (None, Some(id)) => format!("id {id}"),
                (None, None) => String::new(),
            },
            _ => String::new(),
        };
        let status = outcome
            .kind
            .status()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".to_owned());
        writeln!(
            out,
            "{:>6}  {:<6}  {}  {}  {:<9}  {:>6}  {}",
            outcome.index,
            outcome.method.as_str(),
            crate::text::pad(&outcome.path, 28),
            crate::text::pad(outcome.bulk_id.as_deref().unwrap_or("-"), 10),
            outcome.kind.name(),
            status,
            detail
        )?;
    }
    if more > 0 {
        writeln!(
            out,
            "… and {more} more (use --output json or ndjson for all)"
        )?;
    }
    Ok(())
}
