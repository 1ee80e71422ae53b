//! `cargo xtask bench`'s reading scenario: `mapctl users list --all --count 1000` of every
//! user of a map-sim that holds them (a real store, loaded with `mapctl bulk`), with its wall
//! time, CPU and peak RSS; and of the last tenth alone (`--start-index`), whose peak RSS
//! says whether memory stays flat as the listing grows (resources are streamed out a page
//! at a time, never collected).

use std::fmt::Write as _;
use std::path::Path;

use std::io::{BufRead, BufReader};

use crate::bench::{Measured, measure, measure_with, serve};

/// Users per page.
const PAGE: u64 = 1000;

/// The two listings, the whole store's first.
pub(crate) struct Listings {
    pub(crate) all: Measured,
    pub(crate) tenth: Measured,
    /// `users list --all` as run, relative paths.
    pub(crate) command: String,
}

/// Loads `users` users from `workload` into a fresh map-sim and lists them `runs` times.
pub(crate) fn run(
    mapctl: &Path,
    workload: &Path,
    users: u64,
    runs: usize,
) -> Result<Listings, String> {
    let store = LoadedStore::start(mapctl, workload, users, "listing")?;
    let env = store.env();
    let program = mapctl.display().to_string();

    let list = |start: u64| {
        let mut args: Vec<String> = ["users", "list", "--all", "--output", "ndjson"]
            .map(str::to_owned)
            .into();
        args.extend(["--count".to_owned(), PAGE.to_string()]);
        if start > 1 {
            args.extend(["--start-index".to_owned(), start.to_string()]);
        }
        args
    };
    let tenth_start = users - users / 10 + 1;
    let mut all = Vec::new();
    let mut tenth = Vec::new();
    for round in 1..=runs {
        eprintln!("xtask bench: listing: round {round} of {runs}");
        all.push(listed("users list --all", users, &program, &list(1), &env)?);
        tenth.push(listed(
            "users list --all (last tenth)",
            users / 10,
            &program,
            &list(tenth_start),
            &env,
        )?);
    }
    drop(store);
    let command = format!("MAP_BASE_URL=… mapctl {}", list(1).join(" "));
    Ok(Listings {
        all: median(all),
        tenth: median(tenth),
        command,
    })
}

/// Lists `users` users with `args`, checking the output as it streams: one line per user,
/// each id greater than the one before (map-sim lists in id order), so each id once.
fn listed(
    client: &str,
    users: u64,
    program: &str,
    args: &[String],
    env: &[(&str, &str)],
) -> Result<Measured, String> {
    measure_with(client, users, program, args, env, |stdout| {
        let mut lines = 0;
        let mut last = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            let id = line
                .split("\"id\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .ok_or_else(|| format!("{client}: line {} has no id: {line}", lines + 1))?;
            if id <= last.as_str() {
                return Err(format!(
                    "{client}: id {id} after {last}: out of order or twice"
                ));
            }
            last = id.to_owned();
            lines += 1;
        }
        if lines != users {
            return Err(format!("{client}: {lines} lines, expected {users}"));
        }
        Ok(format!("{users} users, one per line"))
    })
}

/// A map-sim with a real store, loaded with `mapctl bulk` of a workload; stopped when
/// dropped.
pub(crate) struct LoadedStore {
    server: std::process::Child,
    base_url: String,
    token: String,
    secret: String,
}

impl LoadedStore {
    /// Starts map-sim and loads `users` users from `workload` into it (for `scenario`).
    pub(crate) fn start(
        mapctl: &Path,
        workload: &Path,
        users: u64,
        scenario: &str,
    ) -> Result<Self, String> {
        eprintln!("xtask bench: {scenario}: loading {users} users into map-sim");
        let (server, base_url, token, secret) = serve(mapctl, false)?;
        let store = LoadedStore {
            server,
            base_url,
            token,
            secret,
        };
        let load = [
            "bulk",
            &workload.display().to_string(),
            "--concurrency",
            "4",
            "--output",
            "human",
        ]
        .map(str::to_owned);
        measure(
            "load",
            users,
            &mapctl.display().to_string(),
            &load,
            &store.env(),
        )?;
        Ok(store)
    }

    /// The environment that points mapctl at it.
    pub(crate) fn env(&self) -> [(&str, &str); 3] {
        [
            ("MAP_ACCESS_TOKEN", self.token.as_str()),
            ("MAP_CLIENT_SECRET", self.secret.as_str()),
            ("MAP_BASE_URL", self.base_url.as_str()),
        ]
    }
}

impl Drop for LoadedStore {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// The run with the median wall time.
fn median(mut runs: Vec<Measured>) -> Measured {
    runs.sort_by_key(|m| m.wall);
    runs.swap_remove(runs.len() / 2)
}

/// The section of BENCHMARKS.md on reading.
pub(crate) fn render(listings: &Listings, md: &mut String) {
    let Listings {
        all,
        tenth,
        command,
    } = listings;
    let mib = |m: &Measured| m.max_rss_kib as f64 / 1024.0;
    let row = |m: &Measured| {
        format!(
            "| {} | {} | {:.2} | {:.2} | {:.0} | {:.1} |",
            m.client,
            m.operations,
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.operations as f64 / m.wall.as_secs_f64(),
            mib(m)
        )
    };
    let lines = [
        "## Reading: `mapctl users list --all`".to_owned(),
        String::new(),
        format!(
            "Every user of a map-sim holding {} users (loaded with `mapctl bulk`), in pages of {PAGE}, \
             printed as NDJSON and checked as it streams (one line per user, each id once); then the last \
             tenth alone. The median of the runs by wall time; CPU and peak RSS are mapctl's own.",
            all.operations
        ),
        String::new(),
        "| listing | users | wall s | CPU s | users/s | peak RSS MiB |".to_owned(),
        "|---|---:|---:|---:|---:|---:|".to_owned(),
        row(all),
        row(tenth),
        String::new(),
        format!(
            "Peak RSS listing {} users is {:.2}x that of listing {} (flat: pages are printed as they come).",
            all.operations,
            mib(all) / mib(tenth),
            tenth.operations
        ),
        String::new(),
        format!("`{command}`"),
        String::new(),
    ];
    for line in lines {
        let _ = writeln!(md, "{line}");
    }
}
