//! `mapctl sync`: read the desired files, read what mAP Core holds, plan the fewest changes
//! (`map-sync`), print them (`--dry-run` stops there), apply them through the bulk engine,
//! print each change's outcome, and write the job that undoes them (`--undo`).
//!
//! With `--journal FILE` the plan is saved beside it (`FILE.plan.json`) before anything is
//! sent; a run with the same FILE whose job did not finish resumes that plan (nothing that
//! settled is sent again) instead of planning anew.

mod audit;
mod print;
mod saved;

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use map_sync::{
    ChangeResult, Desired, HeldBack, Plan, SafetyLimits, SyncOptions, UserKey, apply, plan,
    read_current, read_desired_as, undo,
};

use crate::bulk::exit_for;
use crate::cli::{KeyArg, SyncArgs};
use crate::connect;
use crate::exit::Exit;
use print::Printer;
use saved::{Inputs, Saved};

#[allow(clippy::print_stderr)]
pub(crate) async fn run(args: SyncArgs) -> Exit {
    if let Err(message) = args.engine.concurrency() {
        return Exit::usage(message);
    }
    let (desired, inputs) = match read_files(&args) {
        Ok(read) => read,
        Err(exit) => return exit,
    };
    let target = match connect::target(&args.connect).await {
        Ok(target) => target,
        Err(exit) => return exit,
    };
    let printer = Printer::new(args.connect.output);
    let saved = args.engine.journal.as_deref().map(Saved::beside);
    let server = target.endpoint.base_url().to_string();
    let resumed = match saved
        .as_ref()
        .map(|s| s.resume(&inputs, &server))
        .transpose()
    {
        Ok(resumed) => resumed.flatten(),
        Err(exit) => return exit,
    };
    let (plan, held_back) = match (resumed, &saved) {
        (Some(plan), Some(saved)) => {
            eprintln!(
                "mapctl: resuming the plan saved in {} (not planning anew)",
                saved.path().display()
            );
            (plan, Vec::new())
        }
        _ => match plan_anew(&target, &desired, &args).await {
            Ok(planned) => planned,
            Err(exit) => return exit,
        },
    };
    if !held_back.is_empty() {
        printer.plan(&plan, None);
        let reasons: Vec<String> = held_back.iter().map(ToString::to_string).collect();
        let verdict = format!(
            "held back by a safety limit, nothing sent: {}",
            reasons.join("; ")
        );
        if args.dry_run {
            eprintln!("mapctl: an apply would be {verdict}");
            return Exit::Success;
        }
        return Exit::HeldBack(verdict);
    }
    if args.dry_run {
        printer.plan(&plan, None);
        return Exit::Success;
    }
    if plan.is_empty() {
        printer.plan(&plan, None);
        return Exit::Success;
    }
    let engine = match target.engine(&args.engine, None) {
        Ok(engine) => engine.with_interrupt(crate::interrupt::listen()),
        Err(exit) => return exit,
    };
    let journal = match saved
        .as_ref()
        .map(|s| s.save_and_open(&inputs, &server, &plan))
        .transpose()
    {
        Ok(journal) => journal,
        Err(exit) => return exit,
    };
    let bar = crate::report::progress_bar();
    let applied = apply(&engine, &plan, crate::report::progress(&bar), journal).await;
    bar.finish_and_clear();
    let (report, results) = match applied {
        Ok(applied) => applied,
        Err(error) => return Exit::usage(error.to_string()),
    };
    // What must outlast the run is written before the report is printed, so that a closed
    // standard output cannot lose it.
    if let Some(path) = &args.audit_log {
        if let Err(error) = audit::append(path, &audit::run_id(), &plan, &results) {
            eprintln!(
                "mapctl: cannot append to the audit log {}: {error}",
                path.display()
            );
        }
    }
    let undo_written = args
        .undo
        .as_ref()
        .map(|path| write_undo(path, &plan, &results, args.engine.limits()));
    if let Some(saved) = &saved {
        saved.finish(report.stopped.is_none());
    }
    printer.plan(&plan, Some(&results));
    match undo_written {
        Some(Err(exit)) => exit,
        _ => exit_for(&report),
    }
}

/// Reads what mAP Core holds and plans from it, saying on stderr how long each took; with
/// the safety limits the plan goes over.
#[allow(clippy::print_stderr)]
async fn plan_anew(
    target: &connect::Target,
    desired: &Desired,
    args: &SyncArgs,
) -> Result<(Plan, Vec<HeldBack>), Exit> {
    let options = &options(args);
    let started = Instant::now();
    let current = read_current(&target.resources(), desired, options)
        .await
        .map_err(|error| Exit::Unreachable(format!("cannot read mAP Core: {error}")))?;
    eprintln!(
        "mapctl: read {} users, {} groups and {} services from mAP Core in {:.2} s",
        current.users.len(),
        current.groups.len(),
        current.services.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let planned =
        plan(desired, &current, options).map_err(|error| Exit::usage(error.to_string()))?;
    eprintln!(
        "mapctl: planned {} changes in {:.2} s",
        planned.changes.len(),
        started.elapsed().as_secs_f64()
    );
    let limits = SafetyLimits {
        max_deletes: args.max_deletes,
        max_removals: args.max_removals,
    };
    let held_back = limits.check(&planned, &current, options);
    Ok((planned, held_back))
}

fn options(args: &SyncArgs) -> SyncOptions {
    SyncOptions {
        key: match args.key {
            KeyArg::Eppn => UserKey::Eppn,
            KeyArg::UserName => UserKey::UserName,
            KeyArg::ExternalId => UserKey::ExternalId,
        },
        exact_groups: args.exact_groups.clone(),
        prune_groups: args.prune_groups.clone(),
        limits: args.engine.limits(),
    }
}

/// Every desired file read into one state, with the fingerprint of what a plan is made
/// from (the files and the options); every bad row of every file is listed, and nothing is
/// sent if any is bad. A file that gives nothing (a failed export) is refused unless
/// `--allow-empty`, before anything is read from mAP Core.
#[allow(clippy::print_stderr)]
fn read_files(args: &SyncArgs) -> Result<(Desired, String), Exit> {
    let mut desired = Desired::default();
    let mut inputs = Inputs::default();
    let mut problems = Vec::new();
    for path in &args.desired {
        let (name, bytes) = match read_file(path) {
            Ok(read) => read,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        inputs.add(name.as_bytes());
        inputs.add(&bytes);
        let before = resources(&desired);
        match read_desired_as(&name, &bytes, args.encoding, &mut desired) {
            Ok(notices) => notices.iter().for_each(|n| eprintln!("mapctl: {n}")),
            Err(error) => problems.extend(error.problems),
        }
        if resources(&desired) == before && !args.allow_empty {
            problems.push(format!(
                "{name}: no users, groups or services in it (a failed export?): give --allow-empty if that is meant"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Exit::usage(format!(
            "{} problem(s) in the desired files, nothing sent:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )));
    }
    let options = options(args);
    inputs.add(format!("{:?} {:?}", options.key, options.limits).as_bytes());
    for prefix in [&options.exact_groups, &options.prune_groups] {
        inputs.add(prefix.as_deref().unwrap_or("\0none").as_bytes());
    }
    Ok((desired, inputs.fingerprint()))
}

/// A desired file's name in messages and its bytes; `-` is standard input.
fn read_file(path: &Path) -> Result<(String, Vec<u8>), String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("standard input: cannot read: {e}"))?;
        return Ok(("<stdin>".to_owned(), bytes));
    }
    let name = path.display().to_string();
    std::fs::read(path)
        .map(|bytes| (name.clone(), bytes))
        .map_err(|error| format!("{name}: cannot read: {error}"))
}

fn resources(desired: &Desired) -> usize {
    desired.users.len() + desired.groups.len() + desired.services.len()
}

/// Writes the undo job to `path`; with nothing to undo no file is written (a job of no
/// operations is no job), and stderr says so.
#[allow(clippy::print_stderr)]
fn write_undo(
    path: &Path,
    plan: &Plan,
    results: &[ChangeResult],
    limits: map_bulk::Limits,
) -> Result<(), Exit> {
    let undo = undo(plan, results, limits);
    for note in &undo.not_undone {
        eprintln!("mapctl: not undone: {note}");
    }
    if undo.operations.is_empty() {
        eprintln!("mapctl: nothing to undo: {} not written", path.display());
        return Ok(());
    }
    let mut text = Vec::new();
    for operation in &undo.operations {
        serde_json::to_writer(&mut text, operation).map_err(|e| Exit::failure(e.to_string()))?;
        text.push(b'\n');
    }
    crate::private_file::write(path, &text)
        .map_err(|e| Exit::failure(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "mapctl: wrote {} ({} operation{}; run it with `mapctl bulk {} --base-url …` to undo)",
        path.display(),
        undo.operations.len(),
        if undo.operations.len() == 1 { "" } else { "s" },
        path.display()
    );
    Ok(())
}
