//! The planner's laws, on random states: carrying out a plan and planning again gives
//! nothing; nothing but a pruned group is ever deleted; no user is lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use map_sync::{
    Action, Attributes, Current, Desired, DesiredResource, Kind, Limit, Origin, SafetyLimits,
    SyncOptions, apply_in_memory, operations, plan,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

/// A current resource.
fn resource(value: Value) -> Attributes {
    Attributes::from(value)
}

fn eppn(n: usize) -> String {
    format!("p{n}@idp.example.ac.jp")
}

const GROUP_IDS: [&str; 5] = ["lab-a", "lab-b", "jc_repo_a", "jc_repo_b", "jc_old"];
const NAMES: [&str; 3] = ["Ann", "Bo", "Cy"];

/// Current: users u0..uN with ePPN p0..pN, and some of the groups with some of them.
fn current() -> impl Strategy<Value = Current> {
    (0usize..6)
        .prop_flat_map(|users| {
            let groups = proptest::collection::vec(
                (
                    any::<bool>(),
                    proptest::collection::vec(0..users.max(1), 0..4),
                    0usize..3,
                ),
                GROUP_IDS.len(),
            );
            (
                Just(users),
                proptest::collection::vec(0usize..3, users),
                groups,
            )
        })
        .prop_map(|(users, names, groups)| Current {
            users: (0..users)
                .map(|i| {
                    resource(json!({"id": format!("u{i}"), "userName": NAMES[names[i]],
                                   "eduPersonPrincipalNames": [{"value": eppn(i)}]}))
                })
                .collect(),
            groups: groups
                .into_iter()
                .zip(GROUP_IDS)
                .filter(|((exists, _, _), _)| *exists)
                .map(|((_, members, name), id)| {
                    let mut members: Vec<usize> =
                        members.into_iter().filter(|m| *m < users).collect();
                    members.sort_unstable();
                    members.dedup();
                    let members: Vec<Value> = members
                        .iter()
                        .map(|m| json!({"type": "User", "value": format!("u{m}")}))
                        .collect();
                    resource(json!({"id": id, "displayName": NAMES[name], "members": members}))
                })
                .collect(),
            services: Vec::new(),
        })
}

/// A desired user: an existing or new ePPN, maybe a new name, maybe a groups cell.
#[derive(Debug, Clone)]
struct UserSpec {
    person: usize,
    name: Option<usize>,
    emails: Option<bool>,
    groups: Option<Vec<usize>>,
}

#[derive(Debug, Clone)]
struct GroupSpec {
    group: usize,
    name: Option<usize>,
    members: Option<Vec<usize>>,
}

fn desired() -> impl Strategy<Value = (Vec<UserSpec>, Vec<GroupSpec>)> {
    let user = (
        0usize..9,
        proptest::option::of(0usize..3),
        proptest::option::of(any::<bool>()),
        proptest::option::of(proptest::collection::vec(0..GROUP_IDS.len(), 0..3)),
    )
        .prop_map(|(person, name, emails, groups)| UserSpec {
            person,
            name,
            emails,
            groups,
        });
    let group = (
        0..GROUP_IDS.len(),
        proptest::option::of(0usize..3),
        proptest::option::of(proptest::collection::vec(0usize..9, 0..4)),
    )
        .prop_map(|(group, name, members)| GroupSpec {
            group,
            name,
            members,
        });
    (
        proptest::collection::vec(user, 0..6),
        proptest::collection::vec(group, 0..4),
    )
}

/// The desired state the specs describe (duplicates dropped: the planner refuses them, and
/// that is tested elsewhere). Groups a cell names but no state has are described.
fn build(users: &[UserSpec], groups: &[GroupSpec], current: &Current) -> Desired {
    let mut desired = Desired::default();
    let mut people = std::collections::HashSet::new();
    for (line, spec) in users.iter().enumerate() {
        if !people.insert(spec.person) {
            continue;
        }
        let mut attributes =
            object(json!({"eduPersonPrincipalNames": [{"value": eppn(spec.person)}]}));
        if let Some(name) = spec.name {
            attributes.insert("userName".into(), json!(NAMES[name]));
        }
        match spec.emails {
            Some(true) => attributes.insert(
                "emails".into(),
                json!([{"value": format!("{}@mail", spec.person)}]),
            ),
            Some(false) => attributes.insert("emails".into(), Value::Null),
            None => None,
        };
        let mut user = DesiredResource::new(attributes, Origin::new("users.csv", line as u64 + 2));
        user.groups = spec
            .groups
            .as_ref()
            .map(|g| g.iter().map(|i| GROUP_IDS[*i].to_owned()).collect());
        desired.users.push(user);
    }
    let mut described = std::collections::HashSet::new();
    for (line, spec) in groups.iter().enumerate() {
        if !described.insert(spec.group) {
            continue;
        }
        let mut attributes = object(json!({"id": GROUP_IDS[spec.group]}));
        if let Some(name) = spec.name {
            attributes.insert("displayName".into(), json!(NAMES[name]));
        }
        if let Some(members) = &spec.members {
            // A member by ePPN when it is a desired or existing person; else it is left out.
            let values: Vec<Value> = members
                .iter()
                .filter(|m| people.contains(m) || **m < current.users.len())
                .map(|m| json!({"value": eppn(*m)}))
                .collect();
            attributes.insert("members".into(), Value::Array(values));
        }
        desired.groups.push(DesiredResource::new(
            attributes,
            Origin::new("groups.ndjson", line as u64 + 1),
        ));
    }
    let exists = |id: &str| {
        current.groups.iter().any(|g| g.plain_str("id") == Some(id))
            || desired.groups.iter().any(|g| g.id() == Some(id))
    };
    let mut missing: Vec<String> = desired
        .users
        .iter()
        .flat_map(|u| u.groups.clone().unwrap_or_default())
        .filter(|id| !exists(id))
        .collect();
    missing.sort();
    missing.dedup();
    for id in missing {
        desired.groups.push(DesiredResource::new(
            object(json!({"id": id})),
            Origin::new("groups.ndjson", 99),
        ));
    }
    desired
}

fn options() -> impl Strategy<Value = SyncOptions> {
    (any::<bool>(), any::<bool>()).prop_map(|(exact, prune)| SyncOptions {
        exact_groups: exact.then(|| "jc_".to_owned()),
        prune_groups: prune.then(|| "jc_".to_owned()),
        ..SyncOptions::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn carrying_out_a_plan_leaves_nothing_to_plan(
        current in current(),
        (users, groups) in desired(),
        options in options(),
    ) {
        let desired = build(&users, &groups, &current);
        let planned = plan(&desired, &current, &options).unwrap();
        prop_assert_eq!(operations(&planned).len(), planned.changes.len());
        let after = apply_in_memory(&planned, &current);
        let seen = View::of(&after);
        let again = plan(&desired, &after, &options).unwrap();
        let after = seen;
        prop_assert!(again.is_empty(), "planned again: {:?}", again.changes);

        // Only pruned groups are deleted, and no user is lost.
        for change in planned.changes.iter().filter(|c| c.action == Action::Delete) {
            prop_assert_eq!(change.kind, Kind::Group);
            prop_assert!(change.key.starts_with("jc_") && options.prune_groups.is_some());
        }
        prop_assert_eq!(after.users.len(), current.users.len() + planned.changes.iter()
            .filter(|c| c.kind == Kind::User && c.action == Action::Create).count());
        // Every desired user is there with the name it was given.
        for user in &desired.users {
            let user = user.attributes.to_map();
            let key = &user["eduPersonPrincipalNames"][0]["value"];
            let found = after.users.iter().find(|u| &u["eduPersonPrincipalNames"][0]["value"] == key);
            prop_assert!(found.is_some());
            if let Some(name) = user.get("userName") {
                prop_assert_eq!(&found.unwrap()["userName"], name);
            }
        }
        check_memberships(&desired, &after, &options)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A plan within the limits is never held back; one over them always is. Deletions
    /// and removals are counted here from the plan's own changes.
    #[test]
    fn a_plan_is_held_back_exactly_when_it_goes_over_a_limit(
        current in current(),
        (users, groups) in desired(),
        options in options(),
        (max_deletes, max_removals) in (0u64..4, 0u64..6),
        percent in 0.0f64..100.0,
    ) {
        let desired = build(&users, &groups, &current);
        let planned = plan(&desired, &current, &options).unwrap();
        let deletes = planned.count(Action::Delete) as u64;
        let removals: u64 = planned.changes.iter().map(|c| c.members_removed.len() as u64).sum();
        let counts = SafetyLimits {
            max_deletes: Limit::Count(max_deletes),
            max_removals: Limit::Count(max_removals),
        };
        let held = counts.check(&planned, &current, &options);
        let held_for = |what: &str| held.iter().any(|h| h.what == what);
        prop_assert_eq!(held_for("group deletions"), deletes > max_deletes, "{:?}", held);
        prop_assert_eq!(held_for("membership removals"), removals > max_removals, "{:?}", held);
        for h in &held {
            prop_assert!(h.planned > h.allowed);
        }
        // A percentage never holds back a plan of at most 10 of a kind.
        let shares = SafetyLimits { max_deletes: Limit::Percent(percent), max_removals: Limit::Percent(percent) };
        let held = shares.check(&planned, &current, &options);
        prop_assert!(held.iter().all(|h| h.planned > SafetyLimits::FLOOR), "{:?}", held);
        let prunable = options.prune_groups.as_deref().map_or(0, |prefix| {
            current.groups.iter().filter(|g| g.plain_str("id").is_some_and(|id| id.starts_with(prefix))).count()
        }) as u64;
        let allowed = ((prunable as f64 * percent / 100.0).floor() as u64).max(SafetyLimits::FLOOR);
        prop_assert_eq!(held.iter().any(|h| h.what == "group deletions"), deletes > allowed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A plan made to fit small requests (group members split over several changes) leads
    /// to the same state as the plan of one operation per group, and every operation fits.
    #[test]
    fn a_plan_split_to_fit_small_requests_leads_to_the_same_state(
        current in current(),
        (users, groups) in desired(),
        options in options(),
        max_payload_bytes in 700usize..1000,
    ) {
        let desired = build(&users, &groups, &current);
        let whole = plan(&desired, &current, &options).unwrap();
        let limits = map_bulk::Limits { max_payload_bytes, ..map_bulk::Limits::default() };
        let small = SyncOptions { limits, ..options.clone() };
        let split = plan(&desired, &current, &small).unwrap();
        for operation in operations(&split) {
            prop_assert!(map_bulk::counted_size(&operation) <= limits.operation_room(), "{operation:?}");
        }
        let after_whole = View::of(&apply_in_memory(&whole, &current));
        let after_split = View::of(&apply_in_memory(&split, &current));
        prop_assert_eq!(after_split.users, after_whole.users);
        prop_assert_eq!(normalized(after_split.groups), normalized(after_whole.groups));
        prop_assert!(plan(&desired, &apply_in_memory(&split, &current), &small).unwrap().is_empty());
    }
}

/// A large group: `existing` users of which `had` are its members now, `wanted` of them
/// and `new` users to create desired; `exists` whether the group does already.
fn large_group() -> impl Strategy<Value = (Current, Desired)> {
    (0usize..60, 0usize..40, any::<bool>(), any::<u64>()).prop_map(|(existing, new, exists, seed)| {
        let member = |i: usize| json!({"type": "User", "value": format!("u{i}")});
        let had: Vec<Value> = (0..existing).filter(|i| (seed >> (i % 64)) & 1 == 1).map(member).collect();
        let mut current = Current {
            users: (0..existing)
                .map(|i| resource(json!({"id": format!("u{i}"), "userName": "U", "eduPersonPrincipalNames": [{"value": eppn(i)}]})))
                .collect(),
            ..Current::default()
        };
        if exists {
            current.groups.push(resource(json!({"id": "big", "displayName": "Big", "members": had})));
        }
        let mut desired = Desired::default();
        let wanted: Vec<Value> = (0..existing + new)
            .filter(|i| (seed >> ((i + 7) % 64)) & 1 == 1)
            .map(|i| json!({"value": eppn(i)}))
            .collect();
        for i in existing..existing + new {
            desired.users.push(DesiredResource::new(
                object(json!({"userName": "N", "eduPersonPrincipalNames": [{"value": eppn(i)}]})),
                Origin::new("people.csv", i as u64 + 2),
            ));
        }
        desired.groups.push(DesiredResource::new(
            object(json!({"id": "big", "displayName": "Big", "members": wanted})),
            Origin::new("groups.ndjson", 1),
        ));
        (current, desired)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A group whose member changes do not fit one operation is written in parts that each
    /// fit, and carrying them out gives the state one operation would.
    #[test]
    fn a_large_group_is_written_in_parts_that_each_fit(
        (current, desired) in large_group(),
        max_payload_bytes in 700usize..2000,
    ) {
        let options = SyncOptions::default();
        let whole = plan(&desired, &current, &options).unwrap();
        let limits = map_bulk::Limits { max_payload_bytes, ..map_bulk::Limits::default() };
        let small = SyncOptions { limits, ..options.clone() };
        let split = plan(&desired, &current, &small).unwrap();
        for operation in operations(&split) {
            prop_assert!(map_bulk::counted_size(&operation) <= limits.operation_room(), "{operation:?}");
        }
        let groups = |p: &map_sync::Plan| p.changes.iter().filter(|c| c.kind == Kind::Group).count();
        let whole_size = operations(&whole).iter().map(map_bulk::counted_size).max().unwrap_or(0);
        if whole_size > limits.operation_room() {
            prop_assert!(groups(&split) > groups(&whole), "split");
        }
        let after_whole = View::of(&apply_in_memory(&whole, &current));
        let after_split = View::of(&apply_in_memory(&split, &current));
        prop_assert_eq!(after_split.users, after_whole.users);
        prop_assert_eq!(normalized(after_split.groups), normalized(after_whole.groups));
        prop_assert!(plan(&desired, &apply_in_memory(&split, &current), &small).unwrap().is_empty());
    }
}

/// Groups with their members in one order, to compare states reached by different plans.
fn normalized(mut groups: Vec<Map<String, Value>>) -> Vec<Map<String, Value>> {
    for group in &mut groups {
        if let Some(Value::Array(members)) = group.get_mut("members") {
            members.sort_by_key(Value::to_string);
        }
    }
    groups
}

/// A state's users and groups as JSON objects, to look into.
struct View {
    users: Vec<Map<String, Value>>,
    groups: Vec<Map<String, Value>>,
}

impl View {
    fn of(state: &Current) -> View {
        View {
            users: state.users.iter().map(Attributes::to_map).collect(),
            groups: state.groups.iter().map(Attributes::to_map).collect(),
        }
    }
}

/// The ids of the members of group `id` in `state`.
fn members(state: &View, id: &str) -> Vec<String> {
    let group = state.groups.iter().find(|g| g["id"] == id);
    let mut ids: Vec<String> = group
        .and_then(|g| g.get("members"))
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Memberships, checked from the desired files' own words rather than the planner's: a
/// group with `members` has exactly those; a user is in every group its cell names, and
/// with --exact-groups in no other group of the prefix.
fn check_memberships(
    desired: &Desired,
    after: &View,
    options: &SyncOptions,
) -> Result<(), TestCaseError> {
    let id_of = |eppn: &Value| {
        after
            .users
            .iter()
            .find(|u| &u["eduPersonPrincipalNames"][0]["value"] == eppn)
            .map(|u| u["id"].as_str().unwrap().to_owned())
    };
    for group in &desired.groups {
        let id = group.id().unwrap();
        prop_assert!(
            after.groups.iter().any(|g| g["id"] == id),
            "group {} exists",
            id
        );
        if let Some(Value::Array(listed)) = group.attributes.get("members") {
            let mut want: Vec<String> = listed.iter().filter_map(|m| id_of(&m["value"])).collect();
            let named = desired
                .users
                .iter()
                .filter(|u| u.groups.as_ref().is_some_and(|g| g.iter().any(|g| g == id)));
            want.extend(named.filter_map(|u| {
                id_of(&u.attributes.get("eduPersonPrincipalNames").unwrap()[0]["value"])
            }));
            want.sort();
            want.dedup();
            prop_assert_eq!(members(after, id), want, "members of {}", id);
        }
    }
    for user in &desired.users {
        let Some(groups) = &user.groups else { continue };
        let me =
            id_of(&user.attributes.get("eduPersonPrincipalNames").unwrap()[0]["value"]).unwrap();
        for group in groups {
            prop_assert!(members(after, group).contains(&me), "{} in {}", me, group);
        }
        if let Some(prefix) = &options.exact_groups {
            for group in after
                .groups
                .iter()
                .filter_map(|g| g["id"].as_str())
                .filter(|g| g.starts_with(prefix.as_str()))
            {
                let listed_by_group = desired.groups.iter().any(|g| {
                    g.id() == Some(group)
                        && g.attributes
                            .get("members")
                            .as_ref()
                            .and_then(Value::as_array)
                            .is_some_and(|m| {
                                m.iter().any(|m| id_of(&m["value"]).as_ref() == Some(&me))
                            })
                });
                if !groups.iter().any(|g| g == group) && !listed_by_group {
                    prop_assert!(
                        !members(after, group).contains(&me),
                        "{} left {}",
                        me,
                        group
                    );
                }
            }
        }
    }
    Ok(())
}
