//! Jobs larger than what the first pass keeps in memory (65,536 records): their bulkId
//! definitions, sizes and text hashes go to temporary files, and validation, planning and
//! sending must come out exactly as for a small job.

#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use map_bulk::{JobReader, Limits, plan_job};
use support::Changing;

const OPERATIONS: usize = 150_000;

fn post(i: usize) -> String {
    format!(
        r#"{{"method":"POST","bulkId":"u{i}","path":"/Users","data":{{"userName":"user{i}"}}}}"#
    )
}

fn job(lines: impl Fn(usize) -> String) -> JobReader {
    let mut text = String::new();
    for i in 0..OPERATIONS {
        text.push_str(&lines(i));
        text.push('\n');
    }
    JobReader::from_bytes(text.into_bytes())
}

fn limits() -> Limits {
    Limits {
        max_operations: 1000,
        max_payload_bytes: 1 << 20,
    }
}

#[test]
fn a_large_valid_job_is_planned_in_full() {
    // Every 1000th operation after the first refers back to the POST before it, and one
    // refers forward to the next operation: they must share its request.
    let plan = plan_job(
        &mut job(|i| match i {
            70_000 => r#"{"method":"PATCH","path":"/Users/bulkId:u70001","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"x"}]}}"#.to_owned(),
            i if i % 1000 == 999 => format!(
                r#"{{"method":"PATCH","path":"/Users/bulkId:u{}","data":{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"replace","path":"displayName","value":"x"}}]}}}}"#,
                i - 1
            ),
            i => post(i),
        }),
        limits(),
    )
    .unwrap();
    assert_eq!(plan.operations, OPERATIONS as u64);
    assert_eq!(plan.requests.len(), OPERATIONS / 1000);
    assert!(plan.requests.iter().all(|r| r.count == 1000));
    assert_eq!(
        plan.requests.iter().map(|r| r.count).sum::<u64>(),
        OPERATIONS as u64
    );
}

#[test]
fn problems_of_a_large_job_are_found_across_the_spilled_index() {
    let mut reader = job(|i| match i {
        // The same bulkId as operation 5, far apart: in the same partition file.
        140_000 => r#"{"method":"POST","bulkId":"u5","path":"/Users","data":{"userName":"again"}}"#
            .to_owned(),
        // A reference to a bulkId no POST defines.
        100_000 => r#"{"method":"DELETE","path":"/Users/bulkId:nobody"}"#.to_owned(),
        // A reference to a Group that is a User.
        120_000 => r#"{"method":"PUT","path":"/Groups/bulkId:u3","data":{}}"#.to_owned(),
        // A reference forward across more operations than one request carries.
        10 => r#"{"method":"DELETE","path":"/Users/bulkId:u149999"}"#.to_owned(),
        i => post(i),
    });
    let error = plan_job(&mut reader, limits()).unwrap_err();
    let (invalid, listed) = support::problems(&error);
    assert_eq!(invalid.total, 4, "{listed:#?}");
    let expected = [
        (10, "operations 10 to 149999 must travel in one request"),
        (
            100_000,
            "bulkId:nobody is not defined by a POST of this job",
        ),
        (120_000, "which creates a User (operation 3), not a Group"),
        (140_000, "bulkId 'u5' is already used by operation 5"),
    ];
    for ((index, message), (want_index, want)) in listed.iter().zip(expected) {
        assert_eq!(*index, Some(want_index), "{listed:#?}");
        assert!(message.contains(want), "{message} lacks {want}");
    }
}

#[tokio::test]
async fn a_large_job_is_sent_checked_against_its_spilled_text_hashes() {
    let sim = map_sim::Simulator::start(map_sim::SimConfig::default())
        .await
        .unwrap();
    let transport = std::sync::Arc::new(
        map_transport::HyperTransport::new(map_transport::TransportConfig::default()).unwrap(),
    );
    let client =
        map_bulk::BulkClient::new(map_bulk::Endpoint::new(sim.base_url()).unwrap(), transport);
    let engine = map_bulk::Engine::new(
        client,
        sim.credentials(),
        map_bulk::JobConfig {
            limits: limits(),
            ..map_bulk::JobConfig::default()
        },
    );
    let first: Vec<String> = (0..OPERATIONS).map(post).collect();
    let mut second = first.clone();
    second[100_000] = post(100_000).replace("user100000", "mallory");
    let (report, outcomes) = engine
        .run_collecting(&mut Changing { first, second })
        .await
        .unwrap();
    assert_eq!(outcomes.len(), OPERATIONS);
    let failed: Vec<u64> = outcomes
        .iter()
        .filter(|o| !matches!(o.kind, map_bulk::OutcomeKind::Succeeded { .. }))
        .map(|o| o.index)
        .collect();
    assert_eq!(failed, [100_000]);
    assert!(
        matches!(&outcomes[100_000].kind, map_bulk::OutcomeKind::Failed { message, .. }
            if message.contains("changed since it was validated")),
        "{:?}",
        outcomes[100_000]
    );
    assert_eq!(report.summary.succeeded, OPERATIONS as u64 - 1);
    assert_eq!(sim.snapshot().users.len(), OPERATIONS - 1);
}
