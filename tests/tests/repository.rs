//! Checks on the repository itself: the README's Quick start and the CI script agree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use std::fs;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .expect("the tests package sits in the workspace root")
}

/// The commands of the first fenced block under the "Quick start" heading.
fn quick_start_commands() -> Vec<String> {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Quick start")
        .nth(1)
        .expect("README has a Quick start heading");
    let block = section
        .split("```")
        .nth(1)
        .expect("the Quick start has a fenced block");
    block
        .lines()
        .skip(1) // the info string, e.g. `sh`
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn quick_start_is_the_main_job_then_the_tests() {
    let commands = quick_start_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(commands[1], "cargo test --workspace");
}

#[test]
fn ci_runs_the_quick_start_test_command() {
    let ci = fs::read_to_string(root().join(".ci/run")).unwrap();
    let test_command = &quick_start_commands()[1];
    let last_command = ci
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty() && !line.starts_with('#'))
        .unwrap();
    assert_eq!(
        last_command, test_command,
        ".ci/run must end by running the README's tests"
    );
}

#[test]
fn toolchain_follows_stable() {
    let toolchain = fs::read_to_string(root().join("rust-toolchain.toml")).unwrap();
    assert!(toolchain.contains("channel = \"stable\""), "{toolchain}");
}
