//! A [`Plan`] as a bulk job: one operation per change, in the plan's order, so that the
//! engine's outcome for operation *n* is change *n*'s. New resources get a `bulkId`
//! (`user0`, `service0`, `group0`, …) and the groups that take new users refer to them by
//! it; PATCHes carry only what changes, and members leave one `remove` each, written as
//! mAP Core's own client writes them (`members[value eq ID]`).

use std::collections::HashMap;

use map_entities::{BulkOperation, PatchOperation, PatchRequestPayload};
use serde_json::{Map, Value, json};

use crate::membership::{Member, new_user_bulk_id};
use crate::plan::{Action, Change, Plan};
use crate::state::Kind;

/// The bulk operations that carry out `plan`, one per change.
///
/// ```
/// use map_sync::{Current, Desired, DesiredResource, Origin, SyncOptions, operations, plan};
/// use serde_json::json;
///
/// let mut desired = Desired::default();
/// let lab = json!({"id": "lab-a", "displayName": "Lab A", "members": []});
/// desired.groups.push(DesiredResource::new(lab.as_object().unwrap().clone(), Origin::new("groups.ndjson", 1)));
/// let plan = plan(&desired, &Current::default(), &SyncOptions::default())?;
/// let job = operations(&plan);
/// assert_eq!(job[0].path.as_deref(), Some("/Groups"));
/// assert_eq!(job[0].bulk_id.as_deref(), Some("group0"));
/// # Ok::<(), map_sync::PlanError>(())
/// ```
pub fn operations(plan: &Plan) -> Vec<BulkOperation> {
    let mut numbering = Numbering::default();
    plan.changes
        .iter()
        .map(|change| numbering.operation(change))
        .collect()
}

/// What the operations of a plan's changes so far created: how many of each kind (the next
/// bulkId), and the groups, so that a later change of a group created in the same job (the
/// rest of its members) refers to it by bulkId and is sent only after its create succeeded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Numbering {
    created: [usize; 3],
    groups: HashMap<String, String>,
}

impl Numbering {
    /// The operation of `change`, the next in the plan.
    pub(crate) fn operation(&mut self, change: &Change) -> BulkOperation {
        let operation = self.peek(change);
        self.count(change);
        operation
    }

    /// Counts `change` as the next in the plan, without building its operation.
    pub(crate) fn count(&mut self, change: &Change) {
        if change.action == Action::Create {
            let slot = &mut self.created[change.kind as usize];
            if let (Kind::Group, Some(id)) = (change.kind, &change.id) {
                self.groups.insert(id.clone(), bulk_id(change.kind, *slot));
            }
            *slot += 1;
        }
    }

    /// The operation `change` would be if it came next, without counting it.
    pub(crate) fn peek(&self, change: &Change) -> BulkOperation {
        match change.action {
            Action::Create => create(
                change,
                bulk_id(change.kind, self.created[change.kind as usize]),
            ),
            Action::Update => update(change, &self.path(change)),
            Action::Delete => BulkOperation::delete(self.path(change)),
        }
    }

    fn path(&self, change: &Change) -> String {
        let id = change.id.as_deref().unwrap_or_default();
        match self.groups.get(id).filter(|_| change.kind == Kind::Group) {
            Some(bulk_id) => format!("{}/bulkId:{bulk_id}", change.kind.path()),
            None => format!("{}/{id}", change.kind.path()),
        }
    }
}

/// The bulkId of the n-th resource of `kind` a plan creates.
pub fn bulk_id(kind: Kind, n: usize) -> String {
    match kind {
        Kind::User => new_user_bulk_id(n),
        Kind::Group => format!("group{n}"),
        Kind::Service => format!("service{n}"),
    }
}

fn create(change: &Change, bulk_id: String) -> BulkOperation {
    let schema = change.kind.schema();
    let mut data = Map::new();
    data.insert(
        "schemas".into(),
        change.schemas.clone().unwrap_or_else(|| json!([schema])),
    );
    if let Some(id) = &change.id {
        data.insert("id".into(), Value::String(id.clone()));
    }
    for attribute in &change.attributes {
        if let Some(value) = &attribute.to {
            data.insert(attribute.name.clone(), value.clone());
        }
    }
    if change.kind == Kind::Group {
        let members: Vec<Value> = change.members_added.iter().map(Member::to_value).collect();
        data.insert("members".into(), Value::Array(members));
    }
    BulkOperation::post(change.kind.path(), bulk_id, Value::Object(data))
}

fn update(change: &Change, path: &str) -> BulkOperation {
    let mut patch: Vec<PatchOperation> = change
        .attributes
        .iter()
        .map(|attribute| match (&attribute.from, &attribute.to) {
            (_, None) => PatchOperation::remove(attribute.name.clone()),
            (None, Some(value)) => PatchOperation::add(attribute.name.clone(), value.clone()),
            (Some(_), Some(value)) => {
                PatchOperation::replace(attribute.name.clone(), value.clone())
            }
        })
        .collect();
    if !change.members_added.is_empty() {
        let members = change.members_added.iter().map(Member::to_value).collect();
        patch.push(PatchOperation::add("members", Value::Array(members)));
    }
    for member in &change.members_removed {
        patch.push(PatchOperation::remove(format!(
            "members[value eq {}]",
            member_id(member)
        )));
    }
    // Serializing our own model cannot fail (string keys, no non-finite numbers).
    let data = serde_json::to_value(PatchRequestPayload::new(patch)).unwrap_or_default();
    BulkOperation::patch(path, data)
}

/// A member as a `members[value eq …]` filter names it.
pub(crate) fn member_id(member: &Member) -> String {
    match member {
        Member::User(id) | Member::Group(id) => id.clone(),
        Member::NewUser(n) => format!("bulkId:{}", new_user_bulk_id(*n)),
    }
}
