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

use map_bulk::SkipReason;
use map_sync::{
    ChangeResult, Desired, HeldBack, Plan, SafetyLimits, SyncOptions, UserKey, apply, plan,
    read_current, read_desired_as, settle, undo,
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
    let saved = match args
        .engine
        .journal
        .as_deref()
        .map(Saved::beside)
        .transpose()
    {
        Ok(saved) => saved,
        Err(exit) => return exit,
    };
    let (plan, held_back) =
        match first_plan(&target, &desired, &args, saved.as_ref(), &inputs).await {
            Ok(planned) => planned,
            Err(exit) => return exit,
        };
    if !held_back.is_empty() {
        printer.plan(&plan, None);
        let verdict = format!(
            "held back by a safety limit, nothing sent: {}",
            reasons(&held_back)
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
    let interrupt = crate::interrupt::listen();
    let engine = match target.engine(&args.engine, args.fail_on_errors) {
        Ok(engine) => engine.with_interrupt(interrupt.clone()),
        Err(exit) => return exit,
    };
    let apply = Apply {
        engine: &engine,
        target: &target,
        args: &args,
        desired: &desired,
        saved: saved.as_ref(),
        inputs: &inputs,
        interrupt: &interrupt,
        run: audit::run_id(),
    };
    let (rounds, replanned, late_exit) = match apply.rounds(plan).await {
        Ok(applied) => applied,
        Err(exit) => return exit,
    };
    let shown: Vec<(&Plan, &[ChangeResult])> = rounds
        .iter()
        .map(|r| (&r.plan, r.results.as_slice()))
        .collect();
    printer.rounds(&shown);
    late_exit.unwrap_or_else(|| exit_for_rounds(&rounds, replanned))
}

/// The plan to apply: the saved one an interrupted run left (see [`Saved::resume`]), or one
/// made anew from what mAP Core holds, with the safety limits it goes over.
#[allow(clippy::print_stderr)]
async fn first_plan(
    target: &connect::Target,
    desired: &Desired,
    args: &SyncArgs,
    saved: Option<&Saved>,
    inputs: &str,
) -> Result<(Plan, Vec<HeldBack>), Exit> {
    let server = target.endpoint.base_url().to_string();
    if let Some(saved) = saved
        && let Some(plan) = saved.resume(inputs, &server)?
    {
        eprintln!(
            "mapctl: resuming the plan saved in {} (not planning anew)",
            saved.path().display()
        );
        return Ok((plan, Vec::new()));
    }
    plan_anew(target, desired, args).await
}

/// The limits a plan goes over, for a message.
fn reasons(held_back: &[HeldBack]) -> String {
    let reasons: Vec<String> = held_back.iter().map(ToString::to_string).collect();
    reasons.join("; ")
}

/// What a sync's rounds share: where and how they apply, and what they are made from.
struct Apply<'a> {
    engine: &'a map_bulk::Engine,
    target: &'a connect::Target,
    args: &'a SyncArgs,
    desired: &'a Desired,
    saved: Option<&'a Saved>,
    inputs: &'a str,
    interrupt: &'a map_bulk::Interrupt,
    /// The run's id in the audit log.
    run: String,
}

impl Apply<'_> {
    /// Applies `plan`, and once more a plan made anew when reading back settled what the
    /// first skipped ([`Round::needs_another`]). Gives the rounds, whether a later plan
    /// superseded the first's unfinished changes, and how the run ends when the second round
    /// could not be planned or applied; `Err` when not even the first could be applied.
    #[allow(clippy::print_stderr)]
    async fn rounds(&self, mut plan: Plan) -> Result<(Vec<Round>, bool, Option<Exit>), Exit> {
        let mut rounds: Vec<Round> = Vec::new();
        let mut replanned = false;
        loop {
            let round = match apply_round(self, plan).await {
                Ok(round) => round,
                Err(exit) if !rounds.is_empty() => return Ok((rounds, replanned, Some(exit))),
                Err(exit) => return Err(exit),
            };
            let again =
                rounds.is_empty() && round.needs_another() && !self.interrupt.is_interrupted();
            rounds.push(round);
            if let Err(exit) = self.keep(&rounds, !again) {
                return Ok((rounds, replanned, Some(exit)));
            }
            if !again {
                return Ok((rounds, replanned, None));
            }
            eprintln!(
                "mapctl: changes were skipped for an outcome that reading back has now settled: planning again from what mAP Core holds"
            );
            plan = match plan_anew(self.target, self.desired, self.args).await {
                Ok((plan, held_back)) if held_back.is_empty() => plan,
                Ok((_, held_back)) => {
                    let exit = Exit::HeldBack(format!(
                        "the second plan is held back by a safety limit, nothing more sent: {}",
                        reasons(&held_back)
                    ));
                    return Ok((rounds, replanned, Some(exit)));
                }
                Err(exit) => return Ok((rounds, replanned, Some(exit))),
            };
            replanned = true;
            if plan.is_empty() {
                return Ok((rounds, replanned, None));
            }
        }
    }

    /// Writes what must outlast the run — the last round to the audit log, every round's
    /// undo — before the report is printed and before another round, so that a closed
    /// standard output or a later failure cannot lose it. `last`: the run ends here.
    #[allow(clippy::print_stderr)]
    fn keep(&self, rounds: &[Round], last: bool) -> Result<(), Exit> {
        if let (Some(path), Some(round)) = (&self.args.audit_log, rounds.last())
            && let Err(error) = audit::append(path, &self.run, &round.plan, &round.results)
        {
            eprintln!(
                "mapctl: cannot append to the audit log {}: {error}",
                path.display()
            );
        }
        match &self.args.undo {
            Some(path) => write_undo(path, rounds, self.args.engine.limits(), last),
            None => Ok(()),
        }
    }
}

/// One plan applied, its unknown outcomes read back.
struct Round {
    plan: Plan,
    report: map_bulk::JobReport,
    results: Vec<ChangeResult>,
    /// What reading back settled.
    settled: map_sync::Settled,
}

impl Round {
    /// Whether a change was skipped for a dependency whose outcome was unknown and has been
    /// read back: planning again from what mAP Core now holds carries it out.
    /// So is a change read back as not applied (a POST is never sent again by the engine
    /// after no answer; once it is known not to have been applied, a new plan sends it).
    fn needs_another(&self) -> bool {
        let skipped_for_unknown = self.results.iter().any(|r| {
            matches!(
                r,
                ChangeResult::Skipped {
                    reason: SkipReason::DependencyUnknown { .. }
                }
            )
        });
        self.report.stopped.is_none()
            && (self.settled.not_applied > 0 || self.settled.applied > 0 && skipped_for_unknown)
    }
}

/// Applies `plan` through the engine (journaled when `saved`), with a progress bar on a
/// terminal, then reads back what is unknown.
#[allow(clippy::print_stderr)]
async fn apply_round(context: &Apply<'_>, plan: Plan) -> Result<Round, Exit> {
    let Apply {
        engine,
        target,
        args,
        saved,
        inputs,
        interrupt,
        ..
    } = *context;
    let server = target.endpoint.base_url().to_string();
    let journal = saved
        .map(|s| s.save_and_open(inputs, &server, &plan))
        .transpose()?;
    let bar = crate::report::progress_bar();
    let applied = apply(engine, &plan, crate::report::progress(&bar), journal).await;
    bar.finish_and_clear();
    let (report, mut results) = applied.map_err(|error| Exit::usage(error.to_string()))?;
    if let Some(saved) = saved {
        saved.finish(report.stopped.is_none());
    }
    let mut settled = map_sync::Settled::default();
    if results
        .iter()
        .any(|r| matches!(r, ChangeResult::Unknown { .. }))
        && report.stopped.is_none()
    {
        let key = options(args).key;
        settled = settle(&target.resources(), &plan, &mut results, key, interrupt).await;
        eprintln!(
            "mapctl: read back {} changes whose outcome was unknown: {} applied, {} not applied, {} still unknown",
            settled.applied + settled.not_applied + settled.unknown,
            settled.applied,
            settled.not_applied,
            settled.unknown
        );
    }
    Ok(Round {
        plan,
        report,
        results,
        settled,
    })
}

/// The exit code of a sync: the engine's stops (credentials, unreachable, interrupted) as
/// for `bulk`; otherwise from the settled outcomes — 0 when every change succeeded (once
/// `replanned`, the earlier rounds' other outcomes are superseded by the later plan, which
/// was made from what mAP Core then held), 3 only when a server that was contacted never
/// answered, 1 otherwise.
fn exit_for_rounds(rounds: &[Round], replanned: bool) -> Exit {
    if let Some(round) = rounds.iter().find(|r| r.report.stopped.is_some()) {
        return exit_for(&round.report);
    }
    let last = rounds.len().saturating_sub(1);
    let superseded = |n: usize| replanned && (n < last || rounds.len() == 1);
    let (mut all, mut unknown) = (true, false);
    for (n, round) in rounds.iter().enumerate() {
        for result in &round.results {
            match result {
                ChangeResult::Succeeded { .. } => {}
                ChangeResult::Unknown { .. } => {
                    unknown = true;
                    all = false;
                }
                _ if superseded(n) => {}
                _ => all = false,
            }
        }
    }
    let answered = rounds
        .iter()
        .any(|r| r.report.answered > 0 || r.settled != map_sync::Settled::default());
    match (all, unknown, answered) {
        (true, _, _) => Exit::Success,
        (false, true, false) => Exit::Unreachable(
            "mAP Core never answered; nothing is known to have been applied".to_owned(),
        ),
        _ => Exit::NotAllSucceeded,
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
        .map_err(|error| match crate::resources::failed(error) {
            Exit::Unreachable(message) => {
                Exit::Unreachable(format!("cannot read mAP Core: {message}"))
            }
            Exit::Failure(message) => Exit::failure(format!("cannot read mAP Core: {message}")),
            other => other,
        })?;
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
            Err(error) => {
                problems.extend(error.problems);
                continue;
            }
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

/// Writes the undo job of every round to `path` (the last round's first), after each round
/// so that a later failure cannot lose it; with nothing to undo no file is written (a job of
/// no operations is no job). `last`: the run ends here, and stderr says what was written.
#[allow(clippy::print_stderr)]
fn write_undo(
    path: &Path,
    rounds: &[Round],
    limits: map_bulk::Limits,
    last: bool,
) -> Result<(), Exit> {
    let mut text = Vec::new();
    let mut operations = 0;
    let mut notes = Vec::new();
    for round in rounds.iter().rev() {
        let undo = undo(&round.plan, &round.results, limits);
        notes.extend(undo.not_undone);
        for operation in &undo.operations {
            serde_json::to_writer(&mut text, operation)
                .map_err(|e| Exit::failure(e.to_string()))?;
            text.push(b'\n');
        }
        operations += undo.operations.len();
    }
    if operations > 0 {
        crate::private_file::write(path, &text)
            .map_err(|e| Exit::failure(format!("cannot write {}: {e}", path.display())))?;
    }
    if !last {
        return Ok(());
    }
    for note in &notes {
        eprintln!("mapctl: not undone: {note}");
    }
    if operations == 0 {
        eprintln!("mapctl: nothing to undo: {} not written", path.display());
    } else {
        eprintln!(
            "mapctl: wrote {} ({operations} operation{}; run it with `mapctl bulk {} --base-url …` to undo)",
            path.display(),
            if operations == 1 { "" } else { "s" },
            path.display()
        );
    }
    Ok(())
}
