//! `cargo xtask bench`'s sync scenario: `mapctl sync --dry-run` of a CSV of 100k desired
//! users against a map-sim holding those 100k users, a tenth of them renamed in the file:
//! the time to read the current state and to plan (as mapctl reports them on stderr), its
//! CPU and peak RSS, with the plan checked (a tenth updated, the rest unchanged).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::bench::{Measured, measure_with};
use crate::list_bench::LoadedStore;

/// A sync run, with the phases mapctl reported.
pub(crate) struct Synced {
    pub(crate) run: Measured,
    pub(crate) read_secs: f64,
    pub(crate) plan_secs: f64,
}

/// Loads `users` users from `workload` into a fresh map-sim and syncs a file that renames a
/// tenth of them, `runs` times (a dry run: the state stays as loaded).
pub(crate) fn run(
    mapctl: &Path,
    workload: &Path,
    dir: &Path,
    users: u64,
    runs: usize,
) -> Result<Synced, String> {
    let store = LoadedStore::start(mapctl, workload, users, "sync")?;
    let env = store.env();
    let program = mapctl.display().to_string();
    let desired = desired_file(dir, users)?;
    let args = [
        "sync",
        &desired.display().to_string(),
        "--dry-run",
        "--output",
        "ndjson",
    ]
    .map(str::to_owned);
    let mut synced = Vec::new();
    for round in 1..=runs {
        eprintln!("xtask bench: sync: round {round} of {runs}");
        let run = measure_with("sync --dry-run", users, &program, &args, &env, |stdout| {
            checked(stdout, users)
        })?;
        let phase = |word: &str| -> Result<f64, String> {
            run.stderr
                .lines()
                .find(|l| l.starts_with(&format!("mapctl: {word} ")))
                .and_then(|l| l.rsplit(" in ").next())
                .and_then(|t| t.trim_end_matches(" s").parse().ok())
                .ok_or_else(|| format!("sync said no `{word} … in N s`: {}", run.stderr))
        };
        let (read_secs, plan_secs) = (phase("read")?, phase("planned")?);
        synced.push(Synced {
            run,
            read_secs,
            plan_secs,
        });
    }
    drop(store);
    synced.sort_by_key(|s| s.run.wall);
    Ok(synced.swap_remove(synced.len() / 2))
}

/// The desired CSV: every loaded user, every tenth renamed.
fn desired_file(dir: &Path, users: u64) -> Result<PathBuf, String> {
    let path = dir.join(format!("desired-{users}.csv"));
    let mut out = BufWriter::new(std::fs::File::create(&path).map_err(|e| e.to_string())?);
    writeln!(
        out,
        "eduPersonPrincipalNames,userName,emails,preferredLanguage"
    )
    .map_err(|e| e.to_string())?;
    for i in 0..users {
        let language = if i % 2 == 0 { "ja" } else { "en" };
        let name = if i % 10 == 0 {
            format!("Renamed {i}")
        } else {
            format!("user{i:07}")
        };
        writeln!(
            out,
            "user{i:07}@idp.example.ac.jp,{name},user{i:07}@example.ac.jp,{language}"
        )
        .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(path)
}

/// The dry run's NDJSON: a tenth of the users updated (their userName only), the rest
/// unchanged.
fn checked(stdout: &mut std::process::ChildStdout, users: u64) -> Result<String, String> {
    let mut updates = 0;
    let mut summary = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with("{\"summary\"") {
            summary = Some(line);
        } else if line.contains("\"action\":\"update\"") && line.contains("\"name\":\"userName\"") {
            updates += 1;
        } else {
            return Err(format!("sync planned what it should not: {line}"));
        }
    }
    let expected = format!(
        "{{\"summary\":{{\"create\":0,\"delete\":0,\"unchanged\":{},\"update\":{}}}}}",
        users - users / 10,
        users / 10
    );
    match summary {
        Some(summary) if summary == expected && updates == users / 10 => {
            Ok(format!("{updates} updates planned"))
        }
        other => Err(format!(
            "sync's summary: {other:?}, expected {expected} ({updates} update lines)"
        )),
    }
}

/// The section of BENCHMARKS.md on sync.
pub(crate) fn render(synced: &Synced, md: &mut String) {
    let Synced {
        run,
        read_secs,
        plan_secs,
    } = synced;
    let mib = run.max_rss_kib as f64 / 1024.0;
    let lines = [
        "## Sync: `mapctl sync --dry-run`".to_owned(),
        String::new(),
        format!(
            "A CSV of {} desired users against a map-sim holding the same {} users (loaded with `mapctl bulk`), \
             a tenth renamed in the file: mapctl reads every user (pages of 1000), plans, and prints the plan as \
             NDJSON, checked (a tenth updated, the rest unchanged). The median of the runs by wall time; read and \
             plan are the times mapctl reports for each phase.",
            run.operations, run.operations
        ),
        String::new(),
        "| desired users | wall s | read s | plan s | CPU s | peak RSS MiB |".to_owned(),
        "|---:|---:|---:|---:|---:|---:|".to_owned(),
        format!(
            "| {} | {:.2} | {read_secs:.2} | {plan_secs:.2} | {:.2} | {mib:.1} |",
            run.operations,
            run.wall.as_secs_f64(),
            run.cpu.as_secs_f64()
        ),
        String::new(),
        "| target (from the issue) | measured | |".to_owned(),
        "|---|---|---|".to_owned(),
        format!(
            "| plan ≤ 2 s CPU | {plan_secs:.2} s (one thread) | {} |",
            verdict(*plan_secs <= 2.0)
        ),
        format!(
            "| peak RSS ≤ 256 MiB | {mib:.1} MiB | {} |",
            verdict(mib <= 256.0)
        ),
        String::new(),
    ];
    for line in lines {
        let _ = writeln!(md, "{line}");
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}
