//! The in-memory store: users, groups and services with mAP's uniqueness and reference rules,
//! and the counters tests use to prove nothing was applied twice.

use std::collections::{BTreeMap, HashMap};

use map_entities::{GROUP_SCHEMA, MapGroup, MapService, MapUser, SERVICE_SCHEMA, USER_SCHEMA};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::OpError;
use crate::patch::apply_patch;

/// A stored resource: its JSON attributes.
pub(crate) type Resource = Map<String, Value>;

/// The three kinds of mAP Core resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
    /// `/Services`.
    Service,
}

impl ResourceType {
    /// The kind whose endpoint is `name` (`Users`, `Groups`, `Services`).
    pub fn from_endpoint(name: &str) -> Option<Self> {
        match name {
            "Users" => Some(ResourceType::User),
            "Groups" => Some(ResourceType::Group),
            "Services" => Some(ResourceType::Service),
            _ => None,
        }
    }

    /// The endpoint name: `Users`, `Groups` or `Services`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "Users",
            ResourceType::Group => "Groups",
            ResourceType::Service => "Services",
        }
    }

    /// `User`, `Group` or `Service`, as in `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
            ResourceType::Service => "Service",
        }
    }

    fn schema(self) -> &'static str {
        match self {
            ResourceType::User => USER_SCHEMA,
            ResourceType::Group => GROUP_SCHEMA,
            ResourceType::Service => SERVICE_SCHEMA,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Checks that `data` is a well-formed resource of this kind.
    fn validate(self, data: &Value) -> Result<(), OpError> {
        let result = match self {
            ResourceType::User => MapUser::deserialize(data).map(drop),
            ResourceType::Group => MapGroup::deserialize(data).map(drop),
            ResourceType::Service => MapService::deserialize(data).map(drop),
        };
        result.map_err(|e| OpError::invalid_value(format!("invalid {}: {e}", self.name())))
    }
}

/// What the server applied, for tests that must prove nothing was applied twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// `POST …/Bulk` requests received, whatever became of them.
    pub bulk_requests: u64,
    /// Bulk requests refused whole (401, 400, 413) without applying anything.
    pub bulk_requests_refused: u64,
    /// Bulk requests answered with an injected fault instead of being processed normally.
    pub faults_injected: u64,
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
    resources: [BTreeMap<String, Resource>; 3],
    user_names: HashMap<String, String>,
    eppns: HashMap<String, String>,
    next_id: u64,
    base_url: String,
    pub(crate) counters: Counters,
}

impl Store {
    pub(crate) fn new(base_url: String) -> Self {
        Store {
            resources: Default::default(),
            user_names: HashMap::new(),
            eppns: HashMap::new(),
            next_id: 0,
            base_url,
            counters: Counters::default(),
        }
    }

    /// The URL of a resource.
    pub(crate) fn location(&self, kind: ResourceType, id: &str) -> String {
        format!("{}/api/v2/{}/{id}", self.base_url, kind.endpoint())
    }

    pub(crate) fn get(&self, kind: ResourceType, id: &str) -> Option<&Resource> {
        self.resources[kind.index()].get(id)
    }

    pub(crate) fn list(&self, kind: ResourceType) -> impl Iterator<Item = &Resource> {
        self.resources[kind.index()].values()
    }

    pub(crate) fn user_by_eppn(&self, eppn: &str) -> Option<&Resource> {
        let id = self.eppns.get(eppn)?;
        self.get(ResourceType::User, id)
    }

    /// Creates a resource from `data`; returns its id and stored form.
    pub(crate) fn create(
        &mut self,
        kind: ResourceType,
        data: Value,
        now: &str,
    ) -> Result<(String, Resource), OpError> {
        kind.validate(&data)?;
        let Value::Object(mut resource) = data else {
            return Err(OpError::invalid_value("data must be an object"));
        };
        let id = match kind {
            // Users get a server id; groups and services take theirs from the data if given.
            ResourceType::User => None,
            ResourceType::Group | ResourceType::Service => resource
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let id = match id {
            Some(id) if id.is_empty() => {
                return Err(OpError::invalid_value("id must not be empty"));
            }
            Some(id) if self.get(kind, &id).is_some() => return Err(OpError::duplicate_id(&id)),
            Some(id) => id,
            None => self.fresh_id(kind),
        };
        if kind == ResourceType::User && resource.get("userName").and_then(Value::as_str).is_none()
        {
            return Err(OpError::invalid_value("userName is required"));
        }
        self.check_references(kind, &resource)?;
        if kind == ResourceType::User {
            self.check_user_unique(&id, &resource)?;
        }
        resource
            .entry("schemas")
            .or_insert_with(|| json!([kind.schema()]));
        resource.insert("id".to_owned(), Value::String(id.clone()));
        resource.insert(
            "meta".to_owned(),
            json!({
                "resourceType": kind.name(),
                "created": now,
                "lastModified": now,
                "location": self.location(kind, &id),
            }),
        );
        if kind == ResourceType::User {
            self.index_user(&id, &resource);
        }
        self.resources[kind.index()].insert(id.clone(), resource.clone());
        Ok((id, resource))
    }

    /// Replaces the resource `id` with `data`, keeping its id and creation time.
    pub(crate) fn replace(
        &mut self,
        kind: ResourceType,
        id: &str,
        data: Value,
        now: &str,
    ) -> Result<Resource, OpError> {
        let old = self.get(kind, id).ok_or_else(|| OpError::not_found(id))?;
        let meta = old.get("meta").cloned();
        kind.validate(&data)?;
        let Value::Object(mut resource) = data else {
            return Err(OpError::invalid_value("data must be an object"));
        };
        resource.insert("id".to_owned(), Value::String(id.to_owned()));
        if let Some(meta) = meta {
            resource.insert("meta".to_owned(), meta);
        }
        resource
            .entry("schemas")
            .or_insert_with(|| json!([kind.schema()]));
        self.commit(kind, id, resource, now)
    }

    /// Applies the PatchOp document `patch` to the resource `id`.
    pub(crate) fn patch(
        &mut self,
        kind: ResourceType,
        id: &str,
        patch: &Value,
        now: &str,
    ) -> Result<Resource, OpError> {
        let mut resource = self
            .get(kind, id)
            .ok_or_else(|| OpError::not_found(id))?
            .clone();
        apply_patch(&mut resource, patch)?;
        let as_value = Value::Object(resource);
        kind.validate(&as_value)?;
        let Value::Object(resource) = as_value else {
            unreachable!("built from an object above")
        };
        self.commit(kind, id, resource, now)
    }

    /// Deletes the resource `id`.
    pub(crate) fn delete(&mut self, kind: ResourceType, id: &str) -> Result<(), OpError> {
        let old = self.resources[kind.index()]
            .remove(id)
            .ok_or_else(|| OpError::not_found(id))?;
        if kind == ResourceType::User {
            self.unindex_user(&old);
        }
        Ok(())
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        fn typed<T: for<'de> Deserialize<'de>>(resources: &BTreeMap<String, Resource>) -> Vec<T> {
            resources
                .values()
                .filter_map(|r| T::deserialize(&Value::Object(r.clone())).ok())
                .collect()
        }
        Snapshot {
            users: typed(&self.resources[ResourceType::User.index()]),
            groups: typed(&self.resources[ResourceType::Group.index()]),
            services: typed(&self.resources[ResourceType::Service.index()]),
        }
    }

    /// Records a successful operation on `kind`/`id`.
    pub(crate) fn count_applied(&mut self, kind: ResourceType, id: &str) {
        self.counters.operations_applied += 1;
        let key = format!("/{}/{id}", kind.endpoint());
        *self.counters.applied_by_resource.entry(key).or_default() += 1;
    }

    fn commit(
        &mut self,
        kind: ResourceType,
        id: &str,
        mut resource: Resource,
        now: &str,
    ) -> Result<Resource, OpError> {
        self.check_references(kind, &resource)?;
        if kind == ResourceType::User {
            if resource.get("userName").and_then(Value::as_str).is_none() {
                return Err(OpError::invalid_value("userName is required"));
            }
            self.check_user_unique(id, &resource)?;
        }
        if let Some(Value::Object(meta)) = resource.get_mut("meta") {
            meta.insert("lastModified".to_owned(), Value::String(now.to_owned()));
        }
        if kind == ResourceType::User {
            if let Some(old) = self.get(kind, id).cloned() {
                self.unindex_user(&old);
            }
            self.index_user(id, &resource);
        }
        self.resources[kind.index()].insert(id.to_owned(), resource.clone());
        Ok(resource)
    }

    fn fresh_id(&mut self, kind: ResourceType) -> String {
        loop {
            self.next_id += 1;
            let id = format!("{:012x}", self.next_id);
            if self.get(kind, &id).is_none() {
                return id;
            }
        }
    }

    /// Members, administrators and services must exist.
    fn check_references(&self, kind: ResourceType, resource: &Resource) -> Result<(), OpError> {
        let ids = |attribute: &str| -> Vec<(Option<String>, String)> {
            resource
                .get(attribute)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| {
                            let value = item.get("value")?.as_str()?.to_owned();
                            let member_type =
                                item.get("type").and_then(Value::as_str).map(str::to_owned);
                            Some((member_type, value))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let must_exist = |target: ResourceType, id: &str| {
            if self.get(target, id).is_some() {
                Ok(())
            } else {
                Err(OpError::not_found(id))
            }
        };
        match kind {
            ResourceType::User => Ok(()),
            ResourceType::Group => {
                for (member_type, id) in ids("members") {
                    let target = match member_type.as_deref() {
                        Some("Group") => ResourceType::Group,
                        _ => ResourceType::User,
                    };
                    must_exist(target, &id)?;
                }
                for (_, id) in ids("administrators") {
                    must_exist(ResourceType::User, &id)?;
                }
                for (_, id) in ids("services") {
                    must_exist(ResourceType::Service, &id)?;
                }
                Ok(())
            }
            ResourceType::Service => {
                for (_, id) in ids("administrators") {
                    must_exist(ResourceType::User, &id)?;
                }
                Ok(())
            }
        }
    }

    fn check_user_unique(&self, id: &str, resource: &Resource) -> Result<(), OpError> {
        if let Some(name) = resource.get("userName").and_then(Value::as_str) {
            if self.user_names.get(name).is_some_and(|owner| owner != id) {
                return Err(OpError::new(
                    409,
                    Some("uniqueness"),
                    format!("Duplicate userName '{name}'"),
                ));
            }
        }
        for eppn in eppns(resource) {
            if self.eppns.get(eppn).is_some_and(|owner| owner != id) {
                return Err(OpError::new(
                    409,
                    Some("uniqueness"),
                    format!("{eppn} is already tied to another account"),
                ));
            }
        }
        Ok(())
    }

    fn index_user(&mut self, id: &str, resource: &Resource) {
        if let Some(name) = resource.get("userName").and_then(Value::as_str) {
            self.user_names.insert(name.to_owned(), id.to_owned());
        }
        for eppn in eppns(resource) {
            self.eppns.insert(eppn.to_owned(), id.to_owned());
        }
    }

    fn unindex_user(&mut self, resource: &Resource) {
        if let Some(name) = resource.get("userName").and_then(Value::as_str) {
            self.user_names.remove(name);
        }
        for eppn in eppns(resource) {
            self.eppns.remove(eppn);
        }
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

    const NOW: &str = "2025-04-01T00:00:00Z";

    fn store() -> Store {
        Store::new("http://sim".into())
    }

    #[test]
    fn users_get_ids_and_unique_names_and_eppns() {
        let mut store = store();
        let (id, user) = store
            .create(
                ResourceType::User,
                json!({"userName": "alice", "eduPersonPrincipalNames": [{"value": "a@idp"}]}),
                NOW,
            )
            .unwrap();
        assert_eq!(
            user["meta"]["location"],
            format!("http://sim/api/v2/Users/{id}")
        );
        let duplicate = store
            .create(ResourceType::User, json!({"userName": "alice"}), NOW)
            .unwrap_err();
        assert_eq!(
            (duplicate.status, duplicate.detail.as_str()),
            (409, "Duplicate userName 'alice'")
        );
        let tied = store
            .create(
                ResourceType::User,
                json!({"userName": "bob", "eduPersonPrincipalNames": [{"value": "a@idp"}]}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(tied.detail, "a@idp is already tied to another account");
        // Renaming frees the old name.
        store
            .replace(ResourceType::User, &id, json!({"userName": "alice2"}), NOW)
            .unwrap();
        store
            .create(ResourceType::User, json!({"userName": "alice"}), NOW)
            .unwrap();
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
            (missing.status, missing.detail.as_str()),
            (404, "'nobody' Not Found")
        );
        let (id, _) = store
            .create(ResourceType::Group, json!({"id": "g1"}), NOW)
            .unwrap();
        assert_eq!(id, "g1");
        let duplicate = store
            .create(ResourceType::Group, json!({"id": "g1"}), NOW)
            .unwrap_err();
        assert_eq!(duplicate.detail, "Duplicate id 'g1'");
    }

    #[test]
    fn malformed_resources_are_refused_naming_the_field() {
        let error = store()
            .create(
                ResourceType::User,
                json!({"userName": "a", "emails": "a@b"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(error.status, 400);
        assert!(error.detail.contains("emails"), "{}", error.detail);
    }

    #[test]
    fn delete_then_not_found() {
        let mut store = store();
        let (id, _) = store
            .create(ResourceType::User, json!({"userName": "a"}), NOW)
            .unwrap();
        store.delete(ResourceType::User, &id).unwrap();
        assert_eq!(
            store.delete(ResourceType::User, &id).unwrap_err().status,
            404
        );
        assert!(store.user_names.is_empty());
    }
}
