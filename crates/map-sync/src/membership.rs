//! Who should be in each group: a desired group's `members` exactly, plus the users whose
//! `groups` name it; with `--exact-groups PREFIX`, minus the listed users whose `groups` do
//! not name a group of that prefix. Members are told apart by [`Member`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::attributes::Attributes;
use crate::error::Problems;
use crate::matching::{Match, UserIndex};
use crate::state::{Current, Desired, DesiredResource, Origin, value_of};

/// A member of a group.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Member {
    /// An existing user, by id.
    User(String),
    /// A user this plan creates: the n-th user created (its bulkId is `user{n}`).
    NewUser(usize),
    /// A group, by id.
    Group(String),
}

impl Member {
    /// The member as a group's `members` element sends it: existing ids as they are, a new
    /// user as a `bulkId:` reference.
    pub fn to_value(&self) -> Value {
        match self {
            Member::User(id) => serde_json::json!({"type": "User", "value": id}),
            Member::NewUser(n) => {
                serde_json::json!({"type": "User", "value": format!("bulkId:{}", new_user_bulk_id(*n))})
            }
            Member::Group(id) => serde_json::json!({"type": "Group", "value": id}),
        }
    }
}

/// The bulkId of the n-th user a plan creates.
pub(crate) fn new_user_bulk_id(n: usize) -> String {
    format!("user{n}")
}

/// The members a current group has.
pub(crate) fn current_members(group: &Attributes) -> BTreeSet<Member> {
    group
        .get("members")
        .as_ref()
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| {
                    let value = value_of(m)?.to_owned();
                    let is_group = m.get("type").and_then(Value::as_str) == Some("Group");
                    Some(if is_group {
                        Member::Group(value)
                    } else {
                        Member::User(value)
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the memberships of every group should be, as far as the desired files say.
pub(crate) struct Targets {
    /// Groups whose whole membership is given (a desired group with `members`).
    pub(crate) exact: BTreeMap<String, BTreeSet<Member>>,
    /// Members to be in a group whatever else it has.
    pub(crate) add: BTreeMap<String, BTreeSet<Member>>,
    /// Members to leave a group (unless its desired `members` name them).
    pub(crate) remove: BTreeMap<String, BTreeSet<Member>>,
    /// Every group id a desired file names (documents, members' groups, users' `groups`).
    pub(crate) named: HashSet<String>,
}

impl Targets {
    /// The members `group` should have, given the ones it has.
    pub(crate) fn members_of(&self, group: &str, have: &BTreeSet<Member>) -> BTreeSet<Member> {
        let mut members = match self.exact.get(group) {
            Some(exact) => exact.clone(),
            None => have.clone(),
        };
        if let Some(remove) = self.remove.get(group) {
            let keep = self.exact.get(group);
            members.retain(|m| !remove.contains(m) || keep.is_some_and(|k| k.contains(m)));
        }
        if let Some(add) = self.add.get(group) {
            members.extend(add.iter().cloned());
        }
        members
    }
}

/// How a desired user is a member: the existing user, or the n-th created.
pub(crate) fn user_members(matches: &[Match], current: &Current) -> Vec<Option<Member>> {
    let mut created = 0;
    matches
        .iter()
        .map(|m| match m {
            Match::Existing(i) => current.users[*i]
                .plain_str("id")
                .map(|id| Member::User(id.to_owned())),
            Match::New => {
                created += 1;
                Some(Member::NewUser(created - 1))
            }
        })
        .collect()
}

/// The groups as the planner looks them up: which ids exist, who is in each current group,
/// and which current groups each member is in (built once, so that planning stays linear).
pub(crate) struct GroupIndex<'a> {
    ids: HashSet<&'a str>,
    members: HashMap<&'a str, BTreeSet<Member>>,
    groups_of: HashMap<Member, Vec<&'a str>>,
}

impl<'a> GroupIndex<'a> {
    pub(crate) fn new(desired: &'a Desired, current: &'a Current) -> Self {
        let mut index = GroupIndex {
            ids: desired
                .groups
                .iter()
                .filter_map(DesiredResource::id)
                .collect(),
            members: HashMap::new(),
            groups_of: HashMap::new(),
        };
        for group in &current.groups {
            let Some(id) = group.plain_str("id") else {
                continue;
            };
            let members = current_members(group);
            for member in &members {
                index.groups_of.entry(member.clone()).or_default().push(id);
            }
            index.ids.insert(id);
            index.members.insert(id, members);
        }
        index
    }

    /// Whether a group with this id exists or is described.
    pub(crate) fn exists(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// The members current group `id` has (none for a group not yet there).
    pub(crate) fn members(&self, id: &str) -> BTreeSet<Member> {
        self.members.get(id).cloned().unwrap_or_default()
    }

    /// The current groups `member` is in.
    fn groups_of(&self, member: &Member) -> &[&'a str] {
        self.groups_of.get(member).map_or(&[], Vec::as_slice)
    }
}

/// Everything the planner needs to resolve members.
pub(crate) struct Context<'a> {
    pub(crate) desired: &'a Desired,
    pub(crate) current: &'a Current,
    pub(crate) users: &'a UserIndex<'a>,
    pub(crate) groups: &'a GroupIndex<'a>,
    /// The desired user holding each value of the key.
    pub(crate) desired_by_key: HashMap<String, usize>,
    /// The member each desired user is.
    pub(crate) user_members: &'a [Option<Member>],
    pub(crate) exact_groups: Option<&'a str>,
}

impl Context<'_> {
    /// A desired `members` element: by the key of a desired user, then of an existing
    /// user, then by an existing user's id; a `Group` member by group id.
    fn resolve(
        &self,
        element: &Value,
        origin: &Origin,
        group: &str,
        problems: &mut Problems,
    ) -> Option<Member> {
        let Some(value) = value_of(element) else {
            problems.add(
                Some(origin),
                format!("group {group:?}: a member without a value"),
            );
            return None;
        };
        if element.get("type").and_then(Value::as_str) == Some("Group") {
            if !self.groups.exists(value) {
                problems.add(
                    Some(origin),
                    format!(
                        "group {group:?}: member group {value:?} neither exists nor is described"
                    ),
                );
                return None;
            }
            return Some(Member::Group(value.to_owned()));
        }
        let key = self.users.key();
        if let Some(&n) = self.desired_by_key.get(value) {
            return self.user_members[n].clone();
        }
        let existing = match self.users.by_key(value) {
            [one] => Some(*one),
            [] => self.users.by_id(value),
            _ => {
                problems.add(
                    Some(origin),
                    format!("group {group:?}: member {value:?} is the key of several users"),
                );
                return None;
            }
        };
        match existing.and_then(|i| self.current.users[i].plain_str("id")) {
            Some(id) => Some(Member::User(id.to_owned())),
            None => {
                problems.add(
                    Some(origin),
                    format!(
                        "group {group:?}: member {value:?} is no user's {} or id",
                        key.attribute()
                    ),
                );
                None
            }
        }
    }
}

/// The membership targets of the desired state.
pub(crate) fn targets(context: &Context<'_>, problems: &mut Problems) -> Targets {
    let mut targets = Targets {
        exact: BTreeMap::new(),
        add: BTreeMap::new(),
        remove: BTreeMap::new(),
        named: HashSet::new(),
    };
    for group in &context.desired.groups {
        let Some(id) = group.id() else { continue };
        targets.named.insert(id.to_owned());
        if let Some(members) = &group.attributes.get("members") {
            let exact = desired_members(context, group, id, members, problems);
            for member in &exact {
                if let Member::Group(g) = member {
                    targets.named.insert(g.clone());
                }
            }
            targets.exact.insert(id.to_owned(), exact);
        }
    }
    for (user, member) in context.desired.users.iter().zip(context.user_members) {
        let (Some(groups), Some(member)) = (&user.groups, member) else {
            continue;
        };
        for group in groups {
            targets.named.insert(group.clone());
            if !context.groups.exists(group) {
                problems.add(
                    Some(&user.origin),
                    format!("groups: {group:?} neither exists nor is described in a desired file"),
                );
                continue;
            }
            targets
                .add
                .entry(group.clone())
                .or_default()
                .insert(member.clone());
        }
        if let Some(prefix) = context.exact_groups {
            leave_unnamed_groups(context, prefix, groups, member, &mut targets);
        }
    }
    targets
}

fn desired_members(
    context: &Context<'_>,
    group: &DesiredResource,
    id: &str,
    members: &Value,
    problems: &mut Problems,
) -> BTreeSet<Member> {
    match members {
        Value::Null => BTreeSet::new(),
        Value::Array(elements) => elements
            .iter()
            .filter_map(|e| context.resolve(e, &group.origin, id, problems))
            .collect(),
        _ => {
            problems.add(
                Some(&group.origin),
                format!("group {id:?}: members must be an array"),
            );
            BTreeSet::new()
        }
    }
}

/// With `--exact-groups PREFIX`: the groups of that prefix that hold `member` and that its
/// row does not name, it leaves.
fn leave_unnamed_groups(
    context: &Context<'_>,
    prefix: &str,
    named: &[String],
    member: &Member,
    targets: &mut Targets,
) {
    for id in context.groups.groups_of(member) {
        if id.starts_with(prefix) && !named.iter().any(|n| n == id) {
            targets
                .remove
                .entry((*id).to_owned())
                .or_default()
                .insert(member.clone());
        }
    }
}
