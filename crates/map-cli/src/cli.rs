//! The command line: `mapctl bulk`, `mapctl users|groups|services …`, `mapctl eppn`,
//! `mapctl self`, `mapctl demo`, `mapctl serve`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use map_bulk::Concurrency;

/// Run mAP Core API V2 bulk jobs (validated, planned within the server's limits, retried
/// safely, with one outcome per operation), and read and write its users, groups and services.
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
    /// Bring mAP Core in step with desired files: plan the fewest changes, show them, apply
    /// them through the bulk engine, and write a job that undoes them.
    Sync(SyncArgs),
    /// Users: list, get, create, replace, patch (users are not deleted through the API).
    Users {
        #[command(subcommand)]
        verb: Verb,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Groups: list, get, create, replace, patch, delete.
    Groups {
        #[command(subcommand)]
        verb: DeletableVerb,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Services: list, get, create, replace, patch, delete.
    Services {
        #[command(subcommand)]
        verb: DeletableVerb,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// The user holding an ePPN (mAP Core's Existeppn).
    Eppn {
        /// The eduPersonPrincipalName, e.g. alice@example.ac.jp.
        eppn: String,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// The user the access token belongs to.
    #[command(name = "self")]
    SelfUser {
        #[command(flatten)]
        connect: ConnectArgs,
    },
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
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
    /// Sent as failOnErrors with every request (default: the input document's, or none).
    #[arg(long, value_name = "N")]
    pub(crate) fail_on_errors: Option<u64>,
    /// Validate and print the plan; send nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Desired files (`-` for stdin), told apart by content: JSON documents (an array, or
    /// one per line) of Users, Groups and Services; CSV, TSV or XLSX tables of users (a
    /// header row of attribute names, several values in a cell separated by `;`); or the
    /// NII groups manager's user-import file as it is.
    #[arg(value_name = "DESIRED", required = true)]
    pub(crate) desired: Vec<PathBuf>,
    /// The desired files' text encoding: `auto` (a BOM decides; else UTF-8 if valid; else
    /// CP932 if the whole file decodes as it, said on stderr), `utf-8`, `utf-16` or `cp932`.
    #[arg(long, value_name = "E", default_value = "auto")]
    pub(crate) encoding: map_sync::Encoding,
    /// Accept a desired file that gives no users, groups or services (refused otherwise:
    /// an empty export would make sync remove everything it manages).
    #[arg(long)]
    pub(crate) allow_empty: bool,
    /// How desired users are matched to existing ones.
    #[arg(long, value_enum, default_value_t = KeyArg::Eppn)]
    pub(crate) key: KeyArg,
    /// A listed user's `groups` are exact among the groups whose id starts with PREFIX: it
    /// leaves such a group that its row does not name.
    #[arg(long, value_name = "PREFIX", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub(crate) exact_groups: Option<String>,
    /// Delete the groups whose id starts with PREFIX that no desired file names.
    #[arg(long, value_name = "PREFIX", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub(crate) prune_groups: Option<String>,
    /// Print the plan; send no write.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The most groups a plan may delete, as a count or a percentage of the existing groups
    /// under --prune-groups (a percentage allows at least 10); a plan over it sends nothing
    /// and exits 4.
    #[arg(long, value_name = "N|P%", default_value = "10%")]
    pub(crate) max_deletes: map_sync::Limit,
    /// The most memberships a plan may remove, as a count or a percentage of the
    /// memberships of the groups it changes (a percentage allows at least 10); a plan over
    /// it sends nothing and exits 4.
    #[arg(long, value_name = "N|P%", default_value = "10%")]
    pub(crate) max_removals: map_sync::Limit,
    /// After applying, write to FILE a bulk job that reverses every change that succeeded
    /// (run it with `mapctl bulk FILE`).
    #[arg(long, value_name = "FILE")]
    pub(crate) undo: Option<PathBuf>,
    /// Sent as failOnErrors with every request: the server stops processing a request after
    /// N failed operations (the rest are skipped, and the next run plans them again).
    #[arg(long, value_name = "N")]
    pub(crate) fail_on_errors: Option<u64>,
    /// Append to FILE one JSON line per change sent (time, run, kind, key, id, action,
    /// attributes before and after, members added and removed, outcome); never truncated.
    #[arg(long, value_name = "FILE")]
    pub(crate) audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
}

/// `--key`: how a desired user is matched to an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyArg {
    /// The existing user holding any of its ePPNs.
    Eppn,
    /// The existing user with its userName.
    #[value(name = "userName")]
    UserName,
    /// The existing user with its externalId.
    #[value(name = "externalId")]
    ExternalId,
}

/// How the engine runs a job: its limits, pace, error budget and journal (`bulk`, `sync`).
#[derive(Debug, Args)]
pub(crate) struct EngineArgs {
    /// Operations per request (mAP's maxOperations).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = at_least::<1>)]
    pub(crate) max_operations: u64,
    /// Bytes per request body (mAP's maxPayloadSize).
    #[arg(long, value_name = "B", default_value_t = 1024 * 1024, value_parser = at_least::<512>)]
    pub(crate) max_payload_bytes: u64,
    /// Stop sending once more than N operations have failed; the rest are skipped.
    #[arg(long, value_name = "N")]
    pub(crate) error_budget: Option<u64>,
    /// Independent requests in flight at once (1 to 64), or `auto`: start at one and find the
    /// server's capacity while the job runs (halving on 429/503 or rising latency, honouring
    /// Retry-After for the whole job), up to --max-concurrency.
    #[arg(long, value_name = "N|auto", default_value = "auto")]
    pub(crate) concurrency: Concurrency,
    /// The most requests in flight with `--concurrency auto` (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub(crate) max_concurrency: u64,
    /// Write ahead to FILE what is sent and how each operation settles; run the same job with
    /// the same FILE again to resume it: nothing that settled is sent twice.
    #[arg(long, value_name = "FILE")]
    pub(crate) journal: Option<std::path::PathBuf>,
}

/// Where mAP Core is, how to reach it, and how to print what comes back.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// mAP Core's base URL (e.g. https://cg.gakunin.jp), or MAP_BASE_URL; required unless
    /// `--simulator` is given. Credentials come
    /// from MAP_ACCESS_TOKEN and MAP_CLIENT_SECRET, or from the files MAP_ACCESS_TOKEN_FILE
    /// and MAP_CLIENT_SECRET_FILE name.
    #[arg(long, value_name = "URL", env = "MAP_BASE_URL", global = true)]
    pub(crate) base_url: Option<String>,
    /// `bulk` and `sync`: run against a mAP Core simulator embedded in mapctl (its state
    /// is gone when the command ends) instead of a base URL.
    #[arg(long, global = true)]
    pub(crate) simulator: bool,
    /// Allow a plain http base URL to a host that is not loopback.
    #[arg(long, global = true)]
    pub(crate) allow_insecure: bool,
    /// The HTTP client.
    #[arg(long, value_enum, default_value_t = TransportKind::Reqwest, global = true)]
    pub(crate) transport: TransportKind,
    /// Seconds to wait for each request's complete answer.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = at_least::<1>, global = true)]
    pub(crate) timeout: u64,
    /// How to print: human (for people), json (one document), or ndjson (one line per
    /// operation as it settles, or per resource).
    #[arg(long, value_enum, default_value_t = OutputFormat::Human, global = true)]
    pub(crate) output: OutputFormat,
}

/// What to do with one kind of resource.
#[derive(Debug, Subcommand)]
pub(crate) enum Verb {
    /// One page of resources (the server's default size unless --count), or every page.
    List(ListArgs),
    /// One resource by id.
    Get(GetArgs),
    /// Create a resource from a document.
    Create(DocumentArgs),
    /// Replace a resource with a document.
    Replace(IdDocumentArgs),
    /// Patch a resource with a PatchOp document, or one bare operation.
    Patch(IdDocumentArgs),
}

/// What to do with a kind of resource that the API lets a client delete.
#[derive(Debug, Subcommand)]
pub(crate) enum DeletableVerb {
    #[command(flatten)]
    Common(Verb),
    /// Delete a resource by id.
    Delete(IdArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// A SCIM filter, e.g. 'eduPersonPrincipalNames.value eq "alice@example.ac.jp"'.
    #[arg(long, value_name = "F")]
    pub(crate) filter: Option<String>,
    /// Only these attributes (and id).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub(crate) attributes: Vec<String>,
    /// Every attribute but these.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub(crate) excluded_attributes: Vec<String>,
    /// The attribute to sort by.
    #[arg(long, value_name = "A")]
    pub(crate) sort_by: Option<String>,
    /// The sort order.
    #[arg(long, value_enum)]
    pub(crate) sort_order: Option<SortOrderArg>,
    /// Resources per page (not sent unless given: the server's default, 20 on mAP Core).
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
    /// The 1-based index of the first resource.
    #[arg(long, value_name = "N", value_parser = at_least::<1>)]
    pub(crate) start_index: Option<u64>,
    /// Every page, streamed as it arrives, until totalResults.
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SortOrderArg {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The resource's id.
    pub(crate) id: String,
    /// Only these attributes (and id).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub(crate) attributes: Vec<String>,
    /// Every attribute but these.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub(crate) excluded_attributes: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DocumentArgs {
    /// The document: a file, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub(crate) document: String,
}

#[derive(Debug, Args)]
pub(crate) struct IdDocumentArgs {
    /// The resource's id.
    pub(crate) id: String,
    /// The document: a file, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub(crate) document: String,
}

#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    /// The resource's id.
    pub(crate) id: String,
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
    /// Milliseconds added to every answer (a network's round trip).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub(crate) latency: u64,
    /// Server time per bulk operation, in microseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) per_operation_us: u64,
    /// Bulk requests processed at once; one more is answered 429 (Retry-After: 1).
    #[arg(long, value_name = "N", value_parser = at_least::<1>)]
    pub(crate) capacity: Option<u64>,
    /// Bulk requests per second; beyond it 429 with a Retry-After saying when a token is due.
    #[arg(long, value_name = "N")]
    pub(crate) rate: Option<f64>,
    /// A user with this ePPN is seeded as the one the token belongs to (what `mapctl self`
    /// answers).
    #[arg(long, value_name = "EPPN")]
    pub(crate) self_user: Option<String>,
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
    /// For people: a job's progress bar, summary and table of what did not succeed; a table
    /// of resources; a document pretty-printed.
    Human,
    /// One JSON document.
    Json,
    /// One JSON line per operation as it settles, then the summary; or one per resource.
    Ndjson,
}

impl EngineArgs {
    /// `--concurrency` with `--max-concurrency`; a fixed number above 64 is a usage error.
    pub(crate) fn concurrency(&self) -> Result<Concurrency, String> {
        match self.concurrency {
            Concurrency::Fixed(n) if n > 64 => Err(format!(
                "--concurrency {n}: at most 64 requests in flight (or auto)"
            )),
            Concurrency::Auto { .. } => Ok(Concurrency::Auto {
                max: self.max_concurrency as usize,
            }),
            fixed => Ok(fixed),
        }
    }

    /// `--max-operations` and `--max-payload-bytes`.
    pub(crate) fn limits(&self) -> map_bulk::Limits {
        map_bulk::Limits {
            max_operations: usize::try_from(self.max_operations).unwrap_or(usize::MAX),
            max_payload_bytes: usize::try_from(self.max_payload_bytes).unwrap_or(usize::MAX),
        }
    }
}

impl BulkArgs {
    /// The input file, unless it is stdin.
    pub(crate) fn input_path(&self) -> Option<PathBuf> {
        (self.input != "-").then(|| PathBuf::from(&self.input))
    }
}

/// A whole number of at least `MIN`, said so when it is not (clap's own range message
/// prints `1..18446744073709551615`).
fn at_least<const MIN: u64>(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= MIN => Ok(n),
        Ok(n) => Err(format!("{n} is too small: at least {MIN}")),
        Err(_) => Err(format!("{text:?} is not a whole number (at least {MIN})")),
    }
}
