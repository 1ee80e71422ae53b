//! [`apply_in_memory`]: what the current state becomes once a plan is carried out, computed
//! without a server, so that a plan can be checked (planning again yields nothing) and
//! shown before it is sent.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::membership::{Member, current_members};
use crate::plan::{Action, Change, Plan};
use crate::state::{Current, Kind};

/// The id [`apply_in_memory`] gives the n-th user a plan creates.
pub fn simulated_user_id(n: usize) -> String {
    format!("created-user-{n}")
}

/// `current` with every change of `plan` made, as a server that accepts them all would.
/// New users get the ids [`simulated_user_id`] gives.
pub fn apply_in_memory(plan: &Plan, current: &Current) -> Current {
    let mut next = current.clone();
    let mut users_created = 0;
    for change in &plan.changes {
        match change.action {
            Action::Create => {
                let mut resource = Map::new();
                let id = match change.kind {
                    Kind::User => {
                        users_created += 1;
                        simulated_user_id(users_created - 1)
                    }
                    _ => change.id.clone().unwrap_or_default(),
                };
                resource.insert("id".into(), Value::String(id));
                set_attributes(&mut resource, change);
                if change.kind == Kind::Group {
                    set_members(
                        &mut resource,
                        change.members_added.iter().cloned().collect(),
                    );
                }
                next.of_mut(change.kind).push(resource);
            }
            Action::Update => {
                if let Some(resource) = find(&mut next, change) {
                    set_attributes(resource, change);
                    let mut members = current_members(resource);
                    for member in &change.members_removed {
                        members.remove(member);
                    }
                    members.extend(change.members_added.iter().cloned());
                    if !change.members_added.is_empty() || !change.members_removed.is_empty() {
                        set_members(resource, members);
                    }
                }
            }
            Action::Delete => {
                let id = change.id.as_deref();
                next.of_mut(change.kind)
                    .retain(|r| r.get("id").and_then(Value::as_str) != id);
            }
        }
    }
    next
}

fn find<'c>(state: &'c mut Current, change: &Change) -> Option<&'c mut Map<String, Value>> {
    let id = change.id.as_deref()?;
    state
        .of_mut(change.kind)
        .iter_mut()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
}

fn set_attributes(resource: &mut Map<String, Value>, change: &Change) {
    for attribute in &change.attributes {
        match &attribute.to {
            Some(value) => resource.insert(attribute.name.clone(), value.clone()),
            None => resource.remove(&attribute.name),
        };
    }
}

fn set_members(resource: &mut Map<String, Value>, members: BTreeSet<Member>) {
    let members = members
        .into_iter()
        .map(|member| match member {
            Member::NewUser(n) => Member::User(simulated_user_id(n)).to_value(),
            other => other.to_value(),
        })
        .collect();
    resource.insert("members".into(), Value::Array(members));
}
