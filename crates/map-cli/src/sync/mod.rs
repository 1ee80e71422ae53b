//! `mapctl sync`: read the desired files, read what mAP Core holds, plan the fewest changes
//! (`map-sync`), print them (`--dry-run` stops there), apply them through the bulk engine,
//! print each change's outcome, and write the job that undoes them (`--undo`).
//!
//! With `--journal FILE` the plan is saved beside it (`FILE.plan.json`) before anything is
//! sent; a run with the same FILE whose job did not finish resumes that plan (nothing that
//! settled is sent again) instead of planning anew.

mod print;

use std::path::{Path, PathBuf};
use std::time::Instant;

use map_bulk::{Journal, ignore_events};
use map_sync::{
    ChangeResult, Desired, Plan, SyncOptions, UserKey, apply, job, plan, read_current,
    read_desired, undo,
};

use crate::bulk::exit_for;
use crate::cli::{KeyArg, SyncArgs};
use crate::connect;
use crate::exit::Exit;
use print::Printer;

#[allow(clippy::print_stderr)]
pub(crate) async fn run(args: SyncArgs) -> Exit {
    if let Err(message) = args.engine.concurrency() {
        return Exit::usage(message);
    }
    let desired = match read_files(&args.desired) {
        Ok(desired) => desired,
        Err(exit) => return exit,
    };
    let target = match connect::target(&args.connect).await {
        Ok(target) => target,
        Err(exit) => return exit,
    };
    let printer = Printer::new(args.connect.output);
    let saved = args.engine.journal.as_deref().map(saved_plan_path);
    let resumed = match saved.as_deref().map(read_saved_plan).transpose() {
        Ok(resumed) => resumed.flatten(),
        Err(exit) => return exit,
    };
    let plan = match resumed {
        Some(plan) => {
            eprintln!(
                "mapctl: resuming the plan saved in {} (not planning anew)",
                saved_display(&saved)
            );
            plan
        }
        None => match plan_anew(&target, &desired, &options(&args)).await {
            Ok(plan) => plan,
            Err(exit) => return exit,
        },
    };
    if args.dry_run {
        printer.plan(&plan, None);
        return Exit::Success;
    }
    if plan.is_empty() {
        printer.plan(&plan, None);
        return Exit::Success;
    }
    let engine = match target.engine(&args.engine, None) {
        Ok(engine) => engine,
        Err(exit) => return exit,
    };
    let journal = match (&args.engine.journal, &saved) {
        (Some(path), Some(saved)) => match open_journal(path, saved, &plan) {
            Ok(journal) => Some(journal),
            Err(exit) => return exit,
        },
        _ => None,
    };
    let (report, results) = match apply(&engine, &plan, ignore_events(), journal).await {
        Ok(applied) => applied,
        Err(error) => return Exit::usage(error.to_string()),
    };
    printer.plan(&plan, Some(&results));
    if let Some(path) = &args.undo {
        if let Err(exit) = write_undo(path, &plan, &results) {
            return exit;
        }
    }
    if let (Some(journal), Some(saved)) = (&args.engine.journal, &saved) {
        finish_journal(journal, saved, report.stopped.is_none());
    }
    exit_for(&report)
}

/// Reads what mAP Core holds and plans from it, saying on stderr how long each took.
#[allow(clippy::print_stderr)]
async fn plan_anew(
    target: &connect::Target,
    desired: &Desired,
    options: &SyncOptions,
) -> Result<Plan, Exit> {
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
    Ok(planned)
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
    }
}

/// Every desired file read into one state; every bad row of every file is listed, and
/// nothing is sent if any is bad.
#[allow(clippy::print_stderr)]
fn read_files(paths: &[PathBuf]) -> Result<Desired, Exit> {
    let mut desired = Desired::default();
    let mut problems = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                problems.push(format!("{name}: cannot read: {error}"));
                continue;
            }
        };
        match read_desired(&name, &bytes, &mut desired) {
            Ok(notices) => notices.iter().for_each(|n| eprintln!("mapctl: {n}")),
            Err(error) => problems.extend(error.problems),
        }
    }
    if problems.is_empty() {
        Ok(desired)
    } else {
        Err(Exit::usage(format!(
            "{} problem(s) in the desired files, nothing sent:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )))
    }
}

fn saved_plan_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".plan.json");
    PathBuf::from(name)
}

fn saved_display(saved: &Option<PathBuf>) -> String {
    saved
        .as_deref()
        .map_or_else(String::new, |p| p.display().to_string())
}

/// The plan an earlier run saved, if there is one.
fn read_saved_plan(path: &Path) -> Result<Option<Plan>, Exit> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Exit::usage(format!("{}: not a saved sync plan: {e}", path.display()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Exit::usage(format!(
            "cannot read {}: {error}",
            path.display()
        ))),
    }
}

/// Saves the plan (unless it is the one being resumed) and opens the journal for its job.
fn open_journal(path: &Path, saved: &Path, plan: &Plan) -> Result<Journal, Exit> {
    if !saved.exists() {
        let text = serde_json::to_vec(plan).map_err(|e| Exit::failure(e.to_string()))?;
        std::fs::write(saved, text)
            .map_err(|e| Exit::usage(format!("cannot write {}: {e}", saved.display())))?;
    }
    Journal::open(path, &mut job(plan)).map_err(|e| Exit::usage(e.to_string()))
}

/// A run that settled every operation removes its journal and saved plan, so that the next
/// run plans anew from what mAP Core then holds; one that stopped keeps them to resume.
#[allow(clippy::print_stderr)]
fn finish_journal(journal: &Path, saved: &Path, finished: bool) {
    if finished {
        let _ = std::fs::remove_file(saved);
        let _ = std::fs::remove_file(journal);
    } else {
        eprintln!(
            "mapctl: the run stopped: run it again with --journal {} to resume its plan",
            journal.display()
        );
    }
}

#[allow(clippy::print_stderr)]
fn write_undo(path: &Path, plan: &Plan, results: &[ChangeResult]) -> Result<(), Exit> {
    let undo = undo(plan, results);
    let mut text = Vec::new();
    for operation in &undo.operations {
        serde_json::to_writer(&mut text, operation).map_err(|e| Exit::failure(e.to_string()))?;
        text.push(b'\n');
    }
    std::fs::write(path, text)
        .map_err(|e| Exit::failure(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "mapctl: wrote {} ({} operations; run it with `mapctl bulk {}` to undo)",
        path.display(),
        undo.operations.len(),
        path.display()
    );
    for note in &undo.not_undone {
        eprintln!("mapctl: not undone: {note}");
    }
    Ok(())
}
