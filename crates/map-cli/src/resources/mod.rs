//! `mapctl users|groups|services …`, `mapctl eppn` and `mapctl self`: one call (or a
//! search's pages) through map-client's [`ResourceClient`], printed as human, json or ndjson.
//!
//! Exit codes as for `mapctl bulk`: 0 done; 1 mAP Core answered with an error (its detail
//! printed); 2 invalid usage or input, nothing sent; 3 unreachable or credentials refused.

mod kind;
mod print;

use std::io::Read;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use map_client::{Deletable, Pipeline, Projection, ResourceAnswer, ResourceClient, ResourceError};
use map_entities::{
    MapGroup, MapService, MapUser, PatchData, ResourceKind, SearchRequestParameter, SortOrder,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::{ConnectArgs, DeletableVerb, ListArgs, OutputFormat, SortOrderArg, Verb};
use crate::connect;
use crate::credentials;
use crate::exit::Exit;
use crate::resources::kind::Listed;
use crate::resources::print::ListPrinter;

/// Pages requested ahead of the one being printed by `list --all`.
const PREFETCH_PAGES: usize = 2;

/// `mapctl users VERB`.
pub(crate) async fn users(verb: Verb, connect: ConnectArgs) -> Exit {
    match connect_to(&connect, "users") {
        Ok(client) => common::<MapUser>(&client, verb, connect.output).await,
        Err(exit) => exit,
    }
}

/// `mapctl groups VERB`.
pub(crate) async fn groups(verb: DeletableVerb, connect: ConnectArgs) -> Exit {
    match connect_to(&connect, "groups") {
        Ok(client) => deletable::<MapGroup>(&client, verb, connect.output).await,
        Err(exit) => exit,
    }
}

/// `mapctl services VERB`.
pub(crate) async fn services(verb: DeletableVerb, connect: ConnectArgs) -> Exit {
    match connect_to(&connect, "services") {
        Ok(client) => deletable::<MapService>(&client, verb, connect.output).await,
        Err(exit) => exit,
    }
}

/// `mapctl eppn EPPN`.
pub(crate) async fn eppn(eppn: String, connect: ConnectArgs) -> Exit {
    match connect_to(&connect, "eppn") {
        Ok(client) => show(client.exist_eppn(&eppn).await, connect.output),
        Err(exit) => exit,
    }
}

/// `mapctl self`.
pub(crate) async fn self_user(connect: ConnectArgs) -> Exit {
    match connect_to(&connect, "self") {
        Ok(client) => show(client.self_user().await, connect.output),
        Err(exit) => exit,
    }
}

/// A client for the deployment `args` name, with credentials from the environment.
fn connect_to(args: &ConnectArgs, command: &str) -> Result<ResourceClient, Exit> {
    if args.simulator {
        return Err(Exit::usage(format!(
            "mapctl {command} does not take --simulator (it is for bulk and sync): an embedded \
             simulator would be empty; run `mapctl serve` and give its URL to try these commands"
        )));
    }
    let Some(base_url) = &args.base_url else {
        return Err(Exit::usage(format!(
            "mapctl {command} needs --base-url or MAP_BASE_URL: an embedded simulator would be \
             empty, with nothing to read (`mapctl serve` runs one to try these commands against)"
        )));
    };
    let endpoint = connect::endpoint(base_url, args.allow_insecure)?;
    let credentials = credentials::from_env().map_err(Exit::usage)?;
    let transport = connect::transport(args.transport).map_err(Exit::failure)?;
    let pipeline =
        Pipeline::new(endpoint, transport).with_attempt_timeout(Duration::from_secs(args.timeout));
    Ok(ResourceClient::new(pipeline, &credentials))
}

async fn deletable<T: Listed + Deletable>(
    client: &ResourceClient,
    verb: DeletableVerb,
    output: OutputFormat,
) -> Exit {
    match verb {
        DeletableVerb::Common(verb) => common::<T>(client, verb, output).await,
        DeletableVerb::Delete(args) => {
            let deleted = client.resources::<T>().delete(&args.id).await;
            let path = format!("{}/{}", T::ENDPOINT, args.id);
            match (deleted, output) {
                (Ok(ResourceAnswer::Done(())), OutputFormat::Human) => {
                    written(print::line(&format!("deleted {path}")))
                }
                (deleted, output) => show(
                    deleted.map(|answer| answer.map(|()| Deleted { deleted: path })),
                    output,
                ),
            }
        }
    }
}

/// What `delete` prints.
#[derive(Serialize)]
struct Deleted {
    deleted: String,
}

async fn common<T: Listed>(client: &ResourceClient, verb: Verb, output: OutputFormat) -> Exit {
    let resources = client.resources::<T>();
    match verb {
        Verb::List(args) => list::<T>(client, args, output).await,
        Verb::Get(args) => {
            let projection = Projection {
                attributes: args.attributes,
                excluded_attributes: args.excluded_attributes,
            };
            show(resources.get_with(&args.id, &projection).await, output)
        }
        Verb::Create(args) => match read_resource::<T>(&args.document) {
            Ok(document) => show(resources.create(&document).await, output),
            Err(exit) => exit,
        },
        Verb::Replace(args) => match read_resource::<T>(&args.document) {
            Ok(document) => show(resources.replace(&args.id, &document).await, output),
            Err(exit) => exit,
        },
        Verb::Patch(args) => match read_json::<PatchData>(&args.document, "PatchOp") {
            Ok(patch) => show(resources.patch(&args.id, patch.operations()).await, output),
            Err(exit) => exit,
        },
    }
}

/// `list`: one page, or with `--all` every page as it arrives.
async fn list<T: Listed>(client: &ResourceClient, args: ListArgs, output: OutputFormat) -> Exit {
    let all = args.all;
    let query = search_query(args);
    let mut printer = ListPrinter::<T>::new(output);
    if !all {
        let page = match client.resources::<T>().page(&query).await {
            Ok(ResourceAnswer::Done(page)) => page,
            Ok(refused) => return refusal(refused),
            Err(error) => return failed(error),
        };
        let printed = printer
            .page(page.resources(), page.total_results)
            .and_then(|()| printer.finish(false));
        return written(printed);
    }
    let mut pages = client
        .resources::<T>()
        .search(query)
        .prefetch(PREFETCH_PAGES);
    let progress = progress_bar(output);
    while let Some(page) = pages.next_page().await {
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                progress.abandon();
                return failed(error);
            }
        };
        progress.set_length(page.total_results);
        progress.inc(page.resources().len() as u64);
        if let Err(error) = printer.page(page.resources(), page.total_results) {
            progress.abandon();
            return written(Err(error));
        }
    }
    progress.finish_and_clear();
    written(printer.finish(true))
}

fn search_query(args: ListArgs) -> SearchRequestParameter {
    let nonempty = |list: Vec<String>| (!list.is_empty()).then_some(list);
    SearchRequestParameter {
        filter: args.filter,
        start_index: args.start_index,
        count: args.count,
        sort_by: args.sort_by,
        sort_order: args.sort_order.map(|order| match order {
            SortOrderArg::Ascending => SortOrder::Ascending,
            SortOrderArg::Descending => SortOrder::Descending,
        }),
        attributes: nonempty(args.attributes),
        excluded_attributes: nonempty(args.excluded_attributes),
    }
}

/// `list --all`'s progress, on stderr when it is a terminal and the output is for people.
fn progress_bar(output: OutputFormat) -> ProgressBar {
    if output != OutputFormat::Human {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} read") {
        bar.set_style(style);
    }
    bar
}

/// Prints what a call came to; its exit.
fn show<T: Serialize>(
    result: Result<ResourceAnswer<T>, ResourceError>,
    output: OutputFormat,
) -> Exit {
    match result {
        Ok(ResourceAnswer::Done(document)) => written(print::document(&document, output)),
        Ok(refused) => refusal(refused),
        Err(error) => failed(error),
    }
}

/// 1, with the server's error: not found, a conflict, or a refusal.
fn refusal<T>(answer: ResourceAnswer<T>) -> Exit {
    let what = match &answer {
        ResourceAnswer::NotFound(_) => "not found",
        ResourceAnswer::Conflict(_) => "conflict",
        _ => "refused",
    };
    let Some(error) = answer.error() else {
        return Exit::Success;
    };
    Exit::failure(format!(
        "{what} (mAP Core answered {}): {}",
        error.status.as_deref().unwrap_or("an error"),
        error.detail.as_deref().unwrap_or("no detail")
    ))
}

/// The exit of a call that got no usable answer (the same for every command: 3 when mAP
/// Core could not be reached or refused the credentials, 1 when it was reached but gave no
/// usable answer, a timeout included).
pub(crate) fn failed(error: ResourceError) -> Exit {
    match error {
        ResourceError::Build(_) => Exit::usage(error.to_string()),
        error if error.is_unreachable_or_unauthorized() => Exit::Unreachable(error.to_string()),
        error => Exit::failure(error.to_string()),
    }
}

/// 0 once the output is written; a reader that stopped early (`| head`) is no failure.
fn written(result: std::io::Result<()>) -> Exit {
    match result {
        Ok(()) => Exit::Success,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Exit::Success,
        Err(error) => Exit::failure(format!("cannot write the output: {error}")),
    }
}

/// A document of kind `T` from `source`; one whose `schemas` name another kind is refused.
fn read_resource<T: Listed + DeserializeOwned>(source: &str) -> Result<T, Exit> {
    let value: serde_json::Value = read_json(source, T::NAME)?;
    let schemas = value
        .get("schemas")
        .and_then(serde_json::Value::as_array)
        .map(|schemas| schemas.iter().filter_map(serde_json::Value::as_str));
    if let Some(kind) = schemas.and_then(ResourceKind::from_schemas)
        && kind.endpoint() != Some(T::ENDPOINT)
    {
        return Err(Exit::usage(format!(
            "{}: schemas: a {kind:?} document, not a {}",
            name(source),
            T::NAME
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| Exit::usage(format!("{}: not a {} document: {e}", name(source), T::NAME)))
}

/// The JSON document in `source` (a file, or `-` for stdin).
fn read_json<D: DeserializeOwned>(source: &str, what: &str) -> Result<D, Exit> {
    let bytes = if source == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map(|_| bytes)
            .map_err(|e| Exit::usage(format!("cannot read stdin: {e}")))?
    } else {
        std::fs::read(source).map_err(|e| Exit::usage(format!("cannot read {source}: {e}")))?
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| Exit::usage(format!("{}: not a {what} document: {e}", name(source))))
}

fn name(source: &str) -> &str {
    if source == "-" { "stdin" } else { source }
}
