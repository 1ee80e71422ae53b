//! The planner at an institution's scale: 100,000 desired users against 100,000 existing
//! ones in 1,000 groups, a tenth renamed and a tenth moved to another group, with
//! `--exact-groups` (what `mapctl sync` does after reading mAP Core).
//!
//! ```sh
//! cargo bench -p map-sync --bench plan
//! ```

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use map_sync::{Attributes, Current, Desired, DesiredResource, Origin, SyncOptions, plan};
use serde_json::{Map, Value, json};

const USERS: usize = 100_000;
const GROUPS: usize = 1_000;

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn eppn(i: usize) -> String {
    format!("user{i:07}@idp.example.ac.jp")
}

/// User i is in group jc_repo_{i % GROUPS}.
pub fn states() -> (Desired, Current) {
    let users = (0..USERS)
        .map(|i| {
            object(
                json!({"id": format!("{i:012}"), "userName": format!("User {i}"),
                          "eduPersonPrincipalNames": [{"value": eppn(i)}],
                          "emails": [{"value": format!("user{i:07}@example.ac.jp")}]}),
            )
        })
        .map(Attributes::from)
        .collect();
    let groups = (0..GROUPS)
        .map(|g| {
            let members: Vec<Value> = (g..USERS)
                .step_by(GROUPS)
                .map(|i| json!({"type": "User", "value": format!("{i:012}")}))
                .collect();
            object(json!({"id": format!("jc_repo_{g}"), "displayName": format!("Repo {g}"), "members": members}))
        })
        .map(Attributes::from)
        .collect();
    let current = Current {
        users,
        groups,
        services: Vec::new(),
    };
    let mut desired = Desired::default();
    for i in 0..USERS {
        let name = if i % 10 == 0 {
            format!("Renamed {i}")
        } else {
            format!("User {i}")
        };
        let group = if i % 10 == 5 {
            (i + 1) % GROUPS
        } else {
            i % GROUPS
        };
        let mut user = DesiredResource::new(
            object(json!({"userName": name, "eduPersonPrincipalNames": [{"value": eppn(i)}]})),
            Origin::new("people.csv", i as u64 + 2),
        );
        user.groups = Some(vec![format!("jc_repo_{group}")]);
        desired.users.push(user);
    }
    (desired, current)
}

fn planning(c: &mut Criterion) {
    let (desired, current) = states();
    let options = SyncOptions {
        exact_groups: Some("jc_repo_".into()),
        ..SyncOptions::default()
    };
    let planned = plan(&desired, &current, &options).unwrap();
    // A tenth renamed (10,000 user updates); a tenth moved from the groups ending in 5 to
    // those ending in 6 (200 group updates).
    assert_eq!(planned.changes.len(), USERS / 10 + GROUPS / 5);
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.bench_function(
        "plan 100,000 desired users against 100,000 in 1,000 groups",
        |b| b.iter(|| black_box(plan(black_box(&desired), black_box(&current), &options).unwrap())),
    );
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
