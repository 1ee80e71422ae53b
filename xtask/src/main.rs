//! Project automation for map-rs.
//!
//! `cargo xtask ci` runs, in order and stopping at the first failure, exactly what CI checks:
//! `cargo fmt --all -- --check`, `cargo clippy --workspace --all-targets -- -D warnings` and
//! `cargo test --workspace`.

#![allow(clippy::print_stderr)]

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
        _ => {
            eprintln!("usage: cargo xtask ci    # fmt check, clippy -D warnings, tests");
            ExitCode::from(2)
        }
    }
}

fn ci() -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for (name, args) in CI_STEPS {
        eprintln!("xtask ci: {name}: cargo {}", args.join(" "));
        match Command::new(&cargo).args(args).status() {
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
