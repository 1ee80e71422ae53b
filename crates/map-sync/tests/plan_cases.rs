//! The planner on cases a property test would rarely draw.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use map_sync::{Action, Attributes, Current, Desired, DesiredResource, Origin, SyncOptions, plan};
use serde_json::{Value, json};

fn desired(value: Value) -> DesiredResource {
    DesiredResource::new(value, Origin::new("desired.ndjson", 1))
}

#[test]
fn a_pruned_group_is_deleted_not_first_patched_for_a_member_leaving_it() {
    let current = Current {
        users: vec![Attributes::from(
            json!({"id": "u1", "eduPersonPrincipalNames": [{"value": "u1@idp.example.ac.jp"}]}),
        )],
        groups: vec![
            Attributes::from(json!({"id": "lab-a", "members": []})),
            Attributes::from(
                json!({"id": "lab-old", "members": [{"type": "User", "value": "u1"}]}),
            ),
        ],
        services: Vec::new(),
    };
    let mut user = desired(json!({"eduPersonPrincipalNames": [{"value": "u1@idp.example.ac.jp"}]}));
    user.groups = Some(vec!["lab-a".to_owned()]);
    let state = Desired {
        users: vec![user],
        ..Desired::default()
    };
    let options = SyncOptions {
        exact_groups: Some("lab-".into()),
        prune_groups: Some("lab-".into()),
        ..SyncOptions::default()
    };
    let planned = plan(&state, &current, &options).unwrap();
    let on_old: Vec<Action> = planned
        .changes
        .iter()
        .filter(|c| c.key == "lab-old")
        .map(|c| c.action)
        .collect();
    assert_eq!(on_old, [Action::Delete]);
    assert_eq!(
        planned.count(Action::Update),
        1,
        "lab-a gains u1: {:?}",
        planned.changes
    );
}

#[test]
fn a_service_s_groups_are_an_attribute_like_any_other() {
    let current = Current {
        services: vec![Attributes::from(
            json!({"id": "svc", "groups": [{"value": "lab-a"}]}),
        )],
        ..Current::default()
    };
    let state = Desired {
        services: vec![desired(
            json!({"id": "svc", "groups": [{"value": "lab-b"}]}),
        )],
        ..Desired::default()
    };
    let planned = plan(&state, &current, &SyncOptions::default()).unwrap();
    assert_eq!(planned.changes.len(), 1);
    assert_eq!(planned.changes[0].attributes[0].name, "groups");
    assert_eq!(
        planned.changes[0].attributes[0].to,
        Some(json!([{"value": "lab-b"}]))
    );
}

#[test]
fn an_empty_prune_prefix_is_refused() {
    let current = Current {
        groups: vec![Attributes::from(json!({"id": "anything"}))],
        ..Current::default()
    };
    let options = SyncOptions {
        prune_groups: Some(String::new()),
        ..SyncOptions::default()
    };
    let error = plan(&Desired::default(), &current, &options).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("an empty prefix would delete every group"),
        "{error}"
    );
}
