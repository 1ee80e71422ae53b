//! [`settle`]: after an apply, each change whose outcome is unknown (no answer came back, or
//! an earlier run was killed while it was in flight) is read back from mAP Core — the user
//! by its key, a group or service by id, with its members — and settled as succeeded (read
//! back) or not applied (read back). A change only partly as planned, or one that cannot be
//! read, stays unknown and says why.

use std::collections::BTreeSet;

use map_bulk::Interrupt;
use map_client::{Filter, ResourceAnswer, ResourceClient, ResourceError};
use map_entities::SearchRequestParameter;
use serde_json::Value;

use crate::apply::ChangeResult;
use crate::attributes::Attributes;
use crate::compare::covers;
use crate::current::compact;
use crate::membership::{Member, current_members};
use crate::plan::{Action, Change, Plan};
use crate::state::{Kind, UserKey};
use crate::undo::created_user_ids;

/// What reading back settled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Unknown changes found applied.
    pub applied: usize,
    /// Unknown changes found not applied.
    pub not_applied: usize,
    /// Changes still unknown (partly as planned, or not readable).
    pub unknown: usize,
}

/// Reads back every change of `plan` whose result is unknown and settles it in `results`;
/// users are found by `key`, as the plan matched them. Users are read first, so that a
/// group's new members created in the same lost request are known by id. Reading stops at
/// the first sign that mAP Core cannot be reached, or once `interrupt` is interrupted: what
/// is left stays unknown, saying so.
pub async fn settle(
    client: &ResourceClient,
    plan: &Plan,
    results: &mut [ChangeResult],
    key: UserKey,
    interrupt: &Interrupt,
) -> Settled {
    let mut settled = Settled::default();
    let mut stopped: Option<String> = None;
    for users_first in [true, false] {
        let created = created_user_ids(plan, results);
        for (change, result) in plan.changes.iter().zip(results.iter_mut()) {
            if (change.kind == Kind::User) != users_first {
                continue;
            }
            let ChangeResult::Unknown { reason } = result else {
                continue;
            };
            if stopped.is_none() && interrupt.is_interrupted() {
                stopped = Some("the run was interrupted".to_owned());
            }
            if let Some(why) = &stopped {
                settled.unknown += 1;
                *result = ChangeResult::Unknown {
                    reason: format!("{reason}; not read back: {why}"),
                };
                continue;
            }
            let read = read_back(client, change, key, &created).await;
            if let Err(error) = &read
                && error.is_unreachable_or_unauthorized()
            {
                stopped = Some(error.to_string());
            }
            *result = settled.count(read, change, reason);
        }
    }
    settled
}

impl Settled {
    /// The result a read back gives, counted.
    fn count(
        &mut self,
        read: Result<ReadBack, ResourceError>,
        change: &Change,
        reason: &str,
    ) -> ChangeResult {
        match read {
            Ok(ReadBack::Applied(id)) => {
                self.applied += 1;
                ChangeResult::Succeeded {
                    id: id.or_else(|| change.id.clone()),
                    read_back: true,
                }
            }
            Ok(ReadBack::NotApplied(found)) => {
                self.not_applied += 1;
                ChangeResult::NotApplied {
                    reason: format!("read back: {found} (no answer had come: {reason})"),
                }
            }
            Ok(ReadBack::Partly) => {
                self.unknown += 1;
                ChangeResult::Unknown {
                    reason: format!(
                        "{reason}; read back, it is neither as planned nor as before: check it"
                    ),
                }
            }
            Err(error) => {
                self.unknown += 1;
                ChangeResult::Unknown {
                    reason: format!("{reason}; reading it back failed too: {error}"),
                }
            }
        }
    }
}

enum ReadBack {
    /// As planned; the id of what was created.
    Applied(Option<String>),
    /// As before; what was found.
    NotApplied(&'static str),
    Partly,
}

async fn read_back(
    client: &ResourceClient,
    change: &Change,
    key: UserKey,
    created: &[Option<String>],
) -> Result<ReadBack, ResourceError> {
    let found = fetch(client, change, key).await?;
    Ok(match (change.action, found) {
        (Action::Create, Some(resource)) => {
            ReadBack::Applied(resource.plain_str("id").map(str::to_owned))
        }
        (Action::Create, None) => ReadBack::NotApplied("not in mAP Core"),
        (Action::Delete, None) => ReadBack::Applied(None),
        (Action::Delete, Some(_)) => ReadBack::NotApplied("still in mAP Core"),
        (Action::Update, None) => ReadBack::NotApplied("no longer in mAP Core"),
        (Action::Update, Some(resource)) => compare(change, &resource, created),
    })
}

/// The resource a change is about as mAP Core now holds it, if it does.
async fn fetch(
    client: &ResourceClient,
    change: &Change,
    key: UserKey,
) -> Result<Option<Attributes>, ResourceError> {
    let id = change
        .id
        .as_deref()
        .filter(|_| change.action != Action::Create || change.kind != Kind::User);
    match (change.kind, id) {
        (Kind::User, Some(id)) => {
            found(client.users().get(id).await?).map(|u| u.and_then(|u| compact(u, true)))
        }
        (Kind::User, None) => {
            let attribute = match key {
                UserKey::Eppn => "eduPersonPrincipalNames.value",
                key => key.attribute(),
            };
            let query = SearchRequestParameter {
                filter: Some(Filter::eq(attribute, &change.key).to_string()),
                ..SearchRequestParameter::default()
            };
            let page = found(client.users().page(&query).await?)?;
            Ok(page
                .and_then(|page| page.resources)
                .and_then(|users| users.into_iter().next())
                .and_then(|user| compact(user, true)))
        }
        (Kind::Group, Some(id)) => {
            found(client.groups().get(id).await?).map(|g| g.and_then(|g| compact(g, false)))
        }
        (Kind::Service, Some(id)) => {
            found(client.services().get(id).await?).map(|s| s.and_then(|s| compact(s, false)))
        }
        (_, None) => Ok(None),
    }
}

fn found<T>(answer: ResourceAnswer<T>) -> Result<Option<T>, ResourceError> {
    match answer {
        ResourceAnswer::NotFound(_) => Ok(None),
        other => other.into_result().map(Some),
    }
}

/// Whether an update's attributes and members are as planned, as before, or neither.
fn compare(change: &Change, resource: &Attributes, created: &[Option<String>]) -> ReadBack {
    let value = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
    let (mut planned, mut before) = (true, true);
    for attribute in &change.attributes {
        let have = resource.get(&attribute.name);
        planned &= covers(&value(&attribute.to), have.as_ref());
        before &= covers(&value(&attribute.from), have.as_ref());
    }
    let members: BTreeSet<Member> = current_members(resource);
    let id_of = |member: &Member| match member {
        Member::NewUser(n) => created.get(*n).cloned().flatten().map(Member::User),
        other => Some(other.clone()),
    };
    for member in &change.members_added {
        match id_of(member) {
            Some(member) => {
                let present = members.contains(&member);
                planned &= present;
                before &= !present;
            }
            None => return ReadBack::Partly,
        }
    }
    for member in &change.members_removed {
        let present = members.contains(member);
        planned &= !present;
        before &= present;
    }
    match (planned, before) {
        (true, _) => ReadBack::Applied(None),
        (false, true) => ReadBack::NotApplied("as it was before the change"),
        (false, false) => ReadBack::Partly,
    }
}
