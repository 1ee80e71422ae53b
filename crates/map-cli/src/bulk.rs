//! `mapctl bulk`: read a job, run it against mAP Core (or the embedded simulator), report.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use map_bulk::{
    Engine, InputFormat, JobInputError, JobReader, JobReport, JobStop, Journal, Limits,
    OperationSource, plan_job,
};

use crate::cli::BulkArgs;
use crate::connect;
use crate::exit::Exit;
use crate::report::Renderer;

#[allow(clippy::print_stderr, clippy::print_stdout)]
pub(crate) async fn run(args: BulkArgs) -> Exit {
    let mut reader = match args.input_path() {
        Some(path) => JobReader::from_path(path),
        None => match stdin_job() {
            Ok(reader) => reader,
            Err(error) => return Exit::usage(format!("cannot read stdin: {error}")),
        },
    };
    let fail_on_errors = match document_fail_on_errors(&mut reader) {
        Ok(from_document) => args.fail_on_errors.or(from_document),
        Err(error) => return Exit::usage(error),
    };
    if let Err(message) = args.engine.concurrency() {
        return Exit::usage(message);
    }
    let limits = args.engine.limits();
    if args.dry_run {
        return dry_run(&mut reader, limits, args.engine.journal.as_deref());
    }
    let journal = match &args.engine.journal {
        Some(path) => match Journal::open(path, &mut reader) {
            Ok(journal) => Some(journal),
            Err(error) => return Exit::usage(error.to_string()),
        },
        None => None,
    };

    let target = match connect::target(&args.connect).await {
        Ok(target) => target,
        Err(exit) => return exit,
    };
    let journal = match journal.map(|j| j.for_server(target.endpoint.base_url().as_str())) {
        Some(Err(error)) => return Exit::usage(error.to_string()),
        journal => journal.transpose().ok().flatten(),
    };
    let engine = match target.engine(&args.engine, fail_on_errors) {
        Ok(engine) => engine.with_interrupt(crate::interrupt::listen()),
        Err(exit) => return exit,
    };
    run_job(
        &engine,
        &mut reader,
        journal,
        Renderer::new(args.connect.output),
    )
    .await
}

/// Runs a job and renders it; the exit code follows its outcomes.
pub(crate) async fn run_job(
    engine: &Engine,
    source: &mut dyn OperationSource,
    journal: Option<Journal>,
    renderer: Renderer,
) -> Exit {
    let renderer = Arc::new(Mutex::new(renderer));
    let events = Renderer::handler(&renderer);
    let result = match journal {
        Some(journal) => engine.run_journaled(source, events, journal).await,
        None => engine.run(source, events).await,
    };
    match result {
        Ok(report) => {
            renderer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .finish(&report);
            exit_for(&report)
        }
        Err(error) => input_error(error),
    }
}

/// 0 all succeeded; 3 the server was never reached or refused the credentials; 130 or 143
/// interrupted; 1 otherwise.
pub(crate) fn exit_for(report: &JobReport) -> Exit {
    match &report.stopped {
        Some(JobStop::Interrupted) => Exit::Interrupted {
            code: crate::interrupt::exit_code(),
            message: format!(
                "interrupted by {}: {} operations settled, {} not sent (skipped); the same command resumes it (with its --journal, nothing that settled is sent again)",
                crate::interrupt::received(),
                report.summary.total - report.summary.skipped,
                report.summary.skipped,
            ),
        },
        Some(stop @ (JobStop::Authentication { .. } | JobStop::Unreachable { .. })) => {
            Exit::Unreachable(stop.to_string())
        }
        _ if report.summary.total > 0 && report.answered == 0 && report.resumed == 0 => {
            Exit::Unreachable(
                "mAP Core never answered; nothing is known to have been applied".to_owned(),
            )
        }
        _ if report.summary.all_succeeded() => Exit::Success,
        _ => Exit::NotAllSucceeded,
    }
}

/// The job on stdin, which the engine reads more than once: copied to an anonymous temporary
/// file, so that memory stays flat however large the job; into memory if no temporary file
/// can be made (small jobs still run; a large one is then refused when its first pass needs
/// a temporary file too).
fn stdin_job() -> std::io::Result<JobReader> {
    let mut stdin = std::io::stdin().lock();
    match tempfile::tempfile() {
        Ok(mut file) => {
            std::io::copy(&mut stdin, &mut file)?;
            Ok(JobReader::from_file(file))
        }
        Err(_) => {
            let mut bytes = Vec::new();
            stdin.read_to_end(&mut bytes)?;
            Ok(JobReader::from_bytes(bytes))
        }
    }
}

fn input_error(error: JobInputError) -> Exit {
    Exit::usage(error.to_string())
}

#[allow(clippy::print_stdout)]
fn dry_run(reader: &mut JobReader, limits: Limits, journal: Option<&Path>) -> Exit {
    let plan = match plan_job(reader, limits) {
        Ok(plan) => plan,
        Err(error) => return input_error(error),
    };
    // Opening a journal reads it and checks it is this job's; it writes nothing.
    let journal = match journal.map(|path| Journal::open(path, reader)).transpose() {
        Ok(journal) => journal,
        Err(error) => return Exit::usage(error.to_string()),
    };
    let substitutions = match plan.substitutions(reader) {
        Ok(substitutions) => substitutions,
        Err(error) => return Exit::usage(error.to_string()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // A closed standard output ends the printing, not the command.
    let _ =
        write_dry_run(&mut out, journal.as_ref(), &plan, &substitutions).and_then(|()| out.flush());
    Exit::Success
}

fn write_dry_run(
    out: &mut dyn Write,
    journal: Option<&Journal>,
    plan: &map_bulk::Plan,
    substitutions: &[map_bulk::Substitution],
) -> std::io::Result<()> {
    writeln!(out, "dry run: nothing was sent")?;
    if let Some(journal) = journal {
        writeln!(
            out,
            "journal {}: {} operations settled in an earlier run (not sent again), {} were in flight when it stopped",
            journal.path().display(),
            journal.settled_earlier(),
            journal.interrupted()
        )?;
    }
    write!(out, "{plan}")?;
    if substitutions.is_empty() {
        writeln!(
            out,
            "no substitutions: no operation refers to a resource created by an earlier request"
        )
    } else {
        writeln!(out, "{} substitutions:", substitutions.len())?;
        for substitution in substitutions {
            writeln!(out, "  {substitution}")?;
        }
        Ok(())
    }
}

/// A BulkRequest document may carry its own failOnErrors.
fn document_fail_on_errors(reader: &mut JobReader) -> Result<Option<u64>, String> {
    match reader.format().map_err(|e| e.to_string())? {
        InputFormat::BulkRequest => {
            // Reading the operations once records the document's failOnErrors; problems in
            // them are reported by validation.
            if let Ok(operations) = reader.operations() {
                operations.for_each(drop);
            }
            Ok(reader.fail_on_errors())
        }
        InputFormat::JsonArray | InputFormat::Ndjson => Ok(None),
    }
}
