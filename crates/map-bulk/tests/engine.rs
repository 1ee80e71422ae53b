//! The job engine against map-sim: references across requests, validation, failures and their
//! dependents, error budget, authentication, every fault, 413 splitting, failOnErrors,
//! concurrency, and events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};

use map_bulk::{
    BulkClient, Endpoint, Engine, Event, EventHandler, JobConfig, JobStop, Limits, OperationSource,
    Operations, Outcome, OutcomeKind, RetryPolicy, SkipReason, SourceError,
};
use map_entities::BulkOperation;
use map_sim::{Fault, FaultPlan, SimConfig, Simulator};
use map_transport::{HyperTransport, ReqwestTransport, Transport, TransportConfig};
use serde_json::{Value, json};
use support::Changing;

async fn sim(config: SimConfig) -> Simulator {
    Simulator::start(config).await.unwrap()
}

fn engine_with(sim: &Simulator, config: JobConfig, transport: Arc<dyn Transport>) -> Engine {
    let client = BulkClient::new(Endpoint::new(sim.base_url()).unwrap(), transport);
    Engine::new(client, sim.credentials(), config)
}

fn engine(sim: &Simulator, config: JobConfig) -> Engine {
    let transport = Arc::new(HyperTransport::new(TransportConfig::default()).unwrap());
    engine_with(sim, config, transport)
}

fn config(max_operations: usize) -> JobConfig {
    JobConfig {
        limits: Limits {
            max_operations,
            ..Limits::default()
        },
        retry: RetryPolicy::immediate(4),
        ..JobConfig::default()
    }
}

fn user(name: &str) -> Value {
    json!({"userName": name, "eduPersonPrincipalNames": [{"value": format!("{name}@idp.example.ac.jp")}]})
}

fn add_members(refs: &[&str]) -> Value {
    let members: Vec<Value> = refs
        .iter()
        .map(|r| json!({"type": "User", "value": r}))
        .collect();
    json!({"schemas": [map_entities::PATCH_OP_SCHEMA],
           "Operations": [{"op": "add", "path": "members", "value": members}]})
}

fn kinds(outcomes: &[Outcome]) -> Vec<&'static str> {
    outcomes.iter().map(|o| o.kind.name()).collect()
}

fn assert_one_outcome_each(outcomes: &[Outcome], total: usize) {
    let indices: Vec<u64> = outcomes.iter().map(|o| o.index).collect();
    assert_eq!(
        indices,
        (0..total as u64).collect::<Vec<_>>(),
        "one outcome per operation, in input order"
    );
}

fn assert_no_post_applied_twice(sim: &Simulator) {
    let counters = sim.counters();
    for (bulk_id, count) in &counters.applied_by_bulk_id {
        assert_eq!(*count, 1, "bulkId {bulk_id} applied {count} times");
    }
}

#[tokio::test]
async fn references_resolve_across_requests() {
    let sim = sim(SimConfig::default()).await;
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("alice")),
        BulkOperation::post("Users", "u2", user("bob")),
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"id": "lab-a", "displayName": "Lab A",
            "members": [{"type": "User", "value": "bulkId:u1"}]}),
        ),
        BulkOperation::patch("/Groups/bulkId:g1", add_members(&["bulkId:u2"])),
        BulkOperation::put("/Users/bulkId:u2", user("bob2")),
    ];
    let (report, outcomes) = engine(&sim, config(2))
        .run_collecting(&mut job)
        .await
        .unwrap();
    assert_one_outcome_each(&outcomes, 5);
    assert_eq!(kinds(&outcomes), ["succeeded"; 5], "{outcomes:#?}");
    assert_eq!(report.plan.requests.len(), 3);
    assert_eq!(report.summary.requests, 3);
    assert!(report.summary.all_succeeded());

    let snapshot = sim.snapshot();
    let ids: Vec<String> = outcomes[..2]
        .iter()
        .map(|o| match &o.kind {
            OutcomeKind::Succeeded { id: Some(id), .. } => id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let members: Vec<String> = snapshot.groups[0]
        .members
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.value.clone().unwrap())
        .collect();
    assert_eq!(
        members, ids,
        "bulkId:u1 and bulkId:u2 became the users' ids"
    );
    assert_eq!(
        outcomes[3].path, "/Groups/bulkId:g1",
        "a reference within one request is left to the server"
    );
    assert_eq!(outcomes[4].path, format!("/Users/{}", ids[1]));
    assert!(
        snapshot
            .users
            .iter()
            .any(|u| u.user_name.as_deref() == Some("bob2"))
    );
    assert_no_post_applied_twice(&sim);
}

#[tokio::test]
async fn an_invalid_job_is_refused_whole_and_nothing_is_sent() {
    let sim = sim(SimConfig::default()).await;
    let mut job: Vec<map_bulk::JobOperation> = [
        // Valid: a POST needs a bulkId only when something refers to it.
        r#"{"method":"POST","bulkId":null,"path":"/Users","data":{"userName":"a"},"status":null}"#,
        r#"{"method":"POST","bulkId":"u1","path":"/Users/1","data":{"userName":"b"}}"#,
        r#"{"method":"POST","bulkId":"u2","path":"/Users","data":{"userName":"c"}}"#,
        r#"{"method":"POST","bulkId":"u2","path":"/Users","data":{"userName":"d"}}"#,
        r#"{"method":"PATCH","path":"/Groups/g","data":{"Operations":[{"op":"merge"}]}}"#,
        r#"{"method":"PUT","path":"/Accounts/1","data":{}}"#,
        r#"{"method":"DELETE","path":"/Users/bulkId:nobody"}"#,
        r#"{"method":"PUT","path":"/Groups/bulkId:u2","data":{}}"#,
        r#"{"method":"PUT","path":"/Users/x","data":[1]}"#,
    ]
    .iter()
    .map(|text| {
        serde_json::from_str(text).unwrap_or_else(|error| {
            // A result's field set in a job is refused when it is read.
            assert!(
                error.to_string().contains("a job leaves them out or null"),
                "{error}"
            );
            serde_json::from_str(r#"{"method":"POST","path":"/Users","data":[]}"#).unwrap()
        })
    })
    .collect();
    let error = engine(&sim, config(10))
        .run_collecting(&mut job)
        .await
        .unwrap_err();
    let (invalid, listed) = support::problems(&error);
    let expect = [
        (1, "without an id"),
        (3, "bulkId 'u2' is already used by operation 2"),
        (4, "neither a PatchOp document nor one patch operation"),
        (5, "expected Users, Groups or Services"),
        (6, "bulkId:nobody is not defined by a POST"),
        (7, "creates a User"),
        (8, "data must be a JSON object"),
    ];
    for (index, needle) in expect {
        assert!(
            listed
                .iter()
                .any(|(i, m)| *i == Some(index) && m.contains(needle)),
            "operation {index}: {needle:?} not in {listed:#?}"
        );
    }
    assert!(
        listed.iter().all(|(i, _)| *i != Some(0)),
        "a POST without bulkId is no problem: {listed:#?}"
    );
    assert_eq!(invalid.total, invalid.problems.len());
    assert_eq!(sim.counters().bulk_requests, 0, "nothing was sent");
}

#[tokio::test]
async fn failed_posts_skip_their_dependents_and_the_rest_goes_on() {
    let sim = sim(SimConfig::default()).await;
    let mut job = vec![
        BulkOperation::post("/Users", "u0", user("taken")),
        BulkOperation::post("/Users", "u1", user("taken")),
        BulkOperation::post("/Users", "u2", user("fine")),
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"id": "g", "members": [{"type": "User", "value": "bulkId:u1"}]}),
        ),
        BulkOperation::patch("/Groups/bulkId:g1", add_members(&["bulkId:u2"])),
        BulkOperation::delete("/Users/bulkId:u2"),
    ];
    let (report, outcomes) = engine(&sim, config(3))
        .run_collecting(&mut job)
        .await
        .unwrap();
    assert_one_outcome_each(&outcomes, 6);
    assert_eq!(
        kinds(&outcomes),
        [
            "succeeded",
            "failed",
            "succeeded",
            "skipped",
            "skipped",
            "succeeded"
        ]
    );
    match &outcomes[1].kind {
        OutcomeKind::Failed {
            status: Some(409),
            error: Some(error),
            ..
        } => {
            assert_eq!(
                error.detail.as_deref(),
                Some("taken@idp.example.ac.jp is already tied to another account")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outcomes[3].kind,
        OutcomeKind::Skipped {
            reason: SkipReason::DependencyFailed {
                bulk_id: "u1".into()
            }
        }
    );
    assert_eq!(
        outcomes[4].kind,
        OutcomeKind::Skipped {
            reason: SkipReason::DependencySkipped {
                bulk_id: "g1".into()
            }
        }
    );
    assert_eq!((report.summary.failed, report.summary.skipped), (1, 2));
}

#[tokio::test]
async fn the_error_budget_stops_sending() {
    let sim = sim(SimConfig::default()).await;
    let mut job: Vec<BulkOperation> = (0..6)
        .map(|i| BulkOperation::delete(format!("/Users/missing-{i}")))
        .collect();
    let config = JobConfig {
        error_budget: Some(1),
        ..config(2)
    };
    let (report, outcomes) = engine(&sim, config).run_collecting(&mut job).await.unwrap();
    assert_eq!(
        kinds(&outcomes),
        [
            "failed", "failed", "skipped", "skipped", "skipped", "skipped"
        ]
    );
    assert_eq!(
        outcomes[2].kind,
        OutcomeKind::Skipped {
            reason: SkipReason::ErrorBudgetExhausted
        }
    );
    assert_eq!(
        report.stopped,
        Some(JobStop::ErrorBudget {
            failed: 2,
            budget: 1
        })
    );
    assert_eq!(sim.counters().bulk_requests, 1);
}

#[tokio::test]
async fn refused_credentials_stop_the_job() {
    let sim = sim(SimConfig::default()).await;
    let transport = Arc::new(HyperTransport::new(TransportConfig::default()).unwrap());
    let client = BulkClient::new(Endpoint::new(sim.base_url()).unwrap(), transport);
    let wrong = map_auth::Credentials::new(
        sim.credentials().access_token.expose_secret(),
        "not-the-secret",
    );
    let engine = Engine::new(client, &wrong, config(1));
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::post("/Users", "u2", user("b")),
    ];
    let (report, outcomes) = engine.run_collecting(&mut job).await.unwrap();
    assert_eq!(kinds(&outcomes), ["skipped", "skipped"]);
    assert_eq!(
        outcomes[1].kind,
        OutcomeKind::Skipped {
            reason: SkipReason::AuthenticationFailed
        }
    );
    match &report.stopped {
        Some(JobStop::Authentication {
            status: 401,
            detail,
        }) => assert!(detail.contains("signature"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.counters().bulk_requests, 1, "nothing more was sent");
    assert!(!format!("{report:?}{outcomes:?}").contains("not-the-secret"));
}

#[tokio::test]
async fn requests_the_server_did_not_process_are_retried() {
    let plan = FaultPlan::none()
        .on_request(
            1,
            Fault::Unavailable {
                retry_after_secs: 0,
            },
        )
        .on_request(
            2,
            Fault::TooManyRequests {
                retry_after_secs: 0,
            },
        );
    let sim = sim(SimConfig::default().with_faults(plan)).await;
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::post("/Users", "u2", user("b")),
    ];
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let handler: EventHandler = Arc::new(move |event: &Event<'_>| {
        if let Event::RetryScheduled { attempt, cause, .. } = event {
            sink.lock().unwrap().push((*attempt, cause.to_string()));
        }
    });
    let report = engine(&sim, config(10))
        .run(&mut job, handler)
        .await
        .unwrap();
    assert!(report.summary.all_succeeded(), "{report:?}");
    assert_eq!(report.summary.requests, 3);
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0].1.contains("503"), "{events:?}");
    assert_no_post_applied_twice(&sim);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let sim = sim(
        SimConfig::default().with_faults(FaultPlan::none().on_request(
            1,
            Fault::Unavailable {
                retry_after_secs: 1,
            },
        )),
    )
    .await;
    let delays = Arc::new(Mutex::new(Vec::new()));
    let sink = delays.clone();
    let handler: EventHandler = Arc::new(move |event: &Event<'_>| {
        if let Event::RetryScheduled { delay, .. } = event {
            sink.lock().unwrap().push(*delay);
        }
    });
    let mut job = vec![BulkOperation::post("/Users", "u1", user("a"))];
    let report = engine(&sim, config(10))
        .run(&mut job, handler)
        .await
        .unwrap();
    assert!(report.summary.all_succeeded());
    assert_eq!(*delays.lock().unwrap(), [std::time::Duration::from_secs(1)]);
}

#[tokio::test]
async fn a_lost_answer_leaves_posts_unknown_and_retries_the_rest() {
    // Request 1 is applied but its answer is lost.
    let sim = sim(SimConfig::default()
        .with_faults(FaultPlan::none().on_request(2, Fault::CloseAfterApplying)))
    .await;
    let mut setup = vec![
        BulkOperation::post("/Users", "s1", user("existing")),
        BulkOperation::post("/Groups", "s2", json!({"id": "lab"})),
    ];
    let engine = engine(&sim, config(10));
    let (_, outcomes) = engine.run_collecting(&mut setup).await.unwrap();
    assert_eq!(kinds(&outcomes), ["succeeded", "succeeded"]);
    let existing = match &outcomes[0].kind {
        OutcomeKind::Succeeded { id: Some(id), .. } => id.clone(),
        other => panic!("{other:?}"),
    };

    let mut job = vec![
        BulkOperation::post("/Users", "n1", user("new")),
        BulkOperation::patch("/Groups/lab", add_members(&["bulkId:n1"])),
        BulkOperation::put(format!("/Users/{existing}"), user("renamed")),
        BulkOperation::delete(format!("/Users/{existing}")),
        BulkOperation::post(
            "/Groups",
            "later",
            json!({"id": "other", "members": [{"type": "User", "value": "bulkId:n1"}]}),
        ),
    ];
    let (report, outcomes) = engine.run_collecting(&mut job).await.unwrap();
    assert_one_outcome_each(&outcomes, 5);
    // The POSTs may have been applied: unknown, never resent. The PUT's retry found the user
    // deleted by the lost attempt's DELETE, which proves nothing about the PUT: unknown.
    assert_eq!(
        kinds(&outcomes),
        ["unknown", "skipped", "unknown", "succeeded", "unknown"],
        "{outcomes:#?}"
    );
    assert_eq!(
        outcomes[1].kind,
        OutcomeKind::Skipped {
            reason: SkipReason::DependencyUnknown {
                bulk_id: "n1".into()
            }
        }
    );
    // The DELETE was applied by the lost attempt; its retry found nothing (mAP Core's 400
    // `'X' Not Found`), which is success.
    match &outcomes[3].kind {
        OutcomeKind::Succeeded {
            status: 400,
            note: Some(_),
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(report.summary.unknown, 3);
    // The POST was applied exactly once, and never resent.
    assert_eq!(sim.counters().applied_by_bulk_id.get("n1"), Some(&1));
    assert_no_post_applied_twice(&sim);
}

#[tokio::test]
async fn every_ambiguous_fault_keeps_posts_single() {
    for fault in [
        Fault::CloseAfterApplying,
        Fault::TruncatedBody,
        Fault::CloseBeforeReading,
        Fault::BadGateway,
        Fault::InternalError,
    ] {
        let sim =
            sim(SimConfig::default().with_faults(FaultPlan::none().on_request(1, fault))).await;
        let mut job = vec![
            BulkOperation::post("/Users", "u1", user("a")),
            BulkOperation::post("/Users", "u2", user("b")),
        ];
        let (_, outcomes) = engine(&sim, config(1))
            .run_collecting(&mut job)
            .await
            .unwrap();
        assert_eq!(kinds(&outcomes), ["unknown", "succeeded"], "{fault}");
        let applied = sim
            .counters()
            .applied_by_bulk_id
            .get("u1")
            .copied()
            .unwrap_or(0);
        let expected = u64::from(matches!(
            fault,
            Fault::CloseAfterApplying | Fault::TruncatedBody
        ));
        assert_eq!(
            applied, expected,
            "{fault}: applied as the server says, and never twice"
        );
    }
}

#[tokio::test]
async fn a_request_too_large_for_the_server_is_split() {
    // The client thinks 1 MiB is fine; the server takes 1500 bytes.
    let sim = sim(SimConfig::default().with_max_payload_bytes(1500)).await;
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("first-user-with-a-long-name")),
        BulkOperation::post("/Users", "u2", user("second-user-with-a-long-name")),
        BulkOperation::post("/Users", "u3", user("third-user-with-a-long-name")),
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"id": "lab", "members": [
            {"type": "User", "value": "bulkId:u1"}, {"type": "User", "value": "bulkId:u3"}]}),
        ),
        BulkOperation::post("/Users", "u4", user("fourth-user-with-a-long-name")),
        BulkOperation::post("/Users", "u5", user("fifth-user-with-a-long-name")),
        BulkOperation::post("/Users", "u6", user("sixth-user-with-a-long-name")),
        BulkOperation::post("/Users", "u7", user("seventh-user-with-a-long-name")),
    ];
    let (report, outcomes) = engine(&sim, config(10))
        .run_collecting(&mut job)
        .await
        .unwrap();
    assert_eq!(kinds(&outcomes), ["succeeded"; 8], "{outcomes:#?}");
    assert!(report.summary.requests > 2, "{report:?}");
    assert_eq!(sim.snapshot().groups[0].members.as_ref().unwrap().len(), 2);
    assert_no_post_applied_twice(&sim);
}

/// Answers its first request with 413, then can no longer be reached.
#[derive(Debug, Default)]
struct TooLargeThenGone {
    requests: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl Transport for TooLargeThenGone {
    async fn send(
        &self,
        _request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, map_transport::TransportError> {
        if self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            == 0
        {
            let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"413","scimType":"tooMany","detail":"too large"}"#;
            return Ok(http::Response::builder()
                .status(413)
                .body(bytes::Bytes::from_static(body.as_bytes()))
                .unwrap());
        }
        Err(map_transport::TransportError::Connect {
            message: "connection refused".into(),
        })
    }
}

#[tokio::test]
async fn after_a_split_the_unsent_half_is_skipped_for_why_the_job_stopped() {
    // Regression: the second half of a split request was skipped as "the server refused the
    // credentials" whatever stopped the job.
    let client = BulkClient::new(
        Endpoint::new("http://127.0.0.1:9").unwrap(),
        Arc::new(TooLargeThenGone::default()),
    );
    let engine = Engine::new(
        client,
        &map_auth::Credentials::new("token", "secret"),
        config(10),
    );
    let mut job: Vec<BulkOperation> = (0..4)
        .map(|i| BulkOperation::post("/Users", format!("u{i}"), user(&format!("u{i}"))))
        .collect();
    let (report, outcomes) = engine.run_collecting(&mut job).await.unwrap();
    assert_one_outcome_each(&outcomes, 4);
    assert!(
        matches!(report.stopped, Some(JobStop::Unreachable { .. })),
        "{report:?}"
    );
    for outcome in &outcomes {
        assert_eq!(
            outcome.kind,
            OutcomeKind::Skipped {
                reason: SkipReason::ServerUnreachable
            },
            "#{}",
            outcome.index
        );
    }
}

#[tokio::test]
async fn fail_on_errors_is_passed_through_and_the_rest_is_skipped() {
    let sim = sim(SimConfig::default()).await;
    let mut job = vec![
        BulkOperation::delete("/Users/missing"),
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::post("/Users", "u2", user("b")),
    ];
    let config = JobConfig {
        fail_on_errors: Some(1),
        ..config(10)
    };
    let (_, outcomes) = engine(&sim, config).run_collecting(&mut job).await.unwrap();
    assert_eq!(kinds(&outcomes), ["failed", "skipped", "skipped"]);
    assert_eq!(
        outcomes[1].kind,
        OutcomeKind::Skipped {
            reason: SkipReason::StoppedByFailOnErrors
        }
    );
    assert!(sim.snapshot().users.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_keep_dependencies_and_resources_apart() {
    let sim = sim(SimConfig::default()).await;
    let mut job = vec![BulkOperation::post("/Groups", "g", json!({"id": "shared"}))];
    for i in 0..60 {
        let name = format!("u{i}");
        job.push(BulkOperation::post("/Users", name.clone(), user(&name)));
        job.push(BulkOperation::patch(
            "/Groups/bulkId:g",
            add_members(&[&format!("bulkId:{name}")]),
        ));
    }
    let config = JobConfig {
        concurrency: 4.into(),
        ..config(5)
    };
    let (report, outcomes) = engine(&sim, config).run_collecting(&mut job).await.unwrap();
    assert_one_outcome_each(&outcomes, 121);
    assert!(report.summary.all_succeeded(), "{report:?}");
    assert_eq!(sim.snapshot().groups[0].members.as_ref().unwrap().len(), 60);
    assert_no_post_applied_twice(&sim);

    // Independent requests run side by side.
    let sim2 = Simulator::start(SimConfig::default()).await.unwrap();
    let mut independent: Vec<BulkOperation> = (0..200)
        .map(|i| BulkOperation::post("/Users", format!("i{i}"), user(&format!("i{i}"))))
        .collect();
    let config = JobConfig {
        concurrency: 4.into(),
        ..self::config(10)
    };
    let report = engine(&sim2, config)
        .run_quietly(&mut independent)
        .await
        .unwrap();
    assert_eq!(report.summary.succeeded, 200);
    assert_eq!(sim2.snapshot().users.len(), 200);
}

#[tokio::test]
async fn events_report_requests_and_each_operation_once_in_order() {
    let sim = sim(SimConfig::default()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let handler: EventHandler = Arc::new(move |event: &Event<'_>| {
        let line = match event {
            Event::RequestSent {
                request,
                operations,
                ..
            } => format!("sent {request} {operations}"),
            Event::RequestSettled {
                request,
                succeeded,
                failed,
                ..
            } => format!("settled {request} {succeeded} {failed}"),
            Event::RetryScheduled { request, .. } => format!("retry {request}"),
            Event::OperationSettled(outcome) => format!("op {}", outcome.index),
            Event::Planned {
                operations,
                requests,
            } => format!("planned {operations} {requests}"),
            Event::InFlight { requests, limit } => format!("in flight {requests}/{limit}"),
            other => format!("{other:?}"),
        };
        sink.lock().unwrap().push(line);
    });
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::delete("/Users/missing"),
        BulkOperation::post("/Users", "u2", user("b")),
    ];
    engine(&sim, config(2))
        .run(&mut job, handler)
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "planned 3 2",
            "in flight 1/1",
            "sent 1 2",
            "op 0",
            "op 1",
            "settled 1 1 1",
            "in flight 0/1",
            "in flight 1/1",
            "sent 2 1",
            "op 2",
            "settled 2 1 0",
            "in flight 0/1",
        ]
    );
}

#[tokio::test]
async fn the_reqwest_backend_runs_jobs_too() {
    let sim = sim(SimConfig::default()).await;
    let transport = Arc::new(ReqwestTransport::new(TransportConfig::default()).unwrap());
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::delete("/Users/bulkId:u1"),
    ];
    let (_, outcomes) = engine_with(&sim, config(1), transport)
        .run_collecting(&mut job)
        .await
        .unwrap();
    assert_eq!(kinds(&outcomes), ["succeeded", "succeeded"]);
}

#[tokio::test]
async fn an_unreachable_server_stops_the_job() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let transport = Arc::new(HyperTransport::new(TransportConfig::default()).unwrap());
    let client = BulkClient::new(
        Endpoint::new(&format!("http://{address}")).unwrap(),
        transport,
    );
    let engine = Engine::new(client, &map_auth::Credentials::new("t", "s"), config(1));
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::post("/Users", "u2", user("b")),
    ];
    let (report, outcomes) = engine.run_collecting(&mut job).await.unwrap();
    assert_eq!(kinds(&outcomes), ["skipped", "skipped"]);
    assert!(outcomes.iter().all(|o| o.kind
        == OutcomeKind::Skipped {
            reason: SkipReason::ServerUnreachable
        }));
    assert!(
        matches!(report.stopped, Some(JobStop::Unreachable { .. })),
        "{report:?}"
    );
    assert_eq!(
        (report.answered, report.summary.requests),
        (0, 4),
        "one request, four attempts"
    );
}

#[tokio::test]
async fn a_dry_run_lists_the_substitutions() {
    let sim = sim(SimConfig::default()).await;
    let mut job = vec![
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"id": "g", "members": [{"type": "User", "value": "bulkId:u1"}]}),
        ),
        BulkOperation::patch("/Groups/bulkId:g1", add_members(&["bulkId:u1"])),
    ];
    let engine = engine(&sim, config(2));
    let plan = engine.plan(&mut job).unwrap();
    assert_eq!(plan.request_of(2), Some(2));
    assert_eq!(plan.references, 3, "u1 in data twice, g1 in a path");
    let substitutions: Vec<String> = plan
        .substitutions(&mut job)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        substitutions,
        [
            "operation 2 (request 2): bulkId:g1 ← the id created by operation 1 (request 1)",
            "operation 2 (request 2): bulkId:u1 ← the id created by operation 0 (request 1)",
        ]
    );
    assert_eq!(sim.counters().bulk_requests, 0);
}

/// A source that counts the passes made over it.
struct CountingPasses {
    job: Vec<BulkOperation>,
    passes: usize,
}

impl OperationSource for CountingPasses {
    fn operations(&mut self) -> Result<Operations<'_>, SourceError> {
        self.passes += 1;
        self.job.operations()
    }
}

#[tokio::test]
async fn a_dry_run_of_a_job_without_references_reads_it_once() {
    let sim = sim(SimConfig::default()).await;
    let mut job = CountingPasses {
        job: vec![
            BulkOperation::post("/Users", "u1", user("a")),
            BulkOperation::post("/Users", "u2", user("b")),
        ],
        passes: 0,
    };
    let plan = engine(&sim, config(1)).plan(&mut job).unwrap();
    assert_eq!((plan.references, job.passes), (0, 1));
    assert_eq!(plan.substitutions(&mut job).unwrap(), []);
    assert_eq!(
        job.passes, 1,
        "nothing to substitute: the job is not read again"
    );
}

#[tokio::test]
async fn a_reference_cycle_that_cannot_share_a_request_is_refused() {
    let sim = sim(SimConfig::default()).await;
    let mut job = vec![
        BulkOperation::post(
            "/Groups",
            "a",
            json!({"id": "a", "members": [{"type": "Group", "value": "bulkId:b"}]}),
        ),
        BulkOperation::post(
            "/Groups",
            "b",
            json!({"id": "b", "members": [{"type": "Group", "value": "bulkId:a"}]}),
        ),
    ];
    let error = engine(&sim, config(1))
        .run_collecting(&mut job)
        .await
        .unwrap_err();
    let (invalid, _) = support::problems(&error);
    assert!(
        invalid.problems[0]
            .message
            .contains("must travel in one request"),
        "{invalid}"
    );
    assert_eq!(sim.counters().bulk_requests, 0);
    // With room for both, the cycle is sent together and left to the server.
    let plan = engine(&sim, config(2)).plan(&mut job).unwrap();
    assert_eq!(plan.requests.len(), 1);
}

#[tokio::test]
async fn a_line_changed_after_validation_is_not_sent() {
    let sim = sim(SimConfig::default()).await;
    let line = |name: &str| {
        format!(
            r#"{{"method":"POST","bulkId":"{name}","path":"/Users","data":{{"userName":"{name}"}}}}"#
        )
    };
    let mut source = Changing {
        first: vec![line("alice"), line("bob"), line("carol")],
        second: vec![line("alice"), line("mallory"), line("carol")],
    };
    let (report, outcomes) = engine(&sim, config(10))
        .run_collecting(&mut source)
        .await
        .unwrap();
    assert_eq!(kinds(&outcomes), ["succeeded", "failed", "succeeded"]);
    assert!(
        matches!(&outcomes[1].kind, OutcomeKind::Failed { status: None, message, .. }
            if message.contains("changed since it was validated")),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(report.summary.requests, 1);
    let names: Vec<String> = sim
        .snapshot()
        .users
        .iter()
        .filter_map(|u| u.user_name.clone())
        .collect();
    assert_eq!(names, ["alice", "carol"]);
}

#[tokio::test]
async fn a_request_whose_task_dies_settles_its_own_operations_unknown() {
    // Regression: when a request's task ended abnormally, the lowest request in flight was
    // blamed: its operations became unknown (and settled again when its answer came), and the
    // dead request's operations never settled.
    //
    // Request 1 (/Users/a) is held until some request has settled; request 2 (/Users/b) dies
    // in the transport meanwhile, so the death is seen while request 1 is still in flight.
    let settled = Arc::new(tokio::sync::Notify::new());
    let release = settled.clone();
    let transport = map_transport::transport_fn(move |request: http::Request<bytes::Bytes>| {
        let release = release.clone();
        async move {
            let body = String::from_utf8_lossy(request.body()).into_owned();
            if body.contains("/Users/b") {
                panic!("the transport dies while sending request 2");
            }
            release.notified().await;
            let answer = json!({
                "schemas": [map_entities::BULK_RESPONSE_SCHEMA],
                "Operations": [{"method": "PUT", "status": "200", "location": "https://x/api/v2/Users/a"}]
            });
            Ok(http::Response::new(bytes::Bytes::from(answer.to_string())))
        }
    });
    let client = BulkClient::new(
        Endpoint::new("http://127.0.0.1:9").unwrap(),
        Arc::new(transport),
    );
    let engine = Engine::new(
        client,
        &map_auth::Credentials::new("token", "secret"),
        JobConfig {
            concurrency: 2.into(),
            ..config(1)
        },
    );
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let sink = outcomes.clone();
    let events: EventHandler = Arc::new(move |event: &Event<'_>| match event {
        Event::RequestSettled { .. } => settled.notify_one(),
        Event::OperationSettled(outcome) => sink.lock().unwrap().push((*outcome).clone()),
        _ => {}
    });
    let mut job = vec![
        BulkOperation::put("/Users/a", user("a")),
        BulkOperation::put("/Users/b", user("b")),
    ];
    let report = engine.run(&mut job, events).await.unwrap();
    let outcomes = outcomes.lock().unwrap().clone();
    assert_one_outcome_each(&outcomes, 2);
    assert!(
        matches!(outcomes[0].kind, OutcomeKind::Succeeded { status: 200, .. }),
        "request 1 was answered: {:?}",
        outcomes[0]
    );
    assert!(
        matches!(&outcomes[1].kind, OutcomeKind::Unknown { reason } if reason.to_string().contains("ended abnormally")),
        "request 2 died after it may have been sent: {:?}",
        outcomes[1]
    );
    assert_eq!(outcomes[1].path, "/Users/b");
    assert_eq!((report.summary.succeeded, report.summary.unknown), (1, 1));
}
