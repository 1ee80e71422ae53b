//! `mapctl`: run mAP Core bulk jobs from files — against a real deployment, or an embedded
//! simulator by default — with a progress bar and a report; read and write users, groups and
//! services one at a time; try a demo; serve the simulator.
//!
//! Exit codes: 0 every operation succeeded (or the call was done); 1 some did not (or the
//! server answered with an error); 2 invalid input or usage (nothing was sent); 3 could not
//! connect or authenticate; 4 a sync plan went over a safety limit (nothing was sent); 130
//! or 143 a job interrupted by SIGINT or SIGTERM (what settled is reported and journaled).

mod bulk;
mod cli;
mod connect;
mod credentials;
mod demo;
mod exit;
mod interrupt;
mod private_file;
mod report;
mod resources;
mod serve;
mod sync;
mod text;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

/// jemalloc: a bulk job allocates many short strings and frees them a request at a time,
/// which glibc's malloc handles with about a fifth more CPU per operation (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    // One request in flight has nothing to run in parallel: its answer is awaited while the
    // next request is read, on one thread. Measured on the bench workload, a single-threaded
    // runtime spends about 14% less CPU there (no wake-ups across threads, no frees of
    // another thread's allocations); with several requests in flight, or serving, threads
    // give more throughput.
    // A resource command's calls (and the pages `list --all` fetches ahead) are I/O, which
    // one thread waits on as well as several.
    let single_request = match &cli.command {
        Command::Bulk(args) => args.engine.concurrency == map_bulk::Concurrency::Fixed(1),
        Command::Sync(args) => args.engine.concurrency == map_bulk::Concurrency::Fixed(1),
        Command::Demo(_) | Command::Serve(_) => false,
        _ => true,
    };
    let mut builder = if single_request {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            return Exit::failure(format!("cannot start the async runtime: {error}")).into();
        }
    };
    let exit = runtime.block_on(async {
        match cli.command {
            Command::Bulk(args) => bulk::run(args).await,
            Command::Sync(args) => sync::run(args).await,
            Command::Users { verb, connect } => resources::users(verb, connect).await,
            Command::Groups { verb, connect } => resources::groups(verb, connect).await,
            Command::Services { verb, connect } => resources::services(verb, connect).await,
            Command::Eppn { eppn, connect } => resources::eppn(eppn, connect).await,
            Command::SelfUser { connect } => resources::self_user(connect).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Serve(args) => serve::run(args).await,
        }
    });
    exit.into()
}

/// Logs to stderr as `RUST_LOG` says (nothing unless it is set).
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        use std::io::IsTerminal;
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            // Colour escapes only for a terminal, not in a file stderr is redirected to.
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init();
    }
}
