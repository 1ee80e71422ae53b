//! [`undo`]: the bulk job that reverses every change a run applied — attributes and
//! memberships restored from what was read, pruned groups re-created as they were, created
//! groups and services deleted — and a note for each change it cannot reverse (mAP Core's
//! API deletes no user) or that may or may not have been applied.

use map_entities::{BulkOperation, PatchOperation, PatchRequestPayload};
use serde_json::Value;

use crate::attributes::Attributes;

use crate::apply::ChangeResult;
use crate::membership::Member;
use crate::plan::{Action, Change, Plan};
use crate::state::Kind;

/// The reversing job and what it leaves as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Undo {
    /// Operations that reverse the applied changes, latest change first.
    pub operations: Vec<BulkOperation>,
    /// Changes not reversed, each saying why.
    pub not_undone: Vec<String>,
}

/// The undo job of `plan`, given what became of each change (`results[n]` is change n's).
pub fn undo(plan: &Plan, results: &[ChangeResult]) -> Undo {
    let created_users = created_user_ids(plan, results);
    let mut undo = Undo::default();
    for (n, change) in plan.changes.iter().enumerate().rev() {
        let label = format!("{} {}", change.kind, change.key);
        match results.get(n) {
            Some(ChangeResult::Succeeded { id }) => {
                reverse(change, id.as_deref(), &created_users, n, &label, &mut undo)
            }
            Some(ChangeResult::Unknown { reason }) => undo.not_undone.push(format!(
                "{label}: may have been applied ({reason}); check it by hand"
            )),
            Some(ChangeResult::NotApplied { .. }) | None => {}
        }
    }
    undo
}

/// The ids of the users the plan created, in creation order (`None`: not created or not
/// known).
fn created_user_ids(plan: &Plan, results: &[ChangeResult]) -> Vec<Option<String>> {
    plan.changes
        .iter()
        .zip(results)
        .filter(|(c, _)| c.kind == Kind::User && c.action == Action::Create)
        .map(|(_, r)| match r {
            ChangeResult::Succeeded { id } => id.clone(),
            _ => None,
        })
        .collect()
}

fn reverse(
    change: &Change,
    id: Option<&str>,
    created: &[Option<String>],
    n: usize,
    label: &str,
    undo: &mut Undo,
) {
    let id = id.or(change.id.as_deref());
    match (change.action, change.kind) {
        (Action::Create, Kind::User) => undo.not_undone.push(format!(
            "{label} (id {}) was created: mAP Core's API deletes no user",
            id.unwrap_or("unknown")
        )),
        (Action::Create, kind) => match id {
            Some(id) => undo
                .operations
                .push(BulkOperation::delete(format!("{}/{id}", kind.path()))),
            None => undo
                .not_undone
                .push(format!("{label} was created but its id is not known")),
        },
        (Action::Update, kind) => {
            let Some(id) = id else { return };
            let (patch, unknown) = restoring_patch(change, created);
            undo.not_undone
                .extend(unknown.into_iter().map(|m| format!("{label}: {m}")));
            if !patch.is_empty() {
                let data =
                    serde_json::to_value(PatchRequestPayload::new(patch)).unwrap_or_default();
                undo.operations
                    .push(BulkOperation::patch(format!("{}/{id}", kind.path()), data));
            }
        }
        (Action::Delete, kind) => {
            let mut document = change
                .before
                .as_ref()
                .map(Attributes::to_map)
                .unwrap_or_default();
            document.remove("meta");
            // What was read lacks `schemas` (never compared, so not kept).
            document
                .entry("schemas")
                .or_insert_with(|| serde_json::json!([kind.schema()]));
            undo.operations.push(BulkOperation::post(
                kind.path(),
                format!("undo{n}"),
                Value::Object(document),
            ));
        }
    }
}

/// The PATCH that puts the changed attributes and members back, and the members it cannot
/// name (users created by the run whose ids are not known).
fn restoring_patch(
    change: &Change,
    created: &[Option<String>],
) -> (Vec<PatchOperation>, Vec<String>) {
    let mut patch: Vec<PatchOperation> = change
        .attributes
        .iter()
        .map(|a| match (&a.from, &a.to) {
            (None, _) => PatchOperation::remove(a.name.clone()),
            (Some(before), None) => PatchOperation::add(a.name.clone(), before.clone()),
            (Some(before), Some(_)) => PatchOperation::replace(a.name.clone(), before.clone()),
        })
        .collect();
    let mut unknown = Vec::new();
    let id_of = |member: &Member| match member {
        Member::User(id) | Member::Group(id) => Some(id.clone()),
        Member::NewUser(n) => created.get(*n).cloned().flatten(),
    };
    for member in &change.members_added {
        match id_of(member) {
            Some(id) => patch.push(PatchOperation::remove(format!("members[value eq {id}]"))),
            None => unknown.push(
                "a member added was a user created by the run whose id is not known".to_owned(),
            ),
        }
    }
    if !change.members_removed.is_empty() {
        let back = change
            .members_removed
            .iter()
            .map(Member::to_value)
            .collect();
        patch.push(PatchOperation::add("members", Value::Array(back)));
    }
    (patch, unknown)
}
