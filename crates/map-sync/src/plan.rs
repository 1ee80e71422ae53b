//! [`plan`]: the fewest changes that bring the current state to the desired one, as a pure
//! function of the two. Creates come first (users, then services, so that groups can take
//! them), then updates, then groups (created with their members, or patched), and the
//! groups pruned last.

use std::collections::BTreeSet;

use map_bulk::Limits;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attributes::Attributes;
use crate::compare::{AttributeChange, attribute_changes};
use crate::error::{PlanError, Problems};
use crate::matching::{Match, UserIndex, match_by_id, match_users};
use crate::membership::{Context, GroupIndex, Member, Targets, targets, user_members};
use crate::state::{Current, Desired, DesiredResource, Kind, Origin, UserKey};

/// What sync may change beyond the desired documents' own attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// How desired users are matched to existing ones.
    pub key: UserKey,
    /// A listed user's `groups` are exact among the groups whose id starts with this.
    pub exact_groups: Option<String>,
    /// Groups whose id starts with this and that no desired file names are deleted.
    pub prune_groups: Option<String>,
    /// The server's limits: every change's operation is made to fit them (a group's
    /// members split over several PATCHes), or planning says which value cannot.
    pub limits: Limits,
}

/// What a change does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// POST a new resource.
    Create,
    /// PATCH the changed attributes and members.
    Update,
    /// DELETE it (pruned groups only).
    Delete,
}

impl Action {
    /// `create`, `update`, `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Create, update or delete.
    pub action: Action,
    /// The resource's kind.
    pub kind: Kind,
    /// How the user knows it: a user's key (its first ePPN, userName or externalId), a
    /// group's or service's id.
    pub key: String,
    /// Its id in mAP Core, when it has one already.
    pub id: Option<String>,
    /// The attributes that change (for a create: every attribute it is given).
    pub attributes: Vec<AttributeChange>,
    /// Members a group gains.
    pub members_added: Vec<Member>,
    /// Members a group loses.
    pub members_removed: Vec<Member>,
    /// The resource as it was read, for an update or a delete (to undo it).
    pub before: Option<Attributes>,
    /// For a create: the `schemas` the desired document gave (deployments spell the URN's
    /// domain differently); `None` sends the kind's usual one.
    pub schemas: Option<Value>,
    /// Where the desired resource was read, for errors about its values (not saved with a
    /// plan: a saved plan is resumed only from the same files).
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// The changes, in the order they are to be sent, and how many desired resources need none.
/// It can be saved and read back (serde), so that an interrupted run resumes the same plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// The changes; a job made from them has one operation per change, in this order.
    pub changes: Vec<Change>,
    /// Desired resources already as desired.
    pub unchanged: usize,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many changes do `action`.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// Plans the changes from `current` to `desired`, or says every reason it cannot.
///
/// ```
/// use map_sync::{Action, Current, Desired, DesiredResource, Origin, SyncOptions, plan};
/// use serde_json::json;
///
/// let mut desired = Desired::default();
/// let alice = json!({"userName": "Alice", "eduPersonPrincipalNames": [{"value": "alice@idp.example.ac.jp"}]});
/// desired.users.push(DesiredResource::new(alice.as_object().unwrap().clone(), Origin::new("people.csv", 2)));
/// let plan = plan(&desired, &Current::default(), &SyncOptions::default())?;
/// assert_eq!(plan.changes[0].action, Action::Create);
/// assert_eq!(plan.changes[0].key, "alice@idp.example.ac.jp");
/// # Ok::<(), map_sync::PlanError>(())
/// ```
pub fn plan(
    desired: &Desired,
    current: &Current,
    options: &SyncOptions,
) -> Result<Plan, PlanError> {
    let mut problems = Problems::default();
    let index = UserIndex::new(current, options.key);
    let users = match_users(desired, &index, &mut problems);
    let services = match_by_id(desired, current, Kind::Service, &mut problems);
    let groups = match_by_id(desired, current, Kind::Group, &mut problems);
    let members = user_members(&users, current);
    let group_index = GroupIndex::new(desired, current);
    let context = Context {
        desired,
        current,
        users: &index,
        groups: &group_index,
        desired_by_key: desired_by_key(desired, options.key),
        user_members: &members,
        exact_groups: options.exact_groups.as_deref(),
    };
    let targets = targets(&context, &mut problems);
    let mut plan = Plan::default();
    let resources = |kind| desired.of(kind).iter();
    let user_key = |u: &DesiredResource, m: &Match| key_of(u, *m, current, options.key);
    let keyed_users: Vec<_> = resources(Kind::User)
        .zip(&users)
        .map(|(u, m)| (user_key(u, m), u, *m))
        .collect();
    let keyed = |kind, matches: &[Match]| -> Vec<(String, &DesiredResource, Match)> {
        resources(kind)
            .zip(matches)
            .map(|(r, m)| (r.id().unwrap_or_default().to_owned(), r, *m))
            .collect()
    };
    let services = keyed(Kind::Service, &services);
    let groups = keyed(Kind::Group, &groups);
    for (kind, list) in [(Kind::User, &keyed_users), (Kind::Service, &services)] {
        creates(&mut plan, kind, list);
    }
    for (kind, list) in [(Kind::User, &keyed_users), (Kind::Service, &services)] {
        updates(&mut plan, kind, list, current);
    }
    let prune_prefix = options.prune_groups.as_deref();
    if prune_prefix == Some("") {
        problems.add(
            None,
            "--prune-groups: an empty prefix would delete every group no file names",
        );
    }
    group_changes(
        &mut plan,
        &groups,
        current,
        &group_index,
        &targets,
        prune_prefix,
    );
    prune(
        &mut plan,
        current,
        &targets,
        options.prune_groups.as_deref(),
    );
    let plan = crate::fit::fit(plan, options.limits, &mut problems);
    problems.into_result(plan)
}

/// The desired user holding each value of the key (the first, if two do: a problem
/// [`match_users`] reports).
fn desired_by_key(desired: &Desired, key: UserKey) -> std::collections::HashMap<String, usize> {
    let mut by_key = std::collections::HashMap::new();
    for (n, user) in desired.users.iter().enumerate() {
        for value in key.values(&user.attributes) {
            by_key.entry(value).or_insert(n);
        }
    }
    by_key
}

/// How a user is known in reports: its key's first value, else its id.
fn key_of(user: &DesiredResource, matched: Match, current: &Current, key: UserKey) -> String {
    let from_desired = key
        .values(&user.attributes)
        .first()
        .map(|v| (*v).to_owned());
    from_desired
        .or_else(|| match matched {
            Match::Existing(i) => key
                .values(&current.users[i])
                .first()
                .map(|v| (*v).to_owned()),
            Match::New => None,
        })
        .or_else(|| user.id().map(str::to_owned))
        .unwrap_or_default()
}

fn id_of(resource: &Attributes) -> Option<String> {
    resource.plain_str("id").map(str::to_owned)
}

fn creates(plan: &mut Plan, kind: Kind, list: &[(String, &DesiredResource, Match)]) {
    for (key, resource, _) in list.iter().filter(|(_, _, m)| *m == Match::New) {
        plan.changes.push(Change {
            action: Action::Create,
            kind,
            key: key.clone(),
            id: resource.id().map(str::to_owned),
            attributes: attribute_changes(&resource.attributes, None),
            members_added: Vec::new(),
            members_removed: Vec::new(),
            before: None,
            schemas: resource.attributes.get("schemas"),
            origin: Some(resource.origin.clone()),
        });
    }
}

fn updates(
    plan: &mut Plan,
    kind: Kind,
    list: &[(String, &DesiredResource, Match)],
    current: &Current,
) {
    for (key, resource, matched) in list {
        let Match::Existing(i) = matched else {
            continue;
        };
        let before = &current.of(kind)[*i];
        let attributes = attribute_changes(&resource.attributes, Some(before));
        if attributes.is_empty() {
            plan.unchanged += 1;
            continue;
        }
        plan.changes.push(Change {
            action: Action::Update,
            kind,
            key: key.clone(),
            id: id_of(before),
            attributes,
            members_added: Vec::new(),
            members_removed: Vec::new(),
            before: Some(before.clone()),
            schemas: None,
            origin: Some(resource.origin.clone()),
        });
    }
}

/// Desired groups (created with their members, or patched), then existing groups that only
/// gain or lose members through users' `groups`.
fn group_changes(
    plan: &mut Plan,
    groups: &[(String, &DesiredResource, Match)],
    current: &Current,
    index: &GroupIndex<'_>,
    targets: &Targets,
    prune_prefix: Option<&str>,
) {
    let mut described = BTreeSet::new();
    for (id, resource, matched) in groups {
        described.insert(id.as_str());
        let before = match matched {
            Match::Existing(i) => Some(&current.groups[*i]),
            Match::New => None,
        };
        let have = index.members(id);
        let attributes = attribute_changes(&resource.attributes, before);
        let schemas = resource
            .attributes
            .get("schemas")
            .filter(|_| before.is_none());
        let given = (attributes, schemas, Some(&resource.origin));
        if !push_group(plan, id, before, given, &have, targets) {
            plan.unchanged += 1;
        }
    }
    for group in &current.groups {
        let Some(id) = group.plain_str("id") else {
            continue;
        };
        if described.contains(id)
            || !(targets.add.contains_key(id) || targets.remove.contains_key(id))
            || is_pruned(id, targets, prune_prefix)
        {
            // Not changed, or deleted anyway: its members' leaving is no update.
            continue;
        }
        push_group(
            plan,
            id,
            Some(group),
            (Vec::new(), None, None),
            &index.members(id),
            targets,
        );
    }
}

/// Adds the group's change, if it has one (whether it did).
fn push_group(
    plan: &mut Plan,
    id: &str,
    before: Option<&Attributes>,
    (attributes, desired_schemas, origin): (Vec<AttributeChange>, Option<Value>, Option<&Origin>),
    have: &BTreeSet<Member>,
    targets: &Targets,
) -> bool {
    let want = targets.members_of(id, have);
    let members_added: Vec<Member> = want.difference(have).cloned().collect();
    let members_removed: Vec<Member> = have.difference(&want).cloned().collect();
    let action = if before.is_some() {
        Action::Update
    } else {
        Action::Create
    };
    if action == Action::Update
        && attributes.is_empty()
        && members_added.is_empty()
        && members_removed.is_empty()
    {
        return false;
    }
    plan.changes.push(Change {
        action,
        kind: Kind::Group,
        key: id.to_owned(),
        id: Some(id.to_owned()),
        attributes,
        members_added,
        members_removed,
        before: before.cloned(),
        schemas: desired_schemas,
        origin: origin.cloned(),
    });
    true
}

/// Whether group `id` is pruned: of the prefix, and named by no desired file.
fn is_pruned(id: &str, targets: &Targets, prefix: Option<&str>) -> bool {
    prefix.is_some_and(|p| !p.is_empty() && id.starts_with(p)) && !targets.named.contains(id)
}

/// Groups of the prune prefix that no desired file names, deleted last.
fn prune(plan: &mut Plan, current: &Current, targets: &Targets, prefix: Option<&str>) {
    let Some(prefix) = prefix else { return };
    for group in &current.groups {
        let Some(id) = group.plain_str("id") else {
            continue;
        };
        if is_pruned(id, targets, Some(prefix)) {
            plan.changes.push(Change {
                action: Action::Delete,
                kind: Kind::Group,
                key: id.to_owned(),
                id: Some(id.to_owned()),
                attributes: Vec::new(),
                members_added: Vec::new(),
                members_removed: Vec::new(),
                before: Some(group.clone()),
                schemas: None,
                origin: None,
            });
        }
    }
}
