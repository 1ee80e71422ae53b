//! Applying a PATCH (RFC 7644 §3.5.2) to a resource: a PatchOp document or, as mAP Core's
//! own client writes it, one bare patch operation; paths `attr`, `attr.sub`, `attr[filter]`
//! and `attr[filter].sub`, with the filter forms of [`crate::filter`].

use map_entities::{PatchData, PatchOp, PatchOperation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::OpError;
use crate::filter::PatchPath;

/// Attributes the server owns: a patch may not touch them.
const READ_ONLY: [&str; 2] = ["id", "meta"];

/// Applies every operation of `patch` to `resource`, in order. On error `resource` may be
/// partly changed: callers patch a copy.
pub(crate) fn apply_patch(resource: &mut Map<String, Value>, patch: &Value) -> Result<(), OpError> {
    let patch = PatchData::deserialize(patch)
        .map_err(|e| OpError::invalid_syntax(format!("invalid PATCH data: {e}")))?;
    for (index, operation) in patch.into_operations().into_iter().enumerate() {
        let in_op = |e: OpError| OpError {
            detail: format!("Operations[{index}]: {}", e.detail),
            ..e
        };
        apply_operation(resource, operation).map_err(in_op)?;
    }
    Ok(())
}

fn apply_operation(
    resource: &mut Map<String, Value>,
    operation: PatchOperation,
) -> Result<(), OpError> {
    let value = operation.value.filter(|v| !v.is_null());
    match operation.path.as_deref() {
        None => apply_without_path(resource, operation.op, value),
        Some(path) => {
            let target = PatchPath::parse(path).map_err(|e| OpError::invalid_syntax(e.0))?;
            check_attribute(&target.attribute)?;
            let attribute = existing_key(resource, &target.attribute);
            let target = PatchPath {
                sub: target
                    .sub
                    .map(|sub| known_spelling(&sub).map_or(sub, str::to_owned)),
                ..target
            };
            apply_at(resource, operation.op, &attribute, &target, value)
        }
    }
}

/// The attributes of mAP Core's resources, as their schemas spell them.
const KNOWN_ATTRIBUTES: [&str; 20] = [
    "schemas",
    "externalId",
    "userName",
    "preferredLanguage",
    "eduPersonPrincipalNames",
    "emails",
    "groups",
    "displayName",
    "public",
    "description",
    "suspended",
    "memberListVisibility",
    "members",
    "administrators",
    "services",
    "serviceName",
    "serviceUrl",
    "entityIds",
    "customRoles",
    "administratorOfGroup",
];

/// How `attribute` is spelt (names are case-insensitive): as the resource already has it,
/// else as mAP Core's schemas do, else as written.
fn existing_key(resource: &Map<String, Value>, attribute: &str) -> String {
    resource
        .keys()
        .find(|key| key.eq_ignore_ascii_case(attribute))
        .map(String::as_str)
        .or_else(|| known_spelling(attribute))
        .unwrap_or(attribute)
        .to_owned()
}

/// `name` as mAP Core's schemas spell it, if it is one of theirs.
fn known_spelling(name: &str) -> Option<&'static str> {
    KNOWN_ATTRIBUTES
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))
}

fn check_attribute(attribute: &str) -> Result<&str, OpError> {
    if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(attribute)) {
        Err(OpError::new(
            400,
            "mutability",
            format!("'{attribute}' is read-only"),
        ))
    } else if attribute.is_empty() {
        Err(OpError::invalid_syntax("empty path"))
    } else {
        Ok(attribute)
    }
}

fn apply_without_path(
    resource: &mut Map<String, Value>,
    op: PatchOp,
    value: Option<Value>,
) -> Result<(), OpError> {
    let Some(Value::Object(fields)) = value else {
        return Err(OpError::invalid_value(
            "an operation without path needs an object value",
        ));
    };
    if op == PatchOp::Remove {
        return Err(OpError::new(400, "noTarget", "remove needs a path"));
    }
    for (attribute, value) in fields {
        let attribute = existing_key(resource, check_attribute(&attribute)?);
        if op == PatchOp::Add {
            add_values(resource, &attribute, value);
        } else {
            resource.insert(attribute, value);
        }
    }
    Ok(())
}

fn apply_at(
    resource: &mut Map<String, Value>,
    op: PatchOp,
    attribute: &str,
    target: &PatchPath,
    value: Option<Value>,
) -> Result<(), OpError> {
    let no_target = || {
        OpError::new(
            400,
            "noTarget",
            format!("no value of '{attribute}' matches"),
        )
    };
    let needs_value = |value: Option<Value>| {
        value.ok_or_else(|| OpError::invalid_value(format!("{op:?} needs a value").to_lowercase()))
    };
    let Some(filter) = &target.filter else {
        return match (op, &target.sub) {
            (PatchOp::Add, None) => {
                add_values(resource, attribute, needs_value(value)?);
                Ok(())
            }
            (PatchOp::Add | PatchOp::Replace, Some(sub)) => {
                let complex = resource
                    .entry(attribute)
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(complex) = complex else {
                    return Err(no_target());
                };
                complex.insert(sub.clone(), needs_value(value)?);
                Ok(())
            }
            (PatchOp::Replace, None) => {
                resource.insert(attribute.to_owned(), needs_value(value)?);
                Ok(())
            }
            (PatchOp::Remove, None) => resource.remove(attribute).map(drop).ok_or_else(no_target),
            (PatchOp::Remove, Some(sub)) => resource
                .get_mut(attribute)
                .and_then(Value::as_object_mut)
                .and_then(|complex| complex.remove(sub))
                .map(drop)
                .ok_or_else(no_target),
        };
    };
    if op == PatchOp::Add {
        return Err(OpError::invalid_syntax("add takes no filter in its path"));
    }
    let Some(Value::Array(elements)) = resource.get_mut(attribute) else {
        return Err(no_target());
    };
    let matches = |e: &Value| filter.matches_element(e, attribute);
    let matching = elements.iter().filter(|e| matches(e)).count();
    if matching == 0 {
        return Err(no_target());
    }
    match (op, &target.sub) {
        (PatchOp::Remove, None) => elements.retain(|e| !matches(e)),
        (PatchOp::Remove, Some(sub)) => {
            for element in elements.iter_mut().filter(|e| matches(e)) {
                if let Some(fields) = element.as_object_mut() {
                    fields.remove(sub);
                }
            }
        }
        (_, sub) => {
            let value = needs_value(value)?;
            for element in elements.iter_mut().filter(|e| matches(e)) {
                match (sub, element.as_object_mut(), &value) {
                    (Some(sub), Some(fields), value) => {
                        fields.insert(sub.clone(), value.clone());
                    }
                    (None, Some(fields), Value::Object(new)) => {
                        fields.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    _ => *element = value.clone(),
                }
            }
        }
    }
    Ok(())
}

/// Adds to a multi-valued attribute (skipping values already there) or sets a single one.
fn add_values(resource: &mut Map<String, Value>, attribute: &str, value: Value) {
    match (resource.get_mut(attribute), value) {
        (Some(Value::Array(existing)), Value::Array(new)) => {
            // A set of what is there: adding 30,000 members one scan each was quadratic.
            let mut present: std::collections::HashSet<String> =
                existing.iter().map(unique_key).collect();
            for item in new {
                if present.insert(unique_key(&item)) {
                    existing.push(item);
                }
            }
        }
        (Some(Value::Array(existing)), item) => push_unique(existing, item),
        (_, value) => {
            resource.insert(attribute.to_owned(), value);
        }
    }
}

/// What makes an element of a multi-valued attribute the same as another: its `value`, or
/// (without one) the whole element.
fn unique_key(item: &Value) -> String {
    match item.get("value") {
        Some(value) => format!("v{value}"),
        None => format!("i{item}"),
    }
}

fn push_unique(existing: &mut Vec<Value>, item: Value) {
    let key = item.get("value").cloned();
    let present = existing.iter().any(|e| match &key {
        Some(key) => e.get("value") == Some(key),
        None => *e == item,
    });
    if !present {
        existing.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(resource: Value, operations: Value) -> Result<Value, OpError> {
        let Value::Object(mut resource) = resource else {
            unreachable!()
        };
        let patch = json!({"schemas": [map_entities::PATCH_OP_SCHEMA], "Operations": operations});
        apply_patch(&mut resource, &patch)?;
        Ok(Value::Object(resource))
    }

    #[test]
    fn add_appends_to_members_without_duplicates() {
        let group = json!({"id": "g", "members": [{"type": "User", "value": "u1"}]});
        let result = patched(
            group,
            json!([{"op": "add", "path": "members", "value": [
                {"type": "User", "value": "u1"}, {"type": "User", "value": "u2"}]}]),
        )
        .unwrap();
        assert_eq!(
            result["members"],
            json!([{"type": "User", "value": "u1"}, {"type": "User", "value": "u2"}])
        );
    }

    #[test]
    fn replace_and_remove_with_and_without_filters() {
        let group = json!({"id": "g", "displayName": "A", "administrators": [{"value": "u1"}, {"value": "u2"}]});
        let result = patched(
            group,
            json!([
                {"op": "replace", "path": "displayName", "value": "B"},
                {"op": "remove", "path": "administrators[value eq \"u1\"]"},
                {"op": "replace", "value": {"description": "d"}},
                {"op": "add", "value": {"administrators": [{"value": "u3"}]}}
            ]),
        )
        .unwrap();
        assert_eq!(result["displayName"], "B");
        assert_eq!(result["description"], "d");
        assert_eq!(
            result["administrators"],
            json!([{"value": "u2"}, {"value": "u3"}])
        );
    }

    #[test]
    fn refusals_name_the_operation() {
        let group = json!({"id": "g", "members": []});
        let error = patched(
            group.clone(),
            json!([{"op": "add", "path": "x", "value": 1}, {"op": "remove", "path": "members[value eq \"nobody\"]"}]),
        )
        .unwrap_err();
        assert_eq!(error.scim_type, "noTarget");
        assert!(
            error.detail.starts_with("Operations[1]:"),
            "{}",
            error.detail
        );
        let error = patched(
            group.clone(),
            json!([{"op": "replace", "path": "id", "value": "h"}]),
        )
        .unwrap_err();
        assert_eq!(error.scim_type, "mutability");
        let error = patched(group, json!([{"op": "merge", "path": "x"}])).unwrap_err();
        assert!(error.detail.contains("merge"), "{}", error.detail);
    }

    fn bare(resource: Value, operation: Value) -> Result<Value, OpError> {
        let Value::Object(mut resource) = resource else {
            unreachable!()
        };
        apply_patch(&mut resource, &operation)?;
        Ok(Value::Object(resource))
    }

    #[test]
    fn bare_operations_as_map_core_s_client_sends_them() {
        let group = json!({"id": "g", "members": [{"type": "User", "value": "u1"}]});
        let added = bare(
            group.clone(),
            json!({"op": "add", "path": "members", "value": {"type": "User", "value": "u2", "display": null}}),
        )
        .unwrap();
        assert_eq!(added["members"][1]["value"], "u2");
        let removed = bare(
            added,
            json!({"op": "remove", "path": "members[value eq u1]"}),
        )
        .unwrap();
        assert_eq!(removed["members"].as_array().unwrap().len(), 1);
        assert_eq!(removed["members"][0]["value"], "u2");
        let user = json!({"id": "u", "groups": [{"value": "a"}, {"value": "b"}, {"value": "c"}]});
        let left = bare(
            user,
            json!({"op": "remove", "path": "groups[(value eq 'a') or (value eq 'b')]"}),
        )
        .unwrap();
        assert_eq!(left["groups"], json!([{"value": "c"}]));
        let typed = bare(
            group,
            json!({"op": "remove", "path": "members[value eq \"u1\" and type eq \"User\"]"}),
        )
        .unwrap();
        assert_eq!(typed["members"], json!([]));
    }

    #[test]
    fn sub_attribute_paths() {
        let user = json!({"id": "u", "emails": [{"value": "a@x", "type": "work"}], "name": {"givenName": "A"}});
        let changed = bare(
            user,
            json!({"schemas": [map_entities::PATCH_OP_SCHEMA], "Operations": [
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x"},
                {"op": "replace", "path": "name.givenName", "value": "B"},
                {"op": "remove", "path": "name.familyName"}
            ]}),
        );
        // Removing a sub-attribute that is not there finds no target.
        let error = changed.unwrap_err();
        assert_eq!(error.scim_type, "noTarget");
        assert!(
            error.detail.starts_with("Operations[2]:"),
            "{}",
            error.detail
        );
        let user = json!({"id": "u", "emails": [{"value": "a@x", "type": "work"}], "name": {"givenName": "A"}});
        let changed = bare(
            user,
            json!({"Operations": [
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x"},
                {"op": "replace", "path": "name.givenName", "value": "B"}
            ]}),
        )
        .unwrap();
        assert_eq!(changed["emails"][0]["value"], "b@x");
        assert_eq!(changed["name"]["givenName"], "B");
    }
}
