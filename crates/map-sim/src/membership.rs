//! Membership is one fact seen from two sides: a group's `members` (of type User) are the
//! users whose `groups` list it, and a group's `services` are the services whose `groups`
//! list it. Groups store the fact; [`Memberships`] indexes it for the other side, which
//! shows it when rendered and changes it by writing to its own `groups`.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::resource::Resource;

/// The side of a membership that a group does not store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `Group.members` of type User ↔ `User.groups`.
    User,
    /// `Group.services` ↔ `Service.groups`.
    Service,
}

impl Side {
    /// The group attribute that stores this side's links.
    pub(crate) fn group_attribute(self) -> &'static str {
        match self {
            Side::User => "members",
            Side::Service => "services",
        }
    }

    /// Whether an element of that attribute links to this side.
    fn links(self, element: &Value) -> bool {
        match self {
            // A member without a type is a user, as mAP Core's own client writes them.
            Side::User => element
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "User"),
            Side::Service => true,
        }
    }

    /// The element a group stores for a link to `id`.
    pub(crate) fn element(self, id: &str) -> Value {
        match self {
            Side::User => json!({"type": "User", "value": id}),
            Side::Service => json!({"value": id}),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// For each user and service, the groups that link to it.
#[derive(Debug, Default)]
pub(crate) struct Memberships {
    groups_of: [HashMap<String, BTreeSet<String>>; 2],
}

impl Memberships {
    /// The ids `group` links to on `side`.
    pub(crate) fn linked(group: &Resource, side: Side) -> impl Iterator<Item = &str> {
        group
            .get(side.group_attribute())
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(move |element| side.links(element))
            .filter_map(|element| element.get("value")?.as_str())
    }

    /// The groups that link to `id` on `side`, in id order.
    pub(crate) fn groups_of(&self, side: Side, id: &str) -> impl Iterator<Item = &str> {
        self.groups_of[side.index()]
            .get(id)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Records that group `group_id` changed from `old` to `new` (either absent: created or
    /// deleted).
    pub(crate) fn group_changed(
        &mut self,
        group_id: &str,
        old: Option<&Resource>,
        new: Option<&Resource>,
    ) {
        for side in [Side::User, Side::Service] {
            let index = &mut self.groups_of[side.index()];
            for id in old.into_iter().flat_map(|g| Self::linked(g, side)) {
                if let Some(groups) = index.get_mut(id) {
                    groups.remove(group_id);
                    if groups.is_empty() {
                        index.remove(id);
                    }
                }
            }
            for id in new.into_iter().flat_map(|g| Self::linked(g, side)) {
                index
                    .entry(id.to_owned())
                    .or_default()
                    .insert(group_id.to_owned());
            }
        }
    }
}

/// Adds a link to `id` to `group` (once), or takes every link to it out.
pub(crate) fn set_link(group: &mut Resource, side: Side, id: &str, linked: bool) {
    let attribute = side.group_attribute();
    let elements = group
        .entry(attribute)
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(elements) = elements else {
        *elements = Value::Array(Vec::new());
        return set_link(group, side, id, linked);
    };
    let is_link = |e: &Value| side.links(e) && e.get("value").and_then(Value::as_str) == Some(id);
    if linked {
        if !elements.iter().any(is_link) {
            elements.push(side.element(id));
        }
    } else {
        elements.retain(|e| !is_link(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(members: Value) -> Resource {
        let Value::Object(group) = json!({"id": "g", "members": members}) else {
            unreachable!()
        };
        group
    }

    #[test]
    fn users_see_the_groups_whose_members_they_are() {
        let mut memberships = Memberships::default();
        let old = group(json!([{"type": "User", "value": "u1"}, {"type": "Group", "value": "g2"}]));
        memberships.group_changed("g", None, Some(&old));
        assert_eq!(
            memberships.groups_of(Side::User, "u1").collect::<Vec<_>>(),
            ["g"]
        );
        assert_eq!(
            memberships.groups_of(Side::User, "g2").count(),
            0,
            "a nested group is no user"
        );
        let new = group(json!([{"value": "u2"}]));
        memberships.group_changed("g", Some(&old), Some(&new));
        assert_eq!(memberships.groups_of(Side::User, "u1").count(), 0);
        assert_eq!(
            memberships.groups_of(Side::User, "u2").collect::<Vec<_>>(),
            ["g"]
        );
        memberships.group_changed("g", Some(&new), None);
        assert_eq!(memberships.groups_of(Side::User, "u2").count(), 0);
    }

    #[test]
    fn links_are_added_once_and_removed_whole() {
        let mut g = group(json!([{"type": "Group", "value": "u1"}]));
        set_link(&mut g, Side::User, "u1", true);
        set_link(&mut g, Side::User, "u1", true);
        assert_eq!(
            g["members"],
            json!([{"type": "Group", "value": "u1"}, {"type": "User", "value": "u1"}])
        );
        set_link(&mut g, Side::User, "u1", false);
        assert_eq!(g["members"], json!([{"type": "Group", "value": "u1"}]));
        set_link(&mut g, Side::Service, "s1", true);
        assert_eq!(g["services"], json!([{"value": "s1"}]));
    }
}
