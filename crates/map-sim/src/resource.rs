//! What a resource is on the server: its kind ([`ResourceType`]), the references it holds,
//! and how a written document becomes what is stored ([`written`]).

use std::collections::BTreeSet;

use map_entities::{GROUP_SCHEMA, MapGroup, MapService, MapUser, SERVICE_SCHEMA, USER_SCHEMA};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::OpError;
use crate::membership::Side;

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

    pub(crate) fn schema(self) -> &'static str {
        match self {
            ResourceType::User => USER_SCHEMA,
            ResourceType::Group => GROUP_SCHEMA,
            ResourceType::Service => SERVICE_SCHEMA,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The membership side this kind is on, for users and services.
    pub(crate) fn side(self) -> Option<Side> {
        match self {
            ResourceType::User => Some(Side::User),
            ResourceType::Group => None,
            ResourceType::Service => Some(Side::Service),
        }
    }

    /// Checks that `resource` is a well-formed resource of this kind.
    pub(crate) fn validate(self, resource: &Resource) -> Result<(), OpError> {
        let result = match self {
            ResourceType::User => MapUser::deserialize(resource).map(drop),
            ResourceType::Group => MapGroup::deserialize(resource).map(drop),
            ResourceType::Service => MapService::deserialize(resource).map(drop),
        };
        result.map_err(|e| OpError::invalid_value(format!("invalid {}: {e}", self.name())))
    }
}

/// The attributes that refer to other resources, and what they refer to (a member of type
/// Group refers to a group). A user's and a service's `groups` are the other side of a
/// membership ([`crate::membership`]).
pub(crate) const REFERENCES: [(&str, ResourceType); 3] = [
    ("members", ResourceType::User),
    ("administrators", ResourceType::User),
    ("services", ResourceType::Service),
];

impl ResourceType {
    /// The reference attributes a resource of this kind may hold.
    pub(crate) fn references(self) -> &'static [(&'static str, ResourceType)] {
        match self {
            ResourceType::User => &[],
            ResourceType::Group => &REFERENCES,
            ResourceType::Service => &REFERENCES[1..2],
        }
    }
}

/// What the element of a reference attribute refers to: its kind and id.
pub(crate) fn referred(element: &Value, default: ResourceType) -> Option<(ResourceType, &str)> {
    let id = element.get("value")?.as_str()?;
    let kind = match element.get("type").and_then(Value::as_str) {
        Some("Group") => ResourceType::Group,
        _ => default,
    };
    Some((kind, id))
}

/// mAP Core's ids: `^[A-Za-z0-9._-]{1,50}$`.
pub(crate) fn is_valid_id(id: &str) -> bool {
    (1..=50).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The group ids a written `groups` attribute names.
pub(crate) fn group_ids(groups: &Value) -> Result<BTreeSet<String>, OpError> {
    let Value::Array(items) = groups else {
        return Err(OpError::invalid_value("groups must be an array"));
    };
    items
        .iter()
        .map(|item| match item.get("value") {
            Some(Value::String(id)) => Ok(id.clone()),
            _ => Err(OpError::invalid_value(
                "each of groups needs a value (a group id)",
            )),
        })
        .collect()
}

/// `data` as it is stored: an object of the kind, without `null`s (mAP Core's own client
/// writes every unset attribute as `null`, which means absent), without what the server
/// owns (`meta`, a user's `id`, each reference's `$ref` and `display`), with the kind's
/// `schemas` and every member's `type`.
pub(crate) fn written(kind: ResourceType, data: Value) -> Result<Resource, OpError> {
    let Value::Object(mut resource) = data else {
        return Err(OpError::invalid_value("data must be an object"));
    };
    drop_nulls(&mut resource);
    resource.remove("meta");
    if kind == ResourceType::User {
        resource.remove("id");
    }
    let attributes = REFERENCES.iter().map(|(attribute, _)| *attribute);
    for attribute in attributes.chain(["groups"]) {
        if let Some(Value::Array(elements)) = resource.get_mut(attribute) {
            for element in elements.iter_mut().filter_map(Value::as_object_mut) {
                element.remove("$ref");
                element.remove("display");
                // A member without a type is a user; mAP Core always says which.
                if attribute == "members" && !element.contains_key("type") {
                    element.insert("type".to_owned(), Value::String("User".to_owned()));
                }
            }
        }
    }
    resource
        .entry("schemas")
        .or_insert_with(|| json!([kind.schema()]));
    Ok(resource)
}

/// Removes every `null` attribute, at any depth.
fn drop_nulls(object: &mut Map<String, Value>) {
    object.retain(|_, value| !value.is_null());
    for value in object.values_mut() {
        match value {
            Value::Object(inner) => drop_nulls(inner),
            Value::Array(items) => {
                for inner in items.iter_mut().filter_map(Value::as_object_mut) {
                    drop_nulls(inner);
                }
            }
            _ => {}
        }
    }
}
