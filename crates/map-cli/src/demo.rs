//! `mapctl demo`: a small realistic job against the embedded simulator, and its report.

use map_bulk::{BulkClient, Endpoint, Engine, JobConfig, Limits, RetryPolicy};
use map_entities::{BulkOperation, PATCH_OP_SCHEMA, USER_SCHEMA};
use map_sim::{SimConfig, Simulator};
use serde_json::json;

use crate::bulk::run_job;
use crate::cli::{DemoArgs, TransportKind};
use crate::connect;
use crate::exit::Exit;
use crate::report::Renderer;

/// Three users; a group whose members and administrator are the new users; a PATCH adding
/// the third user and a description; a PUT; and a DELETE of a user that does not exist, which
/// fails on purpose. Three operations per request, so references cross requests.
pub(crate) fn demo_job() -> Vec<BulkOperation> {
    let user = |name: &str, language: &str| {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "preferredLanguage": language,
            "eduPersonPrincipalNames": [{"value": format!("{name}@idp.example.ac.jp")}],
            "emails": [{"value": format!("{name}@example.ac.jp")}]
        })
    };
    vec![
        BulkOperation::post("/Users", "alice", user("alice", "ja")),
        BulkOperation::post("/Users", "bob", user("bob", "en")),
        BulkOperation::post("/Users", "carol", user("carol", "ja")),
        BulkOperation::post(
            "/Groups",
            "lab",
            json!({
                "schemas": [map_entities::GROUP_SCHEMA],
                "id": "lab-informatics",
                "displayName": "Informatics Laboratory",
                "memberListVisibility": "Private",
                "members": [{"type": "User", "value": "bulkId:alice"}, {"type": "User", "value": "bulkId:bob"}],
                "administrators": [{"value": "bulkId:alice"}]
            }),
        ),
        BulkOperation::patch(
            "/Groups/bulkId:lab",
            json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"type": "User", "value": "bulkId:carol"}]},
                    {"op": "replace", "path": "description", "value": "Members of the Informatics Laboratory"}
                ]
            }),
        ),
        BulkOperation::put("/Users/bulkId:bob", user("bob", "ja")),
        BulkOperation::delete("/Users/no-such-user"),
    ]
}

#[allow(clippy::print_stderr)]
pub(crate) async fn run(args: DemoArgs) -> Exit {
    let simulator = match Simulator::start(SimConfig::default()).await {
        Ok(simulator) => simulator,
        Err(error) => {
            return Exit::failure(format!("cannot start the embedded simulator: {error}"));
        }
    };
    let endpoint = match Endpoint::new(simulator.base_url()) {
        Ok(endpoint) => endpoint,
        Err(error) => return Exit::failure(error.to_string()),
    };
    let transport = match connect::transport(TransportKind::Reqwest) {
        Ok(transport) => transport,
        Err(error) => return Exit::failure(error),
    };
    eprintln!(
        "mapctl demo: 7 operations against an embedded mAP Core simulator at {}, 3 per request;\n\
         the group refers to users created by an earlier request, and the last DELETE fails on purpose.",
        simulator.base_url()
    );
    let config = JobConfig {
        limits: Limits {
            max_operations: 3,
            ..Limits::default()
        },
        retry: RetryPolicy::default(),
        ..JobConfig::default()
    };
    let engine = Engine::new(
        BulkClient::new(endpoint, transport),
        simulator.credentials(),
        config,
    );
    let mut job = demo_job();
    let exit = run_job(
        &engine,
        &mut job,
        None,
        Renderer::with_table(args.output, true),
    )
    .await;
    // The demo ran as designed when only the deliberate DELETE failed.
    let snapshot = simulator.snapshot();
    let group_complete = snapshot
        .groups
        .first()
        .and_then(|g| g.members.as_ref())
        .is_some_and(|members| members.len() == 3);
    match exit {
        Exit::NotAllSucceeded if snapshot.users.len() == 3 && group_complete => {
            eprintln!(
                "mapctl demo: ran as designed (the one failure above is the deliberate DELETE)"
            );
            Exit::Success
        }
        Exit::Success => Exit::failure("the demo's deliberate failure did not happen"),
        other => other,
    }
}
