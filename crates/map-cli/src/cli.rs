//! The command line: `mapctl bulk`, `mapctl demo`, `mapctl serve`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run mAP Core API V2 bulk jobs: validated, planned within the server's limits, retried
/// safely, with one outcome per operation.
#[derive(Debug, Parser)]
#[command(name = "mapctl", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a bulk job from a file (a BulkRequest, a JSON array of operations, or NDJSON).
    Bulk(BulkArgs),
    /// Run a small realistic job against the embedded simulator and show its report.
    Demo(DemoArgs),
    /// Run the mAP Core simulator in the foreground.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BulkArgs {
    /// The job: a file, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub(crate) input: String,
    /// mAP Core's base URL (e.g. https://cg.gakunin.jp). Without it (or MAP_BASE_URL) the job
    /// runs against an embedded simulator. Credentials come from MAP_ACCESS_TOKEN and
    /// MAP_CLIENT_SECRET, or from the files MAP_ACCESS_TOKEN_FILE and MAP_CLIENT_SECRET_FILE
    /// name.
    #[arg(long, value_name = "URL", env = "MAP_BASE_URL")]
    pub(crate) base_url: Option<String>,
    /// Allow a plain http base URL to a host that is not loopback.
    #[arg(long)]
    pub(crate) allow_insecure: bool,
    /// Operations per request (mAP's maxOperations).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_operations: u64,
    /// Bytes per request body (mAP's maxPayloadSize).
    #[arg(long, value_name = "B", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u64).range(512..))]
    pub(crate) max_payload_bytes: u64,
    /// Sent as failOnErrors with every request (default: the input document's, or none).
    #[arg(long, value_name = "N")]
    pub(crate) fail_on_errors: Option<u64>,
    /// Stop sending once more than N operations have failed; the rest are skipped.
    #[arg(long, value_name = "N")]
    pub(crate) error_budget: Option<u64>,
    /// Independent requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub(crate) concurrency: u64,
    /// The HTTP client.
    #[arg(long, value_enum, default_value_t = TransportKind::Reqwest)]
    pub(crate) transport: TransportKind,
    /// Seconds to wait for each request's complete answer.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
    /// How to report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub(crate) output: OutputFormat,
    /// Validate and print the plan; send nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Write ahead to FILE what is sent and how each operation settles; run the same job with
    /// the same FILE again to resume it: nothing that settled is sent twice.
    #[arg(long, value_name = "FILE")]
    pub(crate) journal: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How to report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub(crate) output: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The loopback port; 0 picks a free one.
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub(crate) port: u16,
    /// The most operations one bulk request may carry.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) max_operations: usize,
    /// The largest bulk request body in bytes.
    #[arg(long, value_name = "B", default_value_t = 1024 * 1024)]
    pub(crate) max_payload_bytes: usize,
    /// Faults to inject, e.g. `503:2@3,close-after@5,500%10,seed=7` (see map-sim's FaultPlan).
    #[arg(long, value_name = "SPEC")]
    pub(crate) faults: Option<String>,
    /// Null mode, for benchmarks: check and answer, store nothing.
    #[arg(long)]
    pub(crate) null: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportKind {
    /// reqwest (rustls).
    Reqwest,
    /// hyper 1 (hyper-util, hyper-rustls).
    Hyper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// A progress bar, a summary and a table of what did not succeed.
    Human,
    /// One JSON document.
    Json,
    /// One JSON line per operation as it settles, then the summary.
    Ndjson,
}

impl BulkArgs {
    /// The input file, unless it is stdin.
    pub(crate) fn input_path(&self) -> Option<PathBuf> {
        (self.input != "-").then(|| PathBuf::from(&self.input))
    }
}
