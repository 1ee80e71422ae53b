//! Property tests: random jobs against map-sim under random fault schedules. Whatever
//! happens, every operation gets exactly one outcome, no POST is applied twice, nothing is
//! reported succeeded that the server did not apply, and without faults nothing is left
//! unknown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, OnceLock};

use map_bulk::{
    BulkClient, Endpoint, Engine, JobConfig, Limits, OutcomeKind, RetryPolicy, SkipReason,
};
use map_entities::{BulkMethod, BulkOperation};
use map_sim::{Fault, FaultPlan, SimConfig, Simulator};
use map_transport::{HyperTransport, TransportConfig};
use proptest::prelude::*;
use serde_json::{Value, json};

/// One step of a random job, over `users` users and `groups` groups named by index.
#[derive(Debug, Clone)]
enum Step {
    CreateUser { name: u8 },
    CreateGroup { members: Vec<usize> },
    AddMember { group: usize, user: usize },
    ReplaceUser { user: usize, name: u8 },
    DeleteUser { user: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..12).prop_map(|name| Step::CreateUser { name }),
        1 => proptest::collection::vec(0usize..8, 0..3).prop_map(|members| Step::CreateGroup { members }),
        2 => (0usize..4, 0usize..8).prop_map(|(group, user)| Step::AddMember { group, user }),
        1 => (0usize..8, 0u8..12).prop_map(|(user, name)| Step::ReplaceUser { user, name }),
        1 => (0usize..8).prop_map(|user| Step::DeleteUser { user }),
    ]
}

/// Turns steps into operations; references only name POSTs made earlier in the job.
fn job(steps: &[Step]) -> Vec<BulkOperation> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut operations = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::CreateUser { name } => {
                let bulk_id = format!("u{i}");
                // Names repeat on purpose: some creations fail as duplicates.
                operations.push(BulkOperation::post(
                    "/Users",
                    bulk_id.clone(),
                    json!({"userName": format!("user-{name}")}),
                ));
                users.push(bulk_id);
            }
            Step::CreateGroup { members } => {
                let bulk_id = format!("g{i}");
                let members: Vec<Value> = members
                    .iter()
                    .filter_map(|m| users.get(*m))
                    .map(|u| json!({"type": "User", "value": format!("bulkId:{u}")}))
                    .collect();
                operations.push(BulkOperation::post(
                    "/Groups",
                    bulk_id.clone(),
                    json!({"id": format!("group-{i}"), "members": members}),
                ));
                groups.push(bulk_id);
            }
            Step::AddMember { group, user } => {
                if let (Some(g), Some(u)) = (groups.get(*group), users.get(*user)) {
                    operations.push(BulkOperation::patch(
                        format!("/Groups/bulkId:{g}"),
                        json!({"schemas": [map_entities::PATCH_OP_SCHEMA],
                               "Operations": [{"op": "add", "path": "members", "value": [{"type": "User", "value": format!("bulkId:{u}")}]}]}),
                    ));
                }
            }
            Step::ReplaceUser { user, name } => {
                if let Some(u) = users.get(*user) {
                    operations.push(BulkOperation::put(
                        format!("/Users/bulkId:{u}"),
                        json!({"userName": format!("renamed-{name}")}),
                    ));
                }
            }
            Step::DeleteUser { user } => {
                if let Some(u) = users.get(*user) {
                    operations.push(BulkOperation::delete(format!("/Users/bulkId:{u}")));
                }
            }
        }
    }
    operations
}

fn fault() -> impl Strategy<Value = Option<Fault>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(Fault::Unavailable { retry_after_secs: 0 })),
        1 => Just(Some(Fault::TooManyRequests { retry_after_secs: 0 })),
        1 => Just(Some(Fault::InternalError)),
        1 => Just(Some(Fault::BadGateway)),
        1 => Just(Some(Fault::CloseBeforeReading)),
        1 => Just(Some(Fault::CloseAfterApplying)),
        1 => Just(Some(Fault::TruncatedBody)),
    ]
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn check(
    steps: Vec<Step>,
    faults: Vec<Option<Fault>>,
    max_operations: usize,
    concurrency: usize,
) -> Result<(), TestCaseError> {
    let mut operations = job(&steps);
    prop_assume!(!operations.is_empty());
    let mut plan = FaultPlan::none();
    for (request, fault) in faults.iter().enumerate() {
        if let Some(fault) = fault {
            plan = plan.on_request(request as u64 + 1, *fault);
        }
    }
    let any_fault = faults.iter().any(Option::is_some);
    let posts: Vec<(usize, String)> = operations
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == BulkMethod::Post)
        .map(|(i, op)| (i, op.bulk_id.clone().unwrap()))
        .collect();
    runtime().block_on(async {
        let sim = Simulator::start(SimConfig::default().with_faults(plan))
            .await
            .unwrap();
        let transport = Arc::new(HyperTransport::new(TransportConfig::default()).unwrap());
        let client = BulkClient::new(Endpoint::new(sim.base_url()).unwrap(), transport);
        let config = JobConfig {
            limits: Limits {
                max_operations,
                ..Limits::default()
            },
            concurrency: concurrency.into(),
            retry: RetryPolicy::immediate(3),
            ..JobConfig::default()
        };
        let engine = Engine::new(client, sim.credentials(), config);
        let (report, outcomes) = engine.run_collecting(&mut operations).await.unwrap();
        let counters = sim.counters();

        // Exactly one outcome per operation, in input order.
        let indices: Vec<u64> = outcomes.iter().map(|o| o.index).collect();
        prop_assert_eq!(indices, (0..operations.len() as u64).collect::<Vec<_>>());
        prop_assert_eq!(report.summary.total, operations.len() as u64);

        for (index, bulk_id) in &posts {
            let applied = counters
                .applied_by_bulk_id
                .get(bulk_id)
                .copied()
                .unwrap_or(0);
            // No POST applied twice.
            prop_assert!(applied <= 1, "{} applied {} times", bulk_id, applied);
            match &outcomes[*index].kind {
                // Nothing reported succeeded that the server did not apply.
                OutcomeKind::Succeeded { .. } => {
                    prop_assert_eq!(applied, 1, "{} reported succeeded", bulk_id)
                }
                OutcomeKind::Failed { .. } | OutcomeKind::Skipped { .. } => {
                    prop_assert_eq!(applied, 0, "{} reported not applied", bulk_id)
                }
                OutcomeKind::Unknown { .. } => {}
                other => prop_assert!(false, "an outcome this test does not know: {:?}", other),
            }
        }
        for outcome in &outcomes {
            if let OutcomeKind::Succeeded { note: None, .. } = &outcome.kind
                && outcome.method != BulkMethod::Post
                && !outcome.path.contains("bulkId:")
            {
                let applied = counters
                    .applied_by_resource
                    .get(&outcome.path)
                    .copied()
                    .unwrap_or(0);
                prop_assert!(
                    applied >= 1,
                    "{} {} reported succeeded but never applied",
                    outcome.method,
                    outcome.path
                );
            }
        }
        // Without faults, everything completes: nothing unknown, nothing given up on.
        if !any_fault {
            for outcome in &outcomes {
                let blocked = matches!(&outcome.kind, OutcomeKind::Unknown { .. })
                    || matches!(
                        &outcome.kind,
                        OutcomeKind::Skipped {
                            reason: SkipReason::NotProcessed { .. }
                                | SkipReason::DependencyUnknown { .. }
                        }
                    );
                prop_assert!(!blocked, "{:?} without any fault", outcome);
            }
        }
        sim.shutdown().await;
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("MAP_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_operation_ends_once_and_no_post_is_applied_twice(
        steps in proptest::collection::vec(step(), 1..30),
        faults in proptest::collection::vec(fault(), 0..12),
        max_operations in 1usize..6,
        concurrency in 1usize..4,
    ) {
        check(steps, faults, max_operations, concurrency)?;
    }
}
