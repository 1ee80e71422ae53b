//! Applying a PatchOp document (RFC 7644 §3.5.2) to a stored resource.

use map_entities::{PatchOp, PatchRequestPayload};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::OpError;

/// Attributes the server owns: a patch may not touch them.
const READ_ONLY: [&str; 2] = ["id", "meta"];

/// Applies every operation of `patch` to `resource`, in order. On error `resource` may be
/// partly changed: callers patch a copy.
pub(crate) fn apply_patch(resource: &mut Map<String, Value>, patch: &Value) -> Result<(), OpError> {
    let patch = PatchRequestPayload::deserialize(patch)
        .map_err(|e| OpError::invalid_syntax(format!("invalid PatchOp: {e}")))?;
    for (index, operation) in patch.operations.into_iter().enumerate() {
        let in_op = |e: OpError| OpError {
            detail: format!("Operations[{index}]: {}", e.detail),
            ..e
        };
        match operation.path.as_deref() {
            None => apply_without_path(resource, operation.op, operation.value).map_err(in_op)?,
            Some(path) => {
                let target = Target::parse(path).map_err(in_op)?;
                apply_at(resource, operation.op, &target, operation.value).map_err(in_op)?;
            }
        }
    }
    Ok(())
}

/// `attr` or `attr[sub eq "value"]`.
struct Target<'a> {
    attribute: &'a str,
    filter: Option<(&'a str, String)>,
}

impl<'a> Target<'a> {
    fn parse(path: &'a str) -> Result<Self, OpError> {
        let invalid = || {
            OpError::new(
                400,
                Some("invalidPath"),
                format!("path {path:?} is not ATTRIBUTE or ATTRIBUTE[SUB eq \"VALUE\"]"),
            )
        };
        let Some((attribute, rest)) = path.split_once('[') else {
            return check_attribute(path).map(|attribute| Target {
                attribute,
                filter: None,
            });
        };
        let condition = rest.strip_suffix(']').ok_or_else(invalid)?;
        let mut words = condition.splitn(3, ' ');
        let (Some(sub), Some(operator), Some(literal)) = (words.next(), words.next(), words.next())
        else {
            return Err(invalid());
        };
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(invalid());
        }
        let literal: String = serde_json::from_str(literal.trim()).map_err(|_| invalid())?;
        Ok(Target {
            attribute: check_attribute(attribute)?,
            filter: Some((sub, literal)),
        })
    }

    fn matches(&self, element: &Value) -> bool {
        match &self.filter {
            Some((sub, literal)) => element.get(*sub).and_then(Value::as_str) == Some(literal),
            None => true,
        }
    }
}

fn check_attribute(attribute: &str) -> Result<&str, OpError> {
    if READ_ONLY.contains(&attribute) {
        Err(OpError::new(
            400,
            Some("mutability"),
            format!("'{attribute}' is read-only"),
        ))
    } else if attribute.is_empty() {
        Err(OpError::new(400, Some("invalidPath"), "empty path"))
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
        return Err(OpError::new(400, Some("noTarget"), "remove needs a path"));
    }
    for (attribute, value) in fields {
        let attribute = check_attribute(&attribute)?.to_owned();
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
    target: &Target<'_>,
    value: Option<Value>,
) -> Result<(), OpError> {
    let no_target = || {
        OpError::new(
            400,
            Some("noTarget"),
            format!("no value of '{}' matches", target.attribute),
        )
    };
    match op {
        PatchOp::Add => {
            let value = value.ok_or_else(|| OpError::invalid_value("add needs a value"))?;
            if target.filter.is_some() {
                return Err(OpError::new(
                    400,
                    Some("invalidPath"),
                    "add takes no filter",
                ));
            }
            add_values(resource, target.attribute, value);
        }
        PatchOp::Replace => {
            let value = value.ok_or_else(|| OpError::invalid_value("replace needs a value"))?;
            if target.filter.is_none() {
                resource.insert(target.attribute.to_owned(), value);
                return Ok(());
            }
            let Some(Value::Array(elements)) = resource.get_mut(target.attribute) else {
                return Err(no_target());
            };
            let mut replaced = false;
            for element in elements.iter_mut().filter(|e| target.matches(e)) {
                match (element.as_object_mut(), &value) {
                    (Some(fields), Value::Object(new)) => {
                        fields.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    _ => *element = value.clone(),
                }
                replaced = true;
            }
            if !replaced {
                return Err(no_target());
            }
        }
        PatchOp::Remove => {
            if target.filter.is_none() {
                resource.remove(target.attribute).ok_or_else(no_target)?;
                return Ok(());
            }
            let Some(Value::Array(elements)) = resource.get_mut(target.attribute) else {
                return Err(no_target());
            };
            let before = elements.len();
            elements.retain(|e| !target.matches(e));
            if elements.len() == before {
                return Err(no_target());
            }
        }
    }
    Ok(())
}

/// Adds to a multi-valued attribute (skipping values already there) or sets a single one.
fn add_values(resource: &mut Map<String, Value>, attribute: &str, value: Value) {
    match (resource.get_mut(attribute), value) {
        (Some(Value::Array(existing)), Value::Array(new)) => {
            for item in new {
                push_unique(existing, item);
            }
        }
        (Some(Value::Array(existing)), item) => push_unique(existing, item),
        (_, value) => {
            resource.insert(attribute.to_owned(), value);
        }
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
        assert_eq!(error.scim_type, Some("noTarget"));
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
        assert_eq!(error.scim_type, Some("mutability"));
        let error = patched(group, json!([{"op": "merge", "path": "x"}])).unwrap_err();
        assert!(error.detail.contains("merge"), "{}", error.detail);
    }
}
