//! [`undo`]: the bulk job that reverses every change a run applied — attributes and
//! memberships restored from what was read, pruned groups re-created as they were, created
//! groups and services deleted — and a note for each change it cannot reverse (mAP Core's
//! API deletes no user) or that may or may not have been applied.

use std::collections::HashSet;

use map_bulk::Limits;
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
    /// The users the run created, which stay (mAP Core's API deletes no user): their keys
    /// and ids, in the plan's order; [`Undo::not_undone`] says so in one line.
    pub users_created: Vec<String>,
}

/// The undo job of `plan`, given what became of each change (`results[n]` is change n's),
/// each operation within `limits` (a group's members restored over several PATCHes where
/// they do not fit one).
pub fn undo(plan: &Plan, results: &[ChangeResult], limits: Limits) -> Undo {
    let created_users = created_user_ids(plan, results);
    let created_groups = created_group_ids(plan, results);
    let room = limits.operation_room().saturating_sub(SLACK);
    let mut undo = Undo::default();
    for (n, change) in plan.changes.iter().enumerate().rev() {
        let label = format!("{} {}", change.kind, change.key);
        match results.get(n) {
            // A group the run created is deleted: the members it gained go with it.
            Some(ChangeResult::Succeeded { .. })
                if change.action == Action::Update
                    && change.kind == Kind::Group
                    && change
                        .id
                        .as_ref()
                        .is_some_and(|id| created_groups.contains(id)) => {}
            Some(ChangeResult::Succeeded { id, .. }) => {
                let context = Context {
                    created: &created_users,
                    label: &label,
                    room,
                };
                reverse(change, id.as_deref(), &context, &mut undo)
            }
            Some(ChangeResult::Unknown { reason }) => undo.not_undone.push(format!(
                "{label}: may have been applied ({reason}); check it by hand"
            )),
            Some(ChangeResult::NotApplied { .. } | ChangeResult::Skipped { .. }) | None => {}
        }
    }
    undo.users_created.reverse();
    if let Some(note) = users_created_note(&undo.users_created) {
        undo.not_undone.push(note);
    }
    undo
}

/// One line for every user the run created: the first few named, the rest counted.
fn users_created_note(users: &[String]) -> Option<String> {
    const NAMED: usize = 5;
    let (first, rest) = users.split_at(users.len().min(NAMED));
    let more = if rest.is_empty() {
        String::new()
    } else {
        format!(" and {} more", rest.len())
    };
    (!users.is_empty()).then(|| {
        format!(
            "{} user{} created by the run stay{}: mAP Core's API deletes no user ({}{more})",
            users.len(),
            if users.len() == 1 { "" } else { "s" },
            if users.len() == 1 { "s" } else { "" },
            first.join(", ")
        )
    })
}

/// The ids of the groups the run created.
fn created_group_ids(plan: &Plan, results: &[ChangeResult]) -> HashSet<String> {
    plan.changes
        .iter()
        .zip(results)
        .filter(|(c, r)| {
            c.kind == Kind::Group
                && c.action == Action::Create
                && matches!(r, ChangeResult::Succeeded { .. })
        })
        .filter_map(|(c, _)| c.id.clone())
        .collect()
}

/// What reversing one change needs to know.
struct Context<'a> {
    /// The ids of the users the run created, in creation order.
    created: &'a [Option<String>],
    label: &'a str,
    /// The bytes one operation's members may take.
    room: usize,
}

/// Room kept in each operation for what member sizes do not count.
const SLACK: usize = 512;

/// The ids of the users the plan created, in creation order (`None`: not created or not
/// known).
pub(crate) fn created_user_ids(plan: &Plan, results: &[ChangeResult]) -> Vec<Option<String>> {
    plan.changes
        .iter()
        .zip(results)
        .filter(|(c, _)| c.kind == Kind::User && c.action == Action::Create)
        .map(|(_, r)| match r {
            ChangeResult::Succeeded { id, .. } => id.clone(),
            _ => None,
        })
        .collect()
}

fn reverse(change: &Change, id: Option<&str>, context: &Context<'_>, undo: &mut Undo) {
    let label = context.label;
    let id = id.or(change.id.as_deref());
    match (change.action, change.kind) {
        (Action::Create, Kind::User) => {
            undo.users_created
                .push(format!("{} (id {})", change.key, id.unwrap_or("unknown")))
        }
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
            let (patches, unknown) = restoring_patches(change, context);
            undo.not_undone
                .extend(unknown.into_iter().map(|m| format!("{label}: {m}")));
            for patch in patches {
                let data =
                    serde_json::to_value(PatchRequestPayload::new(patch)).unwrap_or_default();
                undo.operations
                    .push(BulkOperation::patch(format!("{}/{id}", kind.path()), data));
            }
        }
        (Action::Delete, kind) => recreate(change, kind, context, undo),
    }
}

/// A deleted resource posted again as it was read; a group's members beyond what one
/// operation holds follow in PATCHes that refer to it by bulkId.
fn recreate(change: &Change, kind: Kind, context: &Context<'_>, undo: &mut Undo) {
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
    let members = match document.remove("members") {
        Some(Value::Array(members)) => members,
        _ => Vec::new(),
    };
    let mut chunks = chunks(members, |m| m.to_string().len() + 1, context.room).into_iter();
    // Named by the resource, so that undo jobs of several plans joined stay distinct.
    let bulk_id = format!("undo-{}", change.key);
    if kind == Kind::Group {
        document.insert(
            "members".into(),
            Value::Array(chunks.next().unwrap_or_default()),
        );
    }
    undo.operations.push(BulkOperation::post(
        kind.path(),
        bulk_id.clone(),
        Value::Object(document),
    ));
    for rest in chunks {
        let patch = vec![PatchOperation::add("members", Value::Array(rest))];
        let data = serde_json::to_value(PatchRequestPayload::new(patch)).unwrap_or_default();
        undo.operations.push(BulkOperation::patch(
            format!("{}/bulkId:{bulk_id}", kind.path()),
            data,
        ));
    }
}

/// The PATCHes that put the changed attributes and members back (the attributes in the
/// first, members spread so that each fits), and the members it cannot name (users created
/// by the run whose ids are not known).
fn restoring_patches(
    change: &Change,
    context: &Context<'_>,
) -> (Vec<Vec<PatchOperation>>, Vec<String>) {
    let attributes: Vec<PatchOperation> = change
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
        Member::NewUser(n) => context.created.get(*n).cloned().flatten(),
    };
    let mut removes = Vec::new();
    for member in &change.members_added {
        match id_of(member) {
            Some(id) => removes.push(PatchOperation::remove(format!("members[value eq {id}]"))),
            None => unknown.push(
                "a member added was a user created by the run whose id is not known".to_owned(),
            ),
        }
    }
    let size = |op: &PatchOperation| serde_json::to_string(op).map_or(256, |t| t.len() + 1);
    let mut patches = chunks(
        attributes.into_iter().chain(removes).collect(),
        size,
        context.room,
    );
    let back: Vec<Value> = change
        .members_removed
        .iter()
        .map(Member::to_value)
        .collect();
    for part in chunks(back, |m| m.to_string().len() + 1, context.room) {
        patches.push(vec![PatchOperation::add("members", Value::Array(part))]);
    }
    patches.retain(|p| !p.is_empty());
    (patches, unknown)
}

/// `items` in order, in chunks whose sizes add up to at most `room` (an item larger than
/// `room` gets a chunk of its own).
fn chunks<T>(items: Vec<T>, size: impl Fn(&T) -> usize, room: usize) -> Vec<Vec<T>> {
    let mut chunks: Vec<Vec<T>> = Vec::new();
    let mut used = 0;
    for item in items {
        let cost = size(&item);
        match chunks.last_mut() {
            Some(chunk) if used + cost <= room => chunk.push(item),
            _ => {
                chunks.push(vec![item]);
                used = 0;
            }
        }
        used += cost;
    }
    chunks
}
