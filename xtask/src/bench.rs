//! `cargo xtask bench`: mapctl and the Python peer side by side, in one run, against the same
//! map-sim in null mode (`mapctl serve --null`), on the same NDJSON workload of user-creation
//! POSTs. For each client process: CPU seconds (user + sys, from `wait4`), CPU µs per
//! operation, wall time, operations per second and peak RSS. The table, the machine's core count
//! and the exact commands go to `BENCHMARKS.md`.
//!
//! Each client runs several times (`--runs N`, default 9), in rounds that run every client
//! once, and the run with the median CPU time is reported, with the range; the machine is
//! shared with the server and noisy.
//!
//! Then the reading scenario ([`crate::list_bench`]): `mapctl users list --all` of 100k users
//! (10k with `--quick`) from a map-sim that holds them; the sync scenario
//! ([`crate::sync_bench`]): `mapctl sync --dry-run` of as many desired users against them; and
//! the throughput scenarios ([`crate::throughput_bench`]) against a busy server.
//!
//! `cargo xtask bench --quick` runs 10k/100k operations instead of 100k/1M, to try it out.
//!
//! `cargo xtask bench --baseline PATH` also runs another build of mapctl (say, of the last
//! commit that landed: `git worktree add /tmp/base <commit>` and build it there) on the large
//! workload, in the same rounds: on a machine whose speed drifts from day to day, that says
//! what a change did where absolute numbers cannot.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{list_bench, sync_bench, throughput_bench};

/// One measured client run.
pub(crate) struct Measured {
    pub(crate) client: String,
    pub(crate) operations: u64,
    pub(crate) command: String,
    pub(crate) cpu: Duration,
    pub(crate) wall: Duration,
    pub(crate) max_rss_kib: u64,
    pub(crate) output: String,
    /// What the client wrote on stderr.
    pub(crate) stderr: String,
    /// CPU µs per operation of every run of this client, lowest first.
    pub(crate) samples: Vec<f64>,
}

impl Measured {
    fn cpu_us_per_op(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.operations as f64
    }

    fn ops_per_sec(&self) -> f64 {
        self.operations as f64 / self.wall.as_secs_f64()
    }
}

/// The sync scenario alone, its section printed to stdout.
#[allow(clippy::print_stdout)]
fn only_sync(
    args: &[String],
    root: &Path,
    bench_dir: &Path,
    users: u64,
    runs: usize,
) -> Result<(), String> {
    let mapctl = match args.iter().position(|a| a == "--mapctl") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or("--mapctl needs a path")?),
        None => {
            let status = Command::new(crate::cargo())
                .args(["build", "--release", "-p", "map-cli"])
                .current_dir(root)
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err("cargo build --release -p map-cli failed".into());
            }
            root.join("target/release/mapctl")
        }
    };
    let workload = workload(bench_dir, users)?;
    let synced = sync_bench::run(&mapctl, &workload, bench_dir, users, runs.min(3))?;
    let mut section = String::new();
    sync_bench::render(&synced, &mut section);
    println!("{section}");
    Ok(())
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let runs_each: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().map_err(|_| format!("--runs {n}: not a number")))
        .transpose()?
        .unwrap_or(9)
        .max(1);
    let (small, large) = if quick {
        (10_000, 100_000)
    } else {
        (100_000, 1_000_000)
    };
    let baseline = args
        .iter()
        .position(|a| a == "--baseline")
        .map(|i| {
            args.get(i + 1)
                .ok_or("--baseline needs the path of a mapctl binary")
        })
        .transpose()?
        .map(PathBuf::from);
    let root = workspace_root()?;
    let bench_dir = root.join("target/bench");
    std::fs::create_dir_all(&bench_dir).map_err(|e| e.to_string())?;
    // `--only sync [--mapctl PATH]`: the sync scenario alone, printed (BENCHMARKS.md is left
    // as it is), with this build or the binary given (an earlier build, to compare).
    if args.windows(2).any(|w| w[0] == "--only" && w[1] == "sync") {
        return only_sync(
            args,
            &root,
            &bench_dir,
            if quick { 10_000 } else { 100_000 },
            runs_each,
        );
    }

    eprintln!("xtask bench: building mapctl (release)");
    let status = Command::new(crate::cargo())
        .args(["build", "--release", "-p", "map-cli"])
        .current_dir(&root)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("cargo build --release -p map-cli failed".into());
    }
    let mapctl = root.join("target/release/mapctl");
    let peer = root.join("bench/peers/python_bulk.py");
    let small_file = workload(&bench_dir, small)?;
    let large_file = workload(&bench_dir, large)?;

    eprintln!("xtask bench: starting map-sim in null mode");
    let (mut server, base_url, token, secret) = serve(&mapctl, true)?;
    let env = [
        ("MAP_ACCESS_TOKEN", token.as_str()),
        ("MAP_CLIENT_SECRET", secret.as_str()),
    ];
    let mapctl_args = |file: &Path, concurrency: u32| {
        vec![
            "bulk".to_owned(),
            file.display().to_string(),
            "--base-url".to_owned(),
            base_url.clone(),
            "--concurrency".to_owned(),
            concurrency.to_string(),
            "--output".to_owned(),
            "human".to_owned(),
        ]
    };
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut runs: Vec<(String, u64, String, Vec<String>)> = vec![
        (
            "mapctl".into(),
            small,
            mapctl.display().to_string(),
            mapctl_args(&small_file, 1),
        ),
        (
            "python peer".into(),
            small,
            python.clone(),
            vec![
                peer.display().to_string(),
                base_url.clone(),
                small_file.display().to_string(),
            ],
        ),
        (
            "mapctl".into(),
            large,
            mapctl.display().to_string(),
            mapctl_args(&large_file, 1),
        ),
        (
            "mapctl --concurrency 4".into(),
            large,
            mapctl.display().to_string(),
            mapctl_args(&large_file, 4),
        ),
    ];
    if let Some(baseline) = &baseline {
        runs.push((
            "baseline mapctl".into(),
            large,
            baseline.display().to_string(),
            mapctl_args(&large_file, 1),
        ));
    }
    // Rounds, each running every client once: the machine's load drifts, and interleaving
    // lets the drift fall on every client alike instead of on whichever ran last.
    let mut samples: Vec<Vec<Measured>> = runs.iter().map(|_| Vec::new()).collect();
    for round in 1..=runs_each {
        eprintln!("xtask bench: round {round} of {runs_each}");
        for ((client, operations, program, args), samples) in runs.iter().zip(&mut samples) {
            samples.push(measure(client, *operations, program, args, &env)?);
        }
    }
    let mut results = Vec::new();
    for mut samples in samples {
        samples.sort_by_key(|m| m.cpu);
        let spread: Vec<f64> = samples.iter().map(Measured::cpu_us_per_op).collect();
        let mut measured = samples.swap_remove(samples.len() / 2);
        measured.samples = spread;
        eprintln!(
            "  {} ({} operations): {:.2} s CPU, {:.3} µs/op, {:.2} s wall, {:.0} ops/s, {} MiB peak RSS",
            measured.client,
            measured.operations,
            measured.cpu.as_secs_f64(),
            measured.cpu_us_per_op(),
            measured.wall.as_secs_f64(),
            measured.ops_per_sec(),
            measured.max_rss_kib / 1024
        );
        results.push(measured);
    }
    let _ = server.kill();
    let _ = server.wait();

    let listings = list_bench::run(&mapctl, &small_file, small, runs_each.min(5))?;
    let synced = sync_bench::run(&mapctl, &small_file, &bench_dir, small, runs_each.min(3))?;
    let throughput = throughput_bench::run(
        &mapctl,
        &peer,
        &python,
        &small_file,
        small,
        runs_each.min(3),
    )?;
    let micro = criterion(&root)?;
    let mut report = render(&results, &listings, &micro, &root)?;
    let mut section = String::new();
    sync_bench::render(&synced, &mut section);
    throughput_bench::render(&throughput, small, &mut section);
    report = report.replacen(
        "## Micro-benchmarks",
        &format!("{section}## Micro-benchmarks"),
        1,
    );
    std::fs::write(root.join("BENCHMARKS.md"), report).map_err(|e| e.to_string())?;
    eprintln!("xtask bench: wrote BENCHMARKS.md");
    Ok(())
}

fn workspace_root() -> Result<PathBuf, String> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "no workspace root".into())
}

/// `operations` user-creation POSTs as NDJSON (made once, then reused).
fn workload(dir: &Path, operations: u64) -> Result<PathBuf, String> {
    let path = dir.join(format!("users-{operations}.ndjson"));
    if path.exists() {
        return Ok(path);
    }
    let mut out = BufWriter::new(File::create(&path).map_err(|e| e.to_string())?);
    for i in 0..operations {
        let language = if i % 2 == 0 { "ja" } else { "en" };
        writeln!(
            out,
            r#"{{"method":"POST","bulkId":"u{i}","path":"/Users","data":{{"schemas":["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:User"],"userName":"user{i:07}","preferredLanguage":"{language}","eduPersonPrincipalNames":[{{"value":"user{i:07}@idp.example.ac.jp"}}],"emails":[{{"value":"user{i:07}@example.ac.jp"}}]}}}}"#
        )
        .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(path)
}

/// Starts `mapctl serve` (`--null` when `null`: store nothing) and reads its URL and
/// credentials.
pub(crate) fn serve(mapctl: &Path, null: bool) -> Result<(Child, String, String, String), String> {
    let args: &[String] = if null { &[NULL.to_owned()] } else { &[] };
    serve_with(mapctl, args)
}

const NULL: &str = "--null";

/// Starts `mapctl serve ARGS` and reads its URL and credentials.
pub(crate) fn serve_with(
    mapctl: &Path,
    args: &[String],
) -> Result<(Child, String, String, String), String> {
    let mut child = Command::new(mapctl)
        .args(["serve", "--port", "0"])
        .args(args)
        .env_remove("MAP_ACCESS_TOKEN")
        .env_remove("MAP_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut next = || -> Result<String, String> {
        lines
            .next()
            .ok_or("serve ended early")?
            .map_err(|e| e.to_string())
    };
    let url = next()?;
    let token = next()?
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .ok_or("no token line")?;
    let secret = next()?
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .ok_or("no secret line")?;
    Ok((child, url, token, secret))
}

/// Runs one client to its end and reads its own resource usage with `wait4`.
pub(crate) fn measure(
    client: &str,
    operations: u64,
    program: &str,
    args: &[String],
    env: &[(&str, &str)],
) -> Result<Measured, String> {
    measure_with(client, operations, program, args, env, |stdout| {
        let mut output = String::new();
        std::io::Read::read_to_string(stdout, &mut output).map_err(|e| e.to_string())?;
        Ok(output)
    })
}

/// [`measure`], with the client's stdout read by `read` (which says what it printed).
///
/// A large output is best checked as it streams: a child's peak RSS as `wait4` reports it
/// includes this process's own RSS when it spawned the child (Linux keeps the larger of
/// the two across `exec`), so output kept here would be counted as the next client's.
pub(crate) fn measure_with(
    client: &str,
    operations: u64,
    program: &str,
    args: &[String],
    env: &[(&str, &str)],
    read: impl FnOnce(&mut std::process::ChildStdout) -> Result<String, String>,
) -> Result<Measured, String> {
    // stderr goes to a file, read only if the client fails (its last line says why).
    let mut stderr = tempfile_in_target()?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr.try_clone().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.ok_or("no stdout")?;
    let output = read(&mut stdout)?;
    let mut status = 0;
    // SAFETY: `usage` is a plain C struct that wait4 fills; `pid` is our own child, not yet
    // waited for.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::wait4(pid, &mut status, 0, &mut usage) < 0 {
            return Err(format!("wait4: {}", std::io::Error::last_os_error()));
        }
        usage
    };
    let wall = started.elapsed();
    let mut said = String::new();
    let _ = std::io::Seek::rewind(&mut stderr);
    let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let last = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "{client} exited with {} after {:.1} s: {}",
            libc::WEXITSTATUS(status),
            wall.as_secs_f64(),
            if last.is_empty() {
                output.as_str()
            } else {
                last
            }
        ));
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Measured {
        client: client.to_owned(),
        operations,
        command: format!("{program} {}", args.join(" ")),
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
        output: output.trim().to_owned(),
        stderr: said,
        samples: Vec::new(),
    })
}

/// The criterion command, short enough to run with the rest.
const CRITERION: &str =
    "cargo bench -p map-bulk --bench hot_paths -- --warm-up-time 1 --measurement-time 3";

/// Runs the criterion micro-benchmarks and reads each one's median time from its report.
fn criterion(root: &Path) -> Result<Vec<(String, String)>, String> {
    eprintln!("xtask bench: {CRITERION}");
    let mut words = CRITERION.split_whitespace().skip(1);
    let output = Command::new(crate::cargo())
        .args(&mut words)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err("the criterion benchmarks failed".into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut found = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) && !line.is_empty() && !line.starts_with("Found")
        {
            name = Some(line.trim().to_owned());
        } else if let (Some(current), Some(times)) = (&name, line.trim().strip_prefix("time:")) {
            if times.contains('%') {
                // The change against the previous run, not a time.
                continue;
            }
            // `[low unit median unit high unit]`: the median.
            let parts: Vec<&str> = times
                .trim_matches(|c| c == ' ' || c == '[' || c == ']')
                .split_whitespace()
                .collect();
            if let [_, _, median, unit, ..] = parts.as_slice() {
                found.push((current.clone(), format!("{median} {unit}")));
            }
        }
    }
    if found.is_empty() {
        return Err("no criterion results found".into());
    }
    Ok(found)
}

fn render(
    results: &[Measured],
    listings: &list_bench::Listings,
    micro: &[(String, String)],
    root: &Path,
) -> Result<String, String> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mapctl_small = results
        .iter()
        .find(|r| r.client == "mapctl")
        .ok_or("no mapctl run")?;
    let python = results
        .iter()
        .find(|r| r.client == "python peer")
        .ok_or("no python run")?;
    let ratio = python.cpu_us_per_op() / mapctl_small.cpu_us_per_op();
    let mut md = String::new();
    let w = |md: &mut String, line: String| {
        let _ = writeln!(md, "{line}");
    };
    w(&mut md, "# Benchmarks".into());
    w(&mut md, String::new());
    w(
        &mut md,
        "Written by `cargo xtask bench` (do not edit by hand). Both clients send the same NDJSON"
            .into(),
    );
    w(
        &mut md,
        "workload of user-creation POSTs (userName, preferredLanguage, one ePPN, one email) to the"
            .into(),
    );
    w(
        &mut md,
        "same map-sim in null mode (`mapctl serve --null`), in chunks of 1,000, one run after the"
            .into(),
    );
    w(
        &mut md,
        "other, in rounds that run every client once (so that the machine's drifting load falls"
            .into(),
    );
    w(
        &mut md,
        "on all alike); the run with each client's median CPU time is shown,".into(),
    );
    w(
        &mut md,
        "with the range of CPU µs/op over all runs (the server shares the machine, so runs vary)."
            .into(),
    );
    w(
        &mut md,
        "CPU is the client process's own user + sys time (from `wait4`); the server's is not"
            .into(),
    );
    w(
        &mut md,
        "counted. Peak RSS is the client's `ru_maxrss`.".into(),
    );
    w(&mut md, String::new());
    w(
        &mut md,
        format!("Machine: {cores} cores ({}).", machine_name()),
    );
    w(&mut md, String::new());
    w(
        &mut md,
        "| client | operations | CPU s | CPU µs/op | range µs/op | wall s | ops/s | peak RSS MiB |"
            .into(),
    );
    w(&mut md, "|---|---:|---:|---:|---:|---:|---:|---:|".into());
    for r in results {
        w(
            &mut md,
            format!(
                "| {} | {} | {:.2} | {:.3} | {:.2}–{:.2} ({} runs) | {:.2} | {:.0} | {:.1} |",
                r.client,
                r.operations,
                r.cpu.as_secs_f64(),
                r.cpu_us_per_op(),
                r.samples.first().copied().unwrap_or(0.0),
                r.samples.last().copied().unwrap_or(0.0),
                r.samples.len(),
                r.wall.as_secs_f64(),
                r.ops_per_sec(),
                r.max_rss_kib as f64 / 1024.0
            ),
        );
    }
    w(&mut md, String::new());
    w(
        &mut md,
        format!(
            "CPU per operation, Python peer / mapctl at {} operations: **{ratio:.1}x**.",
            python.operations
        ),
    );
    w(&mut md, String::new());
    let mapctl_large = results
        .iter()
        .find(|r| r.client == "mapctl" && r.operations > mapctl_small.operations);
    let concurrent = results.iter().find(|r| r.client.contains("--concurrency"));
    if let (Some(large), Some(concurrent)) = (mapctl_large, concurrent) {
        let mib = |r: &Measured| r.max_rss_kib as f64 / 1024.0;
        let verdict = |met: bool| if met { "met" } else { "**not met**" };
        let growth = mib(large) / mib(mapctl_small);
        w(
            &mut md,
            "## Targets (from the issue), judged from the medians above".into(),
        );
        w(&mut md, String::new());
        w(&mut md, "| target | measured | |".into());
        w(&mut md, "|---|---|---|".into());
        w(
            &mut md,
            format!(
                "| mapctl ≤ 1.2 µs CPU per operation at {} operations | {:.2} µs ({:.2} µs at {}) | {} |",
                large.operations,
                large.cpu_us_per_op(),
                mapctl_small.cpu_us_per_op(),
                mapctl_small.operations,
                verdict(large.cpu_us_per_op() <= 1.2)
            ),
        );
        w(
            &mut md,
            format!(
                "| ≥ 20x less CPU per operation than the Python peer | {ratio:.1}x | {} |",
                verdict(ratio >= 20.0)
            ),
        );
        w(
            &mut md,
            format!(
                "| peak RSS ≤ 64 MiB at {} operations | {:.1} MiB | {} |",
                large.operations,
                mib(large),
                verdict(mib(large) <= 64.0)
            ),
        );
        w(
            &mut md,
            format!(
                "| peak RSS flat from {} to {} operations (within 10%) | {:.1} → {:.1} MiB ({growth:.2}x) | {} |",
                mapctl_small.operations,
                large.operations,
                mib(mapctl_small),
                mib(large),
                verdict(growth <= 1.1)
            ),
        );
        w(
            &mut md,
            format!(
                "| ≥ 200k operations/s wall with --concurrency 4 | {:.0} | {} |",
                concurrent.ops_per_sec(),
                verdict(concurrent.ops_per_sec() >= 200_000.0)
            ),
        );
        w(&mut md, String::new());
    }
    let large = results
        .iter()
        .find(|r| r.client == "mapctl" && r.operations > mapctl_small.operations);
    let baseline = results.iter().find(|r| r.client == "baseline mapctl");
    if let (Some(large), Some(baseline)) = (large, baseline) {
        w(
            &mut md,
            "## Against a baseline build, in the same rounds".into(),
        );
        w(&mut md, String::new());
        w(
            &mut md,
            format!(
                "`{}`: {:.3} µs/op at {} operations; this build {:.3} µs/op ({:.2}x the baseline's CPU).",
                baseline.command.split_whitespace().next().unwrap_or(""),
                baseline.cpu_us_per_op(),
                baseline.operations,
                large.cpu_us_per_op(),
                large.cpu_us_per_op() / baseline.cpu_us_per_op()
            ),
        );
        w(&mut md, String::new());
    }
    list_bench::render(listings, &mut md);
    w(
        &mut md,
        "## Micro-benchmarks (criterion, median time per iteration)".into(),
    );
    w(&mut md, String::new());
    w(&mut md, "| benchmark | time |".into());
    w(&mut md, "|---|---:|".into());
    for (name, time) in micro {
        w(&mut md, format!("| {name} | {time} |"));
    }
    w(&mut md, String::new());
    w(&mut md, "## Commands".into());
    w(&mut md, String::new());
    w(&mut md, "```sh".into());
    w(
        &mut md,
        "cargo xtask bench            # everything below, then this file".into(),
    );
    w(&mut md, CRITERION.into());
    let relative = |text: &str| text.replace(&format!("{}/", root.display()), "");
    w(
        &mut md,
        "target/release/mapctl serve --null --port 0     # prints URL and credentials".into(),
    );
    for r in results {
        w(
            &mut md,
            format!(
                "MAP_ACCESS_TOKEN=… MAP_CLIENT_SECRET=… {}",
                relative(&r.command)
            ),
        );
    }
    w(&mut md, "```".into());
    w(&mut md, String::new());
    w(&mut md, "## What each client printed".into());
    w(&mut md, String::new());
    for r in results {
        w(
            &mut md,
            format!(
                "- {} ({} operations): `{}`",
                r.client,
                r.operations,
                r.output.lines().next().unwrap_or("")
            ),
        );
    }
    Ok(md)
}

fn machine_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// An anonymous file under `target/bench` (removed when closed).
fn tempfile_in_target() -> Result<File, String> {
    let dir = workspace_root()?.join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!(
        "stderr-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
