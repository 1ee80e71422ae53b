//! The in-memory store: users, groups and services with mAP's uniqueness and reference rules,
//! and the counters tests use to prove nothing was applied twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use map_entities::{MapGroup, MapService, MapUser};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::OpError;
use crate::membership::{Memberships, Side, set_link};
use crate::patch::apply_patch;
use crate::resource::{
    REFERENCES, Resource, ResourceType, group_ids, is_valid_id, referred, written,
};

/// What the server applied, for tests that must prove nothing was applied twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// `POST …/Bulk` requests received, whatever became of them.
    pub bulk_requests: u64,
    /// Bulk requests refused whole (401, 400, 413) without applying anything.
    pub bulk_requests_refused: u64,
    /// Bulk requests answered with an injected fault instead of being processed normally.
    pub faults_injected: u64,
    /// Bulk requests answered 429 because [`crate::Load::capacity`] requests were being
    /// processed already (not processed).
    pub throttled_capacity: u64,
    /// Bulk requests answered 429 because [`crate::Load::rate`] was spent (not processed).
    pub throttled_rate: u64,
    /// Operations (bulk or direct) that succeeded.
    pub operations_applied: u64,
    /// Operations (bulk or direct) that failed.
    pub operations_failed: u64,
    /// Successful bulk POSTs per `bulkId` (not kept in null mode).
    pub applied_by_bulk_id: BTreeMap<String, u64>,
    /// Successful operations per resource path, e.g. `/Users/00000000000a` (not kept in null
    /// mode).
    pub applied_by_resource: BTreeMap<String, u64>,
}

/// Every resource of the store at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The users, by id.
    pub users: Vec<MapUser>,
    /// The groups, by id.
    pub groups: Vec<MapGroup>,
    /// The services, by id.
    pub services: Vec<MapService>,
}

pub(crate) struct Store {
    /// Resources as stored: users and services without `groups` (that side of each
    /// membership is the groups' `members` and `services`), references without `$ref`.
    resources: [BTreeMap<String, Resource>; 3],
    eppns: HashMap<String, String>,
    memberships: Memberships,
    next_id: u64,
    base_url: String,
    /// The user the token belongs to (`/Self`, `meta.createdBy`), if there is one.
    self_id: Option<String>,
    pub(crate) counters: Counters,
}

impl Store {
    pub(crate) fn new(base_url: String) -> Self {
        Store {
            resources: Default::default(),
            eppns: HashMap::new(),
            memberships: Memberships::default(),
            next_id: 0,
            base_url,
            self_id: None,
            counters: Counters::default(),
        }
    }

    /// The URL of a resource.
    pub(crate) fn location(&self, kind: ResourceType, id: &str) -> String {
        format!("{}/api/v2/{}/{id}", self.base_url, kind.endpoint())
    }

    fn stored(&self, kind: ResourceType, id: &str) -> Option<&Resource> {
        self.resources[kind.index()].get(id)
    }

    /// Whether the resource `id` exists.
    pub(crate) fn exists(&self, kind: ResourceType, id: &str) -> bool {
        self.stored(kind, id).is_some()
    }

    /// The resource `id` as the API shows it.
    pub(crate) fn get(&self, kind: ResourceType, id: &str) -> Option<Resource> {
        self.stored(kind, id).map(|r| self.render(kind, r))
    }

    /// Every resource of `kind` as stored, in id order ([`Store::render`] shows one as the
    /// API does).
    pub(crate) fn stored_all(
        &self,
        kind: ResourceType,
    ) -> impl ExactSizeIterator<Item = &Resource> + '_ {
        self.resources[kind.index()].values()
    }

    /// The user holding `eppn`, as the API shows it.
    pub(crate) fn user_by_eppn(&self, eppn: &str) -> Option<Resource> {
        self.get(ResourceType::User, self.eppns.get(eppn)?)
    }

    /// The user the token belongs to.
    pub(crate) fn self_user(&self) -> Option<Resource> {
        self.get(ResourceType::User, self.self_id.as_deref()?)
    }

    /// Stores `user` as the token's own user (`/Self`).
    pub(crate) fn seed_self_user(&mut self, user: Value, now: &str) -> Result<String, OpError> {
        let (id, _) = self.create(ResourceType::User, user, now)?;
        self.self_id = Some(id.clone());
        Ok(id)
    }

    /// Creates a resource from `data`; returns its id and what the API shows of it.
    pub(crate) fn create(
        &mut self,
        kind: ResourceType,
        data: Value,
        now: &str,
    ) -> Result<(String, Resource), OpError> {
        let mut resource = written(kind, data)?;
        let id = match kind {
            // Users get a server id; groups and services take theirs from the data if given.
            ResourceType::User => None,
            ResourceType::Group | ResourceType::Service => match resource.get("id") {
                Some(Value::String(id)) => Some(id.clone()),
                Some(_) => return Err(OpError::invalid_value("id must be a string")),
                None => None,
            },
        };
        let id = match id {
            Some(id) if !is_valid_id(&id) => return Err(OpError::invalid_id(&id)),
            Some(id) if self.exists(kind, &id) => return Err(OpError::duplicate_id(&id)),
            Some(id) => id,
            None => self.fresh_id(kind),
        };
        resource.insert("id".to_owned(), Value::String(id.clone()));
        let mut meta = json!({"resourceType": kind.name(), "created": now, "lastModified": now});
        if let (ResourceType::User, Some(owner)) = (kind, &self.self_id) {
            meta["createdBy"] = Value::String(owner.clone());
        }
        resource.insert("meta".to_owned(), meta);
        self.commit(kind, &id, resource)?;
        Ok((id.clone(), self.get(kind, &id).unwrap_or_default()))
    }

    /// Replaces the resource `id` with `data`, keeping its id and creation time.
    pub(crate) fn replace(
        &mut self,
        kind: ResourceType,
        id: &str,
        data: Value,
        now: &str,
    ) -> Result<Resource, OpError> {
        let old = self
            .stored(kind, id)
            .ok_or_else(|| OpError::not_found(id))?;
        let meta = old.get("meta").cloned();
        let mut resource = written(kind, data)?;
        resource.insert("id".to_owned(), Value::String(id.to_owned()));
        if let Some(mut meta) = meta {
            meta["lastModified"] = Value::String(now.to_owned());
            resource.insert("meta".to_owned(), meta);
        }
        self.commit(kind, id, resource)?;
        Ok(self.get(kind, id).unwrap_or_default())
    }

    /// Applies `patch` (a PatchOp document or one bare patch operation) to the resource `id`
    /// as the API shows it, so a user's or service's `groups` may be patched too.
    pub(crate) fn patch(
        &mut self,
        kind: ResourceType,
        id: &str,
        patch: &Value,
        now: &str,
    ) -> Result<Resource, OpError> {
        let mut resource = self.get(kind, id).ok_or_else(|| OpError::not_found(id))?;
        apply_patch(&mut resource, patch)?;
        if kind.side().is_some() && resource.get("groups").is_none_or(Value::is_null) {
            // The patch removed every membership (a `groups` left out is left as it is).
            resource.insert("groups".to_owned(), Value::Array(Vec::new()));
        }
        self.replace(kind, id, Value::Object(resource), now)
    }

    /// Deletes the resource `id`, every membership it had and every reference to it.
    pub(crate) fn delete(&mut self, kind: ResourceType, id: &str) -> Result<(), OpError> {
        if !self.exists(kind, id) {
            return Err(OpError::not_found(id));
        }
        if let Some(side) = kind.side() {
            self.set_memberships(side, id, &BTreeSet::new());
        }
        self.drop_references_to(kind, id);
        let old = self.resources[kind.index()].remove(id);
        match (kind, &old) {
            (ResourceType::User, Some(old)) => self.unindex_user(old),
            (ResourceType::Group, old) => self.memberships.group_changed(id, old.as_ref(), None),
            _ => {}
        }
        Ok(())
    }

    /// Takes every reference to `kind`/`id` out of the groups and services that hold one.
    fn drop_references_to(&mut self, kind: ResourceType, id: &str) {
        for holder in [ResourceType::Group, ResourceType::Service] {
            let ids: Vec<String> = self.resources[holder.index()].keys().cloned().collect();
            for holder_id in ids {
                let Some(old) = self.stored(holder, &holder_id) else {
                    continue;
                };
                let mut changed = old.clone();
                for &(attribute, default) in holder.references() {
                    if let Some(Value::Array(elements)) = changed.get_mut(attribute) {
                        elements.retain(|e| referred(e, default) != Some((kind, id)));
                    }
                }
                if changed != *old {
                    if holder == ResourceType::Group {
                        let old = old.clone();
                        self.memberships
                            .group_changed(&holder_id, Some(&old), Some(&changed));
                    }
                    self.resources[holder.index()].insert(holder_id, changed);
                }
            }
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        fn typed<T: for<'de> Deserialize<'de>>(
            resources: impl Iterator<Item = Resource>,
        ) -> Vec<T> {
            resources
                .filter_map(|r| T::deserialize(&Value::Object(r)).ok())
                .collect()
        }
        Snapshot {
            users: typed(
                self.stored_all(ResourceType::User)
                    .map(|r| self.render(ResourceType::User, r)),
            ),
            groups: typed(
                self.stored_all(ResourceType::Group)
                    .map(|r| self.render(ResourceType::Group, r)),
            ),
            services: typed(
                self.stored_all(ResourceType::Service)
                    .map(|r| self.render(ResourceType::Service, r)),
            ),
        }
    }

    /// Records a successful operation on `kind`/`id`.
    pub(crate) fn count_applied(&mut self, kind: ResourceType, id: &str) {
        self.counters.operations_applied += 1;
        let key = format!("/{}/{id}", kind.endpoint());
        *self.counters.applied_by_resource.entry(key).or_default() += 1;
    }

    /// Checks `resource` and stores it under `id`, with the memberships its `groups` name
    /// (a user's or service's; absent: left as they are).
    fn commit(
        &mut self,
        kind: ResourceType,
        id: &str,
        mut resource: Resource,
    ) -> Result<(), OpError> {
        let groups = match kind.side() {
            Some(_) => resource
                .remove("groups")
                .map(|g| group_ids(&g))
                .transpose()?,
            None => None,
        };
        kind.validate(&resource)?;
        self.check_references(kind, &resource)?;
        if let Some(groups) = &groups {
            for group in groups {
                self.must_exist(ResourceType::Group, group)?;
            }
        }
        if kind == ResourceType::User {
            if resource.get("userName").and_then(Value::as_str).is_none() {
                return Err(OpError::invalid_value("userName is required"));
            }
            self.check_eppns_free(id, &resource)?;
        }
        let old = self.resources[kind.index()].insert(id.to_owned(), resource);
        let new = &self.resources[kind.index()][id];
        match kind {
            ResourceType::User => {
                if let Some(old) = &old {
                    unindex_eppns(&mut self.eppns, old);
                }
                let new = new.clone();
                self.index_user(id, &new);
            }
            ResourceType::Group => {
                let new = new.clone();
                self.memberships.group_changed(id, old.as_ref(), Some(&new));
            }
            ResourceType::Service => {}
        }
        if let (Some(side), Some(groups)) = (kind.side(), groups) {
            self.set_memberships(side, id, &groups);
        }
        Ok(())
    }

    /// Makes `id` (a user or service) linked from exactly the groups `wanted`, which the
    /// caller has checked exist.
    fn set_memberships(&mut self, side: Side, id: &str, wanted: &BTreeSet<String>) {
        let current: BTreeSet<String> = self
            .memberships
            .groups_of(side, id)
            .map(str::to_owned)
            .collect();
        for group_id in current.symmetric_difference(wanted) {
            let groups = &mut self.resources[ResourceType::Group.index()];
            let Some(old) = groups.get(group_id).cloned() else {
                continue;
            };
            let mut group = old.clone();
            set_link(&mut group, side, id, wanted.contains(group_id));
            self.memberships
                .group_changed(group_id, Some(&old), Some(&group));
            groups.insert(group_id.clone(), group);
        }
    }

    /// The resource as the API shows it: a user's or service's `groups` from the groups
    /// that link to it, and `$ref` (and `display`, when known) on every reference.
    pub(crate) fn render(&self, kind: ResourceType, stored: &Resource) -> Resource {
        let mut resource = stored.clone();
        let id = stored.get("id").and_then(Value::as_str).unwrap_or_default();
        if let Some(side) = kind.side() {
            let groups: Vec<Value> = self
                .memberships
                .groups_of(side, id)
                .map(|g| json!({"value": g, "$ref": self.location(ResourceType::Group, g)}))
                .collect();
            if !groups.is_empty() {
                resource.insert("groups".to_owned(), Value::Array(groups));
            }
        }
        for (attribute, default) in REFERENCES {
            let Some(Value::Array(elements)) = resource.get_mut(attribute) else {
                continue;
            };
            for element in elements.iter_mut() {
                let Some((target, value)) = referred(element, default) else {
                    continue;
                };
                let reference = self.location(target, value);
                let display = self.display_name(target, value);
                let Some(fields) = element.as_object_mut() else {
                    continue;
                };
                if let Some(display) = display {
                    fields.insert("display".to_owned(), Value::String(display));
                }
                fields.insert("$ref".to_owned(), Value::String(reference));
            }
        }
        resource
    }

    /// What a reference to `id` shows as its `display`.
    fn display_name(&self, kind: ResourceType, id: &str) -> Option<String> {
        let attribute = match kind {
            ResourceType::User => "userName",
            ResourceType::Group => "displayName",
            ResourceType::Service => "serviceName",
        };
        Some(self.stored(kind, id)?.get(attribute)?.as_str()?.to_owned())
    }

    fn fresh_id(&mut self, kind: ResourceType) -> String {
        loop {
            self.next_id += 1;
            let id = format!("{:012x}", self.next_id);
            if !self.exists(kind, &id) {
                return id;
            }
        }
    }

    fn must_exist(&self, kind: ResourceType, id: &str) -> Result<(), OpError> {
        if self.exists(kind, id) {
            Ok(())
        } else {
            Err(OpError::not_found(id))
        }
    }

    /// Members, administrators and services must exist.
    fn check_references(&self, kind: ResourceType, resource: &Resource) -> Result<(), OpError> {
        for &(attribute, default) in kind.references() {
            let elements = resource.get(attribute).and_then(Value::as_array);
            for (target, id) in elements
                .into_iter()
                .flatten()
                .filter_map(|e| referred(e, default))
            {
                self.must_exist(target, id)?;
            }
        }
        Ok(())
    }

    /// An ePPN belongs to one user (userName is a display name, not unique).
    fn check_eppns_free(&self, id: &str, resource: &Resource) -> Result<(), OpError> {
        for eppn in eppns(resource) {
            if self.eppns.get(eppn).is_some_and(|owner| owner != id) {
                return Err(OpError::new(
                    409,
                    "uniqueness",
                    format!("{eppn} is already tied to another account"),
                ));
            }
        }
        Ok(())
    }

    fn index_user(&mut self, id: &str, resource: &Resource) {
        for eppn in eppns(resource) {
            self.eppns.insert(eppn.to_owned(), id.to_owned());
        }
    }

    fn unindex_user(&mut self, resource: &Resource) {
        unindex_eppns(&mut self.eppns, resource);
    }
}

fn unindex_eppns(index: &mut HashMap<String, String>, resource: &Resource) {
    for eppn in eppns(resource) {
        index.remove(eppn);
    }
}

fn eppns(resource: &Resource) -> impl Iterator<Item = &str> {
    resource
        .get("eduPersonPrincipalNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|eppn| eppn.get("value")?.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use map_entities::USER_SCHEMA;

    const NOW: &str = "2025-04-01T00:00:00Z";

    fn store() -> Store {
        Store::new("http://sim".into())
    }

    fn user(name: &str, eppn: &str) -> Value {
        json!({"userName": name, "eduPersonPrincipalNames": [{"value": eppn}]})
    }

    #[test]
    fn user_names_are_display_names_and_eppns_are_keys() {
        let mut store = store();
        let (id, user_a) = store
            .create(ResourceType::User, user("John Doe", "a@idp"), NOW)
            .unwrap();
        assert_eq!(
            user_a["meta"],
            json!({"resourceType": "User", "created": NOW, "lastModified": NOW}),
            "mAP Core's meta: no location, no version"
        );
        // A second John Doe is another person.
        store
            .create(ResourceType::User, user("John Doe", "b@idp"), NOW)
            .unwrap();
        let tied = store
            .create(ResourceType::User, user("Jane", "a@idp"), NOW)
            .unwrap_err();
        assert_eq!(
            (tied.status, tied.detail.as_str()),
            (409, "a@idp is already tied to another account")
        );
        // Giving up an ePPN frees it.
        store
            .replace(ResourceType::User, &id, user("John Doe", "c@idp"), NOW)
            .unwrap();
        store
            .create(ResourceType::User, user("Jane", "a@idp"), NOW)
            .unwrap();
    }

    #[test]
    fn nulls_are_absent_and_server_fields_are_the_server_s() {
        let mut store = store();
        let (id, created) = store
            .create(
                ResourceType::User,
                json!({"schemas": [USER_SCHEMA], "id": null, "externalId": null, "userName": "A",
                    "meta": null, "emails": [{"value": "a@x", "display": null}], "groups": null,
                    "eduPersonPrincipalNames": [{"value": "a@idp", "idpEntityId": null}]}),
                NOW,
            )
            .unwrap();
        assert_eq!(
            Value::Object(created),
            json!({"schemas": [USER_SCHEMA], "id": id, "userName": "A",
                "emails": [{"value": "a@x"}], "eduPersonPrincipalNames": [{"value": "a@idp"}],
                "meta": {"resourceType": "User", "created": NOW, "lastModified": NOW}})
        );
    }

    #[test]
    fn groups_keep_their_id_and_need_existing_members() {
        let mut store = store();
        let missing = store
            .create(
                ResourceType::Group,
                json!({"id": "g1", "members": [{"type": "User", "value": "nobody"}]}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(
            (missing.status, missing.scim_type, missing.detail.as_str()),
            (400, "invalidValue", "'nobody' Not Found")
        );
        let (id, _) = store
            .create(ResourceType::Group, json!({"id": "g1"}), NOW)
            .unwrap();
        assert_eq!(id, "g1");
        let duplicate = store
            .create(ResourceType::Group, json!({"id": "g1"}), NOW)
            .unwrap_err();
        assert_eq!(
            (duplicate.status, duplicate.detail.as_str()),
            (409, "Duplicate id 'g1'")
        );
        let invalid = store
            .create(ResourceType::Service, json!({"id": "a/b"}), NOW)
            .unwrap_err();
        assert_eq!((invalid.status, invalid.scim_type), (400, "invalidId"));
    }

    #[test]
    fn membership_written_on_either_side_shows_on_both() {
        let mut store = store();
        let (u1, _) = store
            .create(ResourceType::User, user("A", "a@idp"), NOW)
            .unwrap();
        let (u2, _) = store
            .create(ResourceType::User, user("B", "b@idp"), NOW)
            .unwrap();
        store
            .create(
                ResourceType::Group,
                json!({"id": "g1", "members": [{"type": "User", "value": u1}]}),
                NOW,
            )
            .unwrap();
        store
            .create(ResourceType::Group, json!({"id": "g2"}), NOW)
            .unwrap();
        let a = store.get(ResourceType::User, &u1).unwrap();
        assert_eq!(
            a["groups"],
            json!([{"value": "g1", "$ref": "http://sim/api/v2/Groups/g1"}])
        );
        // From the user's side: B joins g1 and g2 by a PATCH of its groups.
        store
            .patch(
                ResourceType::User,
                &u2,
                &json!({"op": "add", "path": "groups", "value": [{"value": "g1"}, {"value": "g2"}]}),
                NOW,
            )
            .unwrap();
        let g1 = store.get(ResourceType::Group, "g1").unwrap();
        let members: Vec<&str> = g1["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members, [u1.as_str(), u2.as_str()]);
        assert_eq!(
            g1["members"][0]["$ref"],
            format!("http://sim/api/v2/Users/{u1}")
        );
        assert_eq!(g1["members"][0]["display"], "A");
        // And leaves both as mAP Core's client writes it.
        store
            .patch(
                ResourceType::User,
                &u2,
                &json!({"op": "remove", "path": "groups[(value eq 'g1') or (value eq 'g2')]"}),
                NOW,
            )
            .unwrap();
        assert_eq!(
            store.get(ResourceType::User, &u2).unwrap().get("groups"),
            None
        );
        assert_eq!(
            store.get(ResourceType::Group, "g1").unwrap()["members"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Joining a group that does not exist changes nothing.
        let error = store
            .patch(ResourceType::User, &u2, &json!({"op": "add", "path": "groups", "value": [{"value": "g1"}, {"value": "nope"}]}), NOW)
            .unwrap_err();
        assert_eq!(error.detail, "'nope' Not Found");
        assert_eq!(
            store.get(ResourceType::Group, "g1").unwrap()["members"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Deleting the group takes it out of its members' groups.
        store.delete(ResourceType::Group, "g1").unwrap();
        assert_eq!(
            store.get(ResourceType::User, &u1).unwrap().get("groups"),
            None
        );
    }

    #[test]
    fn services_see_the_groups_that_name_them() {
        let mut store = store();
        store
            .create(
                ResourceType::Service,
                json!({"id": "s1", "serviceName": "Repo"}),
                NOW,
            )
            .unwrap();
        store
            .create(
                ResourceType::Group,
                json!({"id": "g1", "services": [{"value": "s1", "administratorOfGroup": 1}]}),
                NOW,
            )
            .unwrap();
        let service = store.get(ResourceType::Service, "s1").unwrap();
        assert_eq!(service["groups"][0]["value"], "g1");
        let group = store.get(ResourceType::Group, "g1").unwrap();
        assert_eq!(group["services"][0]["display"], "Repo");
        assert_eq!(group["services"][0]["administratorOfGroup"], 1);
    }

    #[test]
    fn delete_then_not_found() {
        let mut store = store();
        let (id, _) = store
            .create(ResourceType::User, user("a", "a@idp"), NOW)
            .unwrap();
        store
            .create(
                ResourceType::Group,
                json!({"id": "g", "members": [{"value": id}]}),
                NOW,
            )
            .unwrap();
        store.delete(ResourceType::User, &id).unwrap();
        let again = store.delete(ResourceType::User, &id).unwrap_err();
        assert_eq!(
            (again.status, again.detail),
            (400, format!("'{id}' Not Found"))
        );
        assert!(store.eppns.is_empty());
        assert_eq!(
            store.get(ResourceType::Group, "g").unwrap()["members"],
            json!([])
        );
    }

    #[test]
    fn removing_a_user_s_groups_leaves_every_group() {
        let mut store = store();
        let (u, _) = store
            .create(ResourceType::User, user("A", "a@idp"), NOW)
            .unwrap();
        store
            .create(
                ResourceType::Group,
                json!({"id": "g1", "members": [{"value": u}]}),
                NOW,
            )
            .unwrap();
        for patch in [
            json!({"op": "remove", "path": "groups"}),
            json!({"op": "replace", "value": {"groups": null}}),
        ] {
            store
                .patch(
                    ResourceType::User,
                    &u,
                    &json!({"op": "add", "path": "groups", "value": [{"value": "g1"}]}),
                    NOW,
                )
                .unwrap();
            let after = store.patch(ResourceType::User, &u, &patch, NOW).unwrap();
            assert_eq!(after.get("groups"), None, "{patch}");
            assert_eq!(
                store.get(ResourceType::Group, "g1").unwrap()["members"],
                json!([]),
                "{patch}"
            );
        }
        // A PUT without groups leaves memberships as they are.
        store
            .patch(
                ResourceType::User,
                &u,
                &json!({"op": "add", "path": "Groups", "value": [{"value": "g1"}]}),
                NOW,
            )
            .unwrap();
        store
            .replace(ResourceType::User, &u, user("A2", "a@idp"), NOW)
            .unwrap();
        assert_eq!(
            store.get(ResourceType::User, &u).unwrap()["groups"][0]["value"],
            "g1"
        );
    }

    #[test]
    fn deleting_leaves_no_reference_behind() {
        let mut store = store();
        let (admin, _) = store
            .create(ResourceType::User, user("A", "a@idp"), NOW)
            .unwrap();
        store
            .create(ResourceType::Group, json!({"id": "inner"}), NOW)
            .unwrap();
        store
            .create(
                ResourceType::Group,
                json!({"id": "outer", "administrators": [{"value": admin}],
                "members": [{"type": "Group", "value": "inner"}]}),
                NOW,
            )
            .unwrap();
        store
            .create(
                ResourceType::Service,
                json!({"id": "s", "administrators": [{"value": admin}]}),
                NOW,
            )
            .unwrap();
        store.delete(ResourceType::User, &admin).unwrap();
        store.delete(ResourceType::Group, "inner").unwrap();
        let outer = store.get(ResourceType::Group, "outer").unwrap();
        assert_eq!(
            (&outer["administrators"], &outer["members"]),
            (&json!([]), &json!([]))
        );
        assert_eq!(
            store.get(ResourceType::Service, "s").unwrap()["administrators"],
            json!([])
        );
        // So an unrelated change still goes through.
        store
            .patch(
                ResourceType::Group,
                "outer",
                &json!({"op": "replace", "path": "displayName", "value": "O"}),
                NOW,
            )
            .unwrap();
    }
}
