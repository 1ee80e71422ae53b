//! [`apply_in_memory`]: what the current state becomes once a plan is carried out, computed
//! without a server, so that a plan can be checked (planning again yields nothing) and
//! shown before it is sent.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::attributes::Attributes;

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
    let mut positions = Positions::of(&next);
    let mut deleted: HashSet<(Kind, String)> = HashSet::new();
    let mut users_created = 0;
    for change in &plan.changes {
        match change.action {
            Action::Create => {
                let mut resource = Attributes::new();
                let id = match change.kind {
                    Kind::User => {
                        users_created += 1;
                        simulated_user_id(users_created - 1)
                    }
                    _ => change.id.clone().unwrap_or_default(),
                };
                resource.insert("id", &Value::String(id.clone()));
                set_attributes(&mut resource, change);
                if change.kind == Kind::Group {
                    set_members(
                        &mut resource,
                        change.members_added.iter().cloned().collect(),
                    );
                }
                let resources = next.of_mut(change.kind);
                positions.0.insert((change.kind, id), resources.len());
                resources.push(resource);
            }
            Action::Update => {
                if let Some(resource) = positions.find(&mut next, change) {
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
                deleted.insert((change.kind, change.id.clone().unwrap_or_default()));
            }
        }
    }
    if !deleted.is_empty() {
        for kind in [Kind::User, Kind::Group, Kind::Service] {
            next.of_mut(kind).retain(|r| {
                let id = r.plain_str("id").unwrap_or_default();
                !deleted.contains(&(kind, id.to_owned()))
            });
        }
    }
    next
}

/// Where each resource is in a state, by kind and id.
struct Positions(HashMap<(Kind, String), usize>);

impl Positions {
    fn of(state: &Current) -> Self {
        let mut positions = HashMap::new();
        for kind in [Kind::User, Kind::Group, Kind::Service] {
            for (i, resource) in state.of(kind).iter().enumerate() {
                if let Some(id) = resource.plain_str("id") {
                    positions.insert((kind, id.to_owned()), i);
                }
            }
        }
        Positions(positions)
    }

    fn find<'c>(&self, state: &'c mut Current, change: &Change) -> Option<&'c mut Attributes> {
        let id = change.id.clone()?;
        let position = *self.0.get(&(change.kind, id))?;
        state.of_mut(change.kind).get_mut(position)
    }
}

fn set_attributes(resource: &mut Attributes, change: &Change) {
    for attribute in &change.attributes {
        match &attribute.to {
            Some(value) => resource.insert(&attribute.name, value),
            None => {
                resource.remove(&attribute.name);
            }
        }
    }
}

fn set_members(resource: &mut Attributes, members: BTreeSet<Member>) {
    let members = members
        .into_iter()
        .map(|member| match member {
            Member::NewUser(n) => Member::User(simulated_user_id(n)).to_value(),
            other => other.to_value(),
        })
        .collect();
    resource.insert("members", &Value::Array(members));
}
