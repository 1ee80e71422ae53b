//! Project automation for map-rs.
//!
//! - `cargo xtask ci` runs, in order and stopping at the first failure, exactly what CI checks:
//!   `cargo fmt --all -- --check`, `cargo clippy --workspace --all-targets -- -D warnings` and
//!   `cargo test --workspace`.
//! - `cargo xtask bench` measures mapctl against the Python peer (`bench/peers/`) on the same
//!   map-sim in null mode, lists 100k users from a map-sim that holds them, and writes
//!   `BENCHMARKS.md`; see [`mod@bench`] and [`list_bench`].

#![allow(clippy::print_stderr, clippy::print_stdout)]

mod bench;
mod list_bench;
mod sync_bench;
mod throughput_bench;

use std::process::{Command, ExitCode};

/// Each CI step: a name and the cargo arguments that run it.
const CI_STEPS: [(&str, &[&str]); 3] = [
    ("fmt", &["fmt", "--all", "--", "--check"]),
    (
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    ("test", &["test", "--workspace"]),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => match bench::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("xtask bench: {error}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask ci       # fmt check, clippy -D warnings, tests");
            eprintln!(
                "       cargo xtask bench    # mapctl vs the Python peer; writes BENCHMARKS.md"
            );
            ExitCode::from(2)
        }
    }
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn ci() -> ExitCode {
    for (name, args) in CI_STEPS {
        eprintln!("xtask ci: {name}: cargo {}", args.join(" "));
        match Command::new(cargo()).args(args).status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("xtask ci: {name} failed ({status})");
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("xtask ci: could not run cargo for {name}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("xtask ci: all checks passed");
    ExitCode::SUCCESS
}
