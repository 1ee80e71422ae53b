//! `cargo xtask bench`'s throughput scenarios: a job of user-creation POSTs in requests of
//! 500 against `mapctl serve --null` made to behave like a busy server across a network
//! (`--latency 50 --per-operation-us 200`, with `--capacity 4`, or with `--rate 5`).
//! `mapctl bulk --concurrency auto` is timed against the server-bound minimum, with the
//! throttled requests (429s) it drew; `--concurrency 1` and the Python peer run the same job
//! for comparison. Every run's summary is checked: all operations succeeded, none unknown.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use crate::bench::{measure_with, serve_with};

/// Operations per request.
const PER_REQUEST: u64 = 500;
/// Server time added to every answer, and per operation.
const LATENCY_MS: u64 = 50;
const PER_OPERATION_US: u64 = 200;

/// One server configuration.
struct Scenario {
    name: &'static str,
    limit: &'static [&'static str],
    /// The wall time no client can beat: the server's own limits.
    minimum: fn(requests: u64) -> Duration,
}

/// Time per request at the server: latency plus its operations' time.
fn request_time() -> Duration {
    Duration::from_millis(LATENCY_MS) + Duration::from_micros(PER_OPERATION_US * PER_REQUEST)
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "--capacity 4",
        limit: &["--capacity", "4"],
        minimum: |requests| request_time() * requests as u32 / 4,
    },
    Scenario {
        name: "--rate 5",
        limit: &["--rate", "5"],
        // A second's worth at once, then five a second; the last one's own time on top.
        minimum: |requests| {
            Duration::from_secs_f64(requests.saturating_sub(5) as f64 / 5.0) + request_time()
        },
    },
];

/// One client's run of one scenario.
pub(crate) struct Run {
    scenario: &'static str,
    client: String,
    wall: Duration,
    minimum: Duration,
    /// Requests the client sent (its summary's count), and those the job needed.
    requests: Option<u64>,
    planned: u64,
    /// What went wrong, when the run did not complete every operation.
    failure: Option<String>,
}

/// Runs every scenario with the `operations` of `workload`; `--concurrency auto` `runs`
/// times (the median by wall time is kept), the others once.
pub(crate) fn run(
    mapctl: &Path,
    peer: &Path,
    python: &str,
    workload: &Path,
    operations: u64,
    runs: usize,
) -> Result<Vec<Run>, String> {
    let planned = operations.div_ceil(PER_REQUEST);
    let mut results = Vec::new();
    for scenario in &SCENARIOS {
        eprintln!("xtask bench: throughput {}", scenario.name);
        let mut args = vec![
            "--null".to_owned(),
            "--latency".to_owned(),
            LATENCY_MS.to_string(),
            "--per-operation-us".to_owned(),
            PER_OPERATION_US.to_string(),
        ];
        args.extend(scenario.limit.iter().map(|a| (*a).to_owned()));
        let (mut server, base_url, token, secret) = serve_with(mapctl, &args)?;
        let env = [
            ("MAP_ACCESS_TOKEN", token.as_str()),
            ("MAP_CLIENT_SECRET", secret.as_str()),
            ("MAP_PEER_CHUNK", "500"),
        ];
        let minimum = (scenario.minimum)(planned);
        let bulk = |concurrency: &str| {
            [
                "bulk",
                &workload.display().to_string(),
                "--base-url",
                &base_url,
                "--max-operations",
                &PER_REQUEST.to_string(),
                "--concurrency",
                concurrency,
                "--output",
                "ndjson",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        let program = mapctl.display().to_string();
        let mut auto: Vec<Run> = (0..runs)
            .map(|_| {
                one(
                    scenario.name,
                    "mapctl --concurrency auto",
                    &program,
                    &bulk("auto"),
                    &env,
                    operations,
                )
            })
            .collect();
        auto.sort_by_key(|r| r.wall);
        let mut auto = auto.swap_remove(auto.len() / 2);
        auto.minimum = minimum;
        auto.planned = planned;
        results.push(auto);
        let mut single = one(
            scenario.name,
            "mapctl --concurrency 1",
            &program,
            &bulk("1"),
            &env,
            operations,
        );
        single.minimum = minimum;
        single.planned = planned;
        results.push(single);
        let peer_args = [
            peer.display().to_string(),
            base_url.clone(),
            workload.display().to_string(),
        ];
        let mut python_run = one(
            scenario.name,
            "python peer",
            python,
            &peer_args,
            &env,
            operations,
        );
        python_run.minimum = minimum;
        python_run.planned = planned;
        results.push(python_run);
        let _ = server.kill();
        let _ = server.wait();
    }
    Ok(results)
}

/// One run, its summary line read (mapctl's last ndjson line, or the peer's one line).
fn one(
    scenario: &'static str,
    client: &str,
    program: &str,
    args: &[String],
    env: &[(&str, &str)],
    operations: u64,
) -> Run {
    let measured = measure_with(client, operations, program, args, env, |stdout| {
        let mut last = String::new();
        for line in BufReader::new(stdout).lines() {
            last = line.map_err(|e| e.to_string())?;
        }
        Ok(last)
    });
    let mut run = Run {
        scenario,
        client: client.to_owned(),
        wall: Duration::ZERO,
        minimum: Duration::ZERO,
        requests: None,
        planned: 0,
        failure: None,
    };
    match measured {
        Ok(measured) => {
            run.wall = measured.wall;
            let summary: serde_json::Value =
                serde_json::from_str(&measured.output).unwrap_or_default();
            let summary = summary.get("summary").unwrap_or(&summary);
            run.requests = summary["requests"].as_u64();
            if summary["succeeded"].as_u64() != Some(operations) {
                run.failure = Some(format!("not all succeeded: {summary}"));
            }
        }
        Err(error) => {
            run.failure = Some(
                error
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(160)
                    .collect(),
            )
        }
    }
    run
}

/// The section of BENCHMARKS.md on throughput.
pub(crate) fn render(runs: &[Run], operations: u64, md: &mut String) {
    let lines = [
        "## Throughput against a busy server".to_owned(),
        String::new(),
        format!(
            "{operations} user-creation POSTs in requests of {PER_REQUEST} against `mapctl serve --null --latency {LATENCY_MS} --per-operation-us {PER_OPERATION_US}` with the limit shown. The server-bound minimum is what its limits allow; throttled is the share of requests answered 429 (requests sent beyond the job's own). `auto`: the median of its runs by wall time."
        ),
        String::new(),
        "| server | client | wall s | minimum s | wall / minimum | requests | throttled | |"
            .to_owned(),
        "|---|---|---:|---:|---:|---:|---:|---|".to_owned(),
    ];
    for line in lines {
        let _ = writeln!(md, "{line}");
    }
    for run in runs {
        if let Some(failure) = run.failure.as_deref().filter(|_| run.requests.is_none()) {
            let _ = writeln!(
                md,
                "| {} | {} | – | {:.2} | – | – | – | did not finish: {failure} |",
                run.scenario,
                run.client,
                run.minimum.as_secs_f64()
            );
            continue;
        }
        let ratio = run.wall.as_secs_f64() / run.minimum.as_secs_f64();
        let (requests, throttled) = match run.requests {
            Some(sent) => (
                sent.to_string(),
                format!(
                    "{:.1}%",
                    sent.saturating_sub(run.planned) as f64 * 100.0 / sent as f64
                ),
            ),
            None => ("–".to_owned(), "–".to_owned()),
        };
        let note = run
            .failure
            .as_deref()
            .unwrap_or("every operation succeeded");
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {:.2} | {:.2}x | {requests} | {throttled} | {note} |",
            run.scenario,
            run.client,
            run.wall.as_secs_f64(),
            run.minimum.as_secs_f64(),
            ratio
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "| target (from the issue) | measured | |");
    let _ = writeln!(md, "|---|---|---|");
    for run in runs.iter().filter(|r| r.client.ends_with("auto")) {
        let ratio = run.wall.as_secs_f64() / run.minimum.as_secs_f64();
        let share = run.requests.map_or(f64::NAN, |sent| {
            sent.saturating_sub(run.planned) as f64 * 100.0 / sent as f64
        });
        let verdict = |met: bool| if met { "met" } else { "**not met**" };
        let _ = writeln!(
            md,
            "| {}: auto within 1.15x of the server-bound minimum | {ratio:.2}x | {} |",
            run.scenario,
            verdict(ratio <= 1.15 && run.failure.is_none())
        );
        let _ = writeln!(
            md,
            "| {}: at most 5% of requests throttled | {share:.1}% | {} |",
            run.scenario,
            verdict(share <= 5.0)
        );
    }
    let _ = writeln!(md);
}
