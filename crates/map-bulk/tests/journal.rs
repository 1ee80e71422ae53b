//! Resumable jobs: a run interrupted while a request is in flight, resumed from its journal
//! against the same map-sim; journals of other jobs, torn and corrupt journals, and a journal
//! that cannot be written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use map_bulk::{
    BulkClient, Endpoint, Engine, Event, EventHandler, JobConfig, JobOperation, JobStop, Journal,
    JournalError, Limits, Outcome, OutcomeKind, RetryPolicy, SkipReason,
};
use map_entities::BulkOperation;
use map_sim::{Fault, FaultPlan, SimConfig, Simulator};
use map_transport::{HyperTransport, TransportConfig};
use serde_json::{Value, json};

fn engine(sim: &Simulator) -> Engine {
    let transport = Arc::new(HyperTransport::new(TransportConfig::default()).unwrap());
    let client = BulkClient::new(Endpoint::new(sim.base_url()).unwrap(), transport);
    let config = JobConfig {
        limits: Limits {
            max_operations: 2,
            ..Limits::default()
        },
        retry: RetryPolicy::immediate(3),
        ..JobConfig::default()
    };
    Engine::new(client, sim.credentials(), config)
}

fn collector() -> (EventHandler, Arc<Mutex<Vec<Outcome>>>) {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let sink = outcomes.clone();
    let handler: EventHandler = Arc::new(move |event: &Event<'_>| {
        if let Event::OperationSettled(outcome) = event {
            sink.lock().unwrap().push((*outcome).clone());
        }
    });
    (handler, outcomes)
}

fn journal_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("map-bulk-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn user(name: &str) -> Value {
    json!({"userName": name, "eduPersonPrincipalNames": [{"value": format!("{name}@idp.example.ac.jp")}]})
}

fn add_member(reference: &str) -> Value {
    json!({"schemas": [map_entities::PATCH_OP_SCHEMA],
           "Operations": [{"op": "add", "path": "members", "value": [{"type": "User", "value": reference}]}]})
}

/// Three requests of two operations: the second is the one interrupted.
fn job() -> Vec<JobOperation> {
    [
        BulkOperation::post("/Users", "u1", user("alice")),
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"id": "lab-a", "displayName": "Lab A"}),
        ),
        // Request 2: a POST and a PATCH that uses an id request 1 created.
        BulkOperation::post("/Users", "u2", user("bob")),
        BulkOperation::patch("/Groups/lab-a", add_member("bulkId:u1")),
        // Request 3: a PATCH that needs the interrupted POST, and an independent POST.
        BulkOperation::patch("/Groups/lab-a", add_member("bulkId:u2")),
        BulkOperation::post("/Users", "u3", user("carol")),
    ]
    .iter()
    .map(JobOperation::from)
    .collect()
}

fn journal_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Runs `job` until the simulator has received its second request (held there by a delay),
/// then drops the run mid-request, as a killed process would leave it.
async fn interrupted_run(sim: &Simulator, path: &Path) {
    let engine = engine(sim);
    let mut source = job();
    let journal = Journal::open(path, &mut source).unwrap();
    let run = tokio::spawn(async move {
        engine
            .run_journaled(&mut source, map_bulk::ignore_events(), journal)
            .await
    });
    // The delay is the fault injected on request 2: once it is, the request is in flight.
    for _ in 0..1000 {
        if sim.counters().faults_injected == 1 && journal_text(path).contains("\"request\":2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(sim.counters().faults_injected, 1, "request 2 is in flight");
    assert!(!run.is_finished());
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    // Let the held request finish on the server, if it goes on without its client.
    tokio::time::sleep(Duration::from_millis(600)).await;
}

#[tokio::test]
async fn an_interrupted_run_resumes_without_sending_anything_twice() {
    let sim = Simulator::start(
        SimConfig::default()
            .with_faults(FaultPlan::none().on_request(2, Fault::Delay(Duration::from_millis(400)))),
    )
    .await
    .unwrap();
    let path = journal_path("interrupted.journal");
    interrupted_run(&sim, &path).await;
    let written = journal_text(&path);
    assert!(written.starts_with("{\"journal\":{\"format\":\"map-rs bulk journal\""));
    assert_eq!(written.matches("\"settled\"").count(), 2, "{written}");
    let alice_id = sim.snapshot().users[0].id.clone().unwrap();

    // Resume.
    let requests_before = sim.counters().bulk_requests;
    let mut source = job();
    let journal = Journal::open(&path, &mut source).unwrap();
    assert_eq!((journal.settled_earlier(), journal.interrupted()), (2, 2));
    let (events, outcomes) = collector();
    let report = engine(&sim)
        .run_journaled(&mut source, events, journal)
        .await
        .unwrap();
    let outcomes = outcomes.lock().unwrap().clone();

    let indices: Vec<u64> = outcomes.iter().map(|o| o.index).collect();
    assert_eq!(
        indices,
        [0, 1, 2, 3, 4, 5],
        "the report covers the whole job"
    );
    let kinds: Vec<&str> = outcomes.iter().map(|o| o.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "succeeded",
            "succeeded",
            "unknown",
            "succeeded",
            "skipped",
            "succeeded"
        ]
    );
    assert_eq!(report.resumed, 2);
    assert_eq!(
        outcomes[0].kind,
        OutcomeKind::Succeeded {
            status: 201,
            location: Some(format!("{}/api/v2/Users/{alice_id}", sim.base_url())),
            id: Some(alice_id.clone()),
            note: None,
        },
        "an earlier outcome is reported as it was"
    );
    assert!(
        matches!(&outcomes[2].kind, OutcomeKind::Unknown { reason } if reason.to_string().contains("interrupted")),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(
        outcomes[4].kind,
        OutcomeKind::Skipped {
            reason: SkipReason::DependencyUnknown {
                bulk_id: "u2".into()
            }
        }
    );
    // The in-flight PATCH was sent again, with alice's id from the journal; the POST was not.
    assert_eq!(report.summary.requests, 2);
    assert_eq!(sim.counters().bulk_requests, requests_before + 2);
    let counters = sim.counters();
    assert_eq!(counters.applied_by_bulk_id.get("u1"), Some(&1));
    assert_eq!(counters.applied_by_bulk_id.get("g1"), Some(&1));
    assert_eq!(counters.applied_by_bulk_id.get("u3"), Some(&1));
    assert!(counters.applied_by_bulk_id.get("u2").copied().unwrap_or(0) <= 1);
    let snapshot = sim.snapshot();
    let group = snapshot
        .groups
        .iter()
        .find(|g| g.id.as_deref() == Some("lab-a"))
        .unwrap();
    let members: Vec<&str> = group
        .members
        .iter()
        .flatten()
        .filter_map(|m| m.value.as_deref())
        .collect();
    assert!(members.contains(&alice_id.as_str()), "{members:?}");

    // A third run sends nothing and reports the same.
    let mut source = job();
    let journal = Journal::open(&path, &mut source).unwrap();
    assert_eq!((journal.settled_earlier(), journal.interrupted()), (5, 0));
    let (events, again) = collector();
    let report = engine(&sim)
        .run_journaled(&mut source, events, journal)
        .await
        .unwrap();
    assert_eq!(report.summary.requests, 0);
    assert_eq!(report.resumed, 5);
    assert_eq!(*again.lock().unwrap(), outcomes);
    assert_eq!(sim.counters().bulk_requests, requests_before + 2);
}

#[tokio::test]
async fn a_finished_job_run_again_with_its_journal_sends_nothing() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let path = journal_path("finished.journal");
    let mut source = job();
    let (events, first) = collector();
    let journal = Journal::open(&path, &mut source).unwrap();
    let report = engine(&sim)
        .run_journaled(&mut source, events, journal)
        .await
        .unwrap();
    assert!(report.summary.all_succeeded(), "{report:?}");
    assert_eq!((report.summary.requests, report.resumed), (3, 0));

    let (events, second) = collector();
    let journal = Journal::open(&path, &mut source).unwrap();
    let report = engine(&sim)
        .run_journaled(&mut source, events, journal)
        .await
        .unwrap();
    assert_eq!((report.summary.requests, report.resumed), (0, 6));
    assert!(report.summary.all_succeeded());
    assert_eq!(*first.lock().unwrap(), *second.lock().unwrap());
    assert_eq!(sim.counters().bulk_requests, 3);
}

#[tokio::test]
async fn a_journal_of_another_job_is_refused() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let path = journal_path("other.journal");
    let mut source = job();
    let journal = Journal::open(&path, &mut source).unwrap();
    engine(&sim)
        .run_journaled(&mut source, map_bulk::ignore_events(), journal)
        .await
        .unwrap();
    let mut other = job();
    other[5] = JobOperation::from(&BulkOperation::post("/Users", "u3", user("dave")));
    let error = Journal::open(&path, &mut other).unwrap_err();
    assert!(
        matches!(error, JournalError::DifferentJob { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("written for a different job"),
        "{error}"
    );
}

#[test]
fn a_torn_last_line_is_dropped_and_a_corrupt_line_refused() {
    let path = journal_path("torn.journal");
    let mut source = job();
    let fingerprint = map_bulk::JobFingerprint::of(&mut source).unwrap();
    let header = format!(
        "{{\"journal\":{{\"format\":\"map-rs bulk journal\",\"version\":1,\"job\":\"{fingerprint}\"}}}}\n"
    );
    let sending = "{\"sending\":{\"request\":1,\"operations\":[0,1]}}\n";
    let settled = "{\"settled\":{\"index\":0,\"method\":\"POST\",\"path\":\"/Users\",\"bulkId\":\"u1\",\"outcome\":{\"succeeded\":{\"status\":201,\"id\":\"a1\"}}}}\n";
    // Killed while writing the second outcome.
    std::fs::write(
        &path,
        format!("{header}{sending}{settled}{{\"settled\":{{\"index\":1,\"meth"),
    )
    .unwrap();
    let journal = Journal::open(&path, &mut source).unwrap();
    assert_eq!((journal.settled_earlier(), journal.interrupted()), (1, 1));
    // Released, so that it can be opened again below (a second run is refused while the
    // first holds it).
    drop(journal);
    assert_eq!(
        journal_text(&path),
        format!("{header}{sending}{settled}"),
        "the torn line is cut off so that new records start on their own line"
    );

    std::fs::write(&path, format!("{header}{sending}not json\n{settled}")).unwrap();
    let error = Journal::open(&path, &mut source).unwrap_err();
    assert!(
        matches!(error, JournalError::Corrupt { line: 3, .. }),
        "{error}"
    );

    std::fs::write(&path, "{\"userName\":\"alice\"}\n").unwrap();
    let error = Journal::open(&path, &mut source).unwrap_err();
    assert!(error.to_string().contains("line 1"), "{error}");
}

#[tokio::test]
async fn a_journal_that_cannot_be_written_stops_the_job_before_sending() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let path = journal_path("unwritable.journal");
    let mut source = job();
    let journal = Journal::open(&path, &mut source).unwrap();
    // Once open, the journal's place is taken by a directory: its first record cannot be
    // written.
    std::fs::create_dir_all(&path).unwrap();
    let (events, outcomes) = collector();
    let report = engine(&sim)
        .run_journaled(&mut source, events, journal)
        .await
        .unwrap();
    assert!(
        matches!(report.stopped, Some(JobStop::Journal { .. })),
        "{report:?}"
    );
    assert_eq!(report.summary.skipped, 6);
    assert!(outcomes.lock().unwrap().iter().all(|o| o.kind
        == OutcomeKind::Skipped {
            reason: SkipReason::JournalUnwritable
        }));
    assert_eq!(
        sim.counters().bulk_requests,
        0,
        "nothing was sent unjournaled"
    );
}

#[tokio::test]
async fn what_was_refused_whole_is_sent_when_the_job_is_run_again() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let path = journal_path("refused.journal");
    let transport = Arc::new(HyperTransport::new(TransportConfig::default()).unwrap());
    let client = BulkClient::new(Endpoint::new(sim.base_url()).unwrap(), transport);
    let wrong = map_auth::Credentials::new(
        sim.credentials().access_token.expose_secret(),
        "not-the-secret",
    );
    let refused = Engine::new(client, &wrong, engine(&sim).config().clone());
    let mut source = job();
    let journal = Journal::open(&path, &mut source).unwrap();
    let report = refused
        .run_journaled(&mut source, map_bulk::ignore_events(), journal)
        .await
        .unwrap();
    assert!(matches!(
        report.stopped,
        Some(JobStop::Authentication { .. })
    ));
    assert_eq!(report.summary.skipped, 6);
    assert_eq!(sim.counters().bulk_requests_refused, 1);

    // Request 1 was sent but refused whole: it is not in flight, and nothing is unknown.
    let journal = Journal::open(&path, &mut source).unwrap();
    assert_eq!((journal.settled_earlier(), journal.interrupted()), (0, 0));
    let report = engine(&sim)
        .run_journaled(&mut source, map_bulk::ignore_events(), journal)
        .await
        .unwrap();
    assert!(report.summary.all_succeeded(), "{report:?}");
    assert_eq!((report.summary.requests, report.resumed), (3, 0));
}
