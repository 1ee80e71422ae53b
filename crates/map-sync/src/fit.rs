//! [`fit`]: a plan made to fit the server's limits before anything is sent, so that a dry
//! run and the apply agree. A group whose member changes do not fit one operation (about
//! 9,900 new or 26,000 existing members in mAP's 1 MiB `maxPayloadSize`) becomes several
//! changes that each fit: a new group is created with as many members as fit and PATCHed
//! with the rest (referring to it by bulkId, so each waits for the create to succeed); an
//! existing group gets one PATCH per part. A change that cannot be split small enough (one
//! attribute larger than a request) is a problem naming the file, line and column the value
//! came from.

use map_bulk::{Limits, counted_size};
use map_entities::PatchOperation;

use crate::error::Problems;
use crate::membership::Member;
use crate::operations::{Numbering, member_id};
use crate::plan::{Action, Change, Plan};
use crate::state::Kind;

/// Room kept in each part for what the estimate of a member's bytes does not count (the
/// `add` operation that carries them, separators).
const SLACK: usize = 96;

/// A substituted id may be longer than the `bulkId:X` it replaces (as the engine counts).
const REFERENCE_ALLOWANCE: usize = 64;

/// `plan` with every change within `limits`: member changes split where they do not fit;
/// a change that cannot be made to fit is a problem.
pub(crate) fn fit(plan: Plan, limits: Limits, problems: &mut Problems) -> Plan {
    let room = limits.operation_room();
    let mut numbering = Numbering::default();
    let mut fitted = Plan {
        changes: Vec::with_capacity(plan.changes.len()),
        unchanged: plan.unchanged,
    };
    for change in plan.changes {
        // Nearly every change is far below the limit: a bound on its size, found without
        // building its operation, spares measuring it (planning 100k users stays as fast).
        if size_bound(&change) <= room {
            numbering.count(&change);
            fitted.changes.push(change);
            continue;
        }
        let size = counted_size(&numbering.peek(&change));
        if size <= room {
            numbering.count(&change);
            fitted.changes.push(change);
            continue;
        }
        let parts = split(&change, &numbering, room);
        match parts {
            Some(parts) => {
                for part in parts {
                    numbering.count(&part);
                    fitted.changes.push(part);
                }
            }
            None => {
                too_large(&change, size, room, limits, problems);
                numbering.count(&change);
                fitted.changes.push(change);
            }
        }
    }
    fitted
}

/// A group's change as parts that each fit `room`: the change itself with its attributes
/// and the first members, then PATCHes of members only. `None` when it cannot be split so.
fn split(change: &Change, numbering: &Numbering, room: usize) -> Option<Vec<Change>> {
    if change.kind != Kind::Group
        || change.action == Action::Delete
        || change.members_added.is_empty() && change.members_removed.is_empty()
    {
        return None;
    }
    let mut first = change.clone();
    first.members_added.clear();
    first.members_removed.clear();
    let base = counted_size(&numbering.peek(&first)) + SLACK;
    if base > room {
        return None;
    }
    let follow_up = || Change {
        action: Action::Update,
        kind: change.kind,
        key: change.key.clone(),
        id: change.id.clone(),
        attributes: Vec::new(),
        members_added: Vec::new(),
        members_removed: Vec::new(),
        before: None,
        schemas: None,
        origin: change.origin.clone(),
    };
    // The first part is the change itself; later ones are PATCHes of the same group, each
    // with the room of an update that carries nothing else.
    let mut probe = numbering.clone();
    probe.operation(&first);
    let follow_base = counted_size(&probe.operation(&follow_up())) + SLACK;
    if follow_base > room {
        return None;
    }
    let mut parts = vec![first];
    let mut used = base;
    let members = change
        .members_added
        .iter()
        .map(|m| (m, true))
        .chain(change.members_removed.iter().map(|m| (m, false)));
    for (member, added) in members {
        let cost = member_cost(member, added);
        if follow_base + cost > room {
            return None;
        }
        if used + cost > room {
            parts.push(follow_up());
            used = follow_base;
        }
        let part = parts.last_mut()?;
        if added {
            part.members_added.push(member.clone());
        } else {
            part.members_removed.push(member.clone());
        }
        used += cost;
    }
    // An update whose first member did not fit beside its (empty) attributes carries nothing.
    parts.retain(|part| {
        part.action != Action::Update
            || !(part.attributes.is_empty()
                && part.members_added.is_empty()
                && part.members_removed.is_empty())
    });
    Some(parts)
}

/// More bytes than the operation of `change` can count: every character as if escaped
/// (`\u00XX`), every reference with the room of an id, and room for the envelope of the
/// operation and of each attribute and member.
fn size_bound(change: &Change) -> usize {
    const OPERATION: usize = 512;
    const EACH: usize = 64;
    let text = |s: &str| 6 * s.len() + 2;
    let attributes: usize = change
        .attributes
        .iter()
        .map(|a| EACH + text(&a.name) + a.to.as_ref().map_or(0, value_bound))
        .sum();
    let members: usize = change
        .members_added
        .iter()
        .chain(&change.members_removed)
        .map(|m| EACH + REFERENCE_ALLOWANCE + text(&member_id(m)))
        .sum();
    OPERATION
        + text(&change.key)
        + change.id.as_deref().map_or(0, text)
        + change.schemas.as_ref().map_or(EACH * 4, value_bound)
        + attributes
        + members
}

/// More bytes than `value` takes as JSON, with room for references in its strings.
fn value_bound(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 40,
        Value::String(s) => 6 * s.len() + 2 + REFERENCE_ALLOWANCE,
        Value::Array(items) => 2 + items.iter().map(|v| value_bound(v) + 1).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| 6 * k.len() + 4 + value_bound(v))
                .sum::<usize>()
        }
    }
}

/// The bytes one member adds to an operation: its element of an `add`'s value, or its own
/// `remove`, and a separator.
fn member_cost(member: &Member, added: bool) -> usize {
    if added {
        let reference = matches!(member, Member::NewUser(_));
        member.to_value().to_string().len() + 1 + if reference { REFERENCE_ALLOWANCE } else { 0 }
    } else {
        let remove = PatchOperation::remove(format!("members[value eq {}]", member_id(member)));
        serde_json::to_string(&remove).map_or(256, |text| text.len() + 1)
    }
}

/// Says which value makes `change` too large, and where it was read.
fn too_large(change: &Change, size: usize, room: usize, limits: Limits, problems: &mut Problems) {
    let largest = change
        .attributes
        .iter()
        .filter_map(|a| {
            a.to.as_ref()
                .map(|v| (a.name.as_str(), v.to_string().len()))
        })
        .max_by_key(|(_, len)| *len);
    let limit = format!(
        "one operation may carry at most {room} bytes (--max-payload-bytes {})",
        limits.max_payload_bytes
    );
    let message = match (largest, &change.origin) {
        (Some((name, len)), Some(origin)) => format!(
            "{}: the value is {len} bytes; {limit}",
            origin.of_attribute(name)
        ),
        (Some((name, len)), None) => format!(
            "{} {}: {name} is {len} bytes; {limit}",
            change.kind, change.key
        ),
        (None, _) => format!(
            "{} {}: its operation is {size} bytes; {limit}",
            change.kind, change.key
        ),
    };
    problems.add(None, message);
}
