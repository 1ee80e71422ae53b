//! When a current attribute already is what is desired, and what changes when it is not.
//!
//! A desired value *covers* a current one when every part it names is there: objects by
//! the keys the desired one gives (the server may add sub-attributes of its own), arrays as
//! multisets (mAP Core may answer in another order), `null` and `[]` by nothing being there.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attributes::Attributes;

/// One attribute to change: what it was and what it becomes (`None`: cleared).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// The attribute's wire name.
    pub name: String,
    /// Its value before (`None`: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// Its value after (`None`: cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
}

/// Attributes the server owns, or a group's members (handled as memberships): never
/// compared. (A user's `groups` are not among a desired user's attributes: readers keep
/// them apart, as [`crate::DesiredResource::groups`].)
const NOT_COMPARED: [&str; 4] = ["schemas", "id", "meta", "members"];

/// The attributes of `desired` that `current` (absent: a resource not yet there) does not
/// already have, by name. The same JSON text is the same value, without parsing either.
pub(crate) fn attribute_changes(
    desired: &Attributes,
    current: Option<&Attributes>,
) -> Vec<AttributeChange> {
    desired
        .iter()
        .filter(|(name, _)| !NOT_COMPARED.contains(name))
        .filter_map(|(name, text)| {
            if current.and_then(|c| c.text(name)) == Some(text) {
                return None;
            }
            let wanted: Value = serde_json::from_str(text).ok()?;
            let have = current.and_then(|c| c.get(name));
            (!covers(&wanted, have.as_ref())).then(|| AttributeChange {
                name: name.to_owned(),
                from: have.filter(|v| !is_empty(v)),
                to: (!is_empty(&wanted)).then_some(wanted),
            })
        })
        .collect()
}

/// Whether `value` says "nothing": `null`, `[]` or `""`.
pub(crate) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Whether the current value `have` already is the desired `wanted`.
pub(crate) fn covers(wanted: &Value, have: Option<&Value>) -> bool {
    if is_empty(wanted) {
        return have.is_none_or(is_empty);
    }
    let Some(have) = have else {
        return false;
    };
    match (wanted, have) {
        (Value::Object(wanted), Value::Object(have)) => wanted
            .iter()
            .all(|(key, value)| covers(value, have.get(key))),
        (Value::Array(wanted), Value::Array(have)) => same_multiset(wanted, have),
        _ => wanted == have,
    }
}

/// Each desired element covers a different current element, and none is left over.
fn same_multiset(wanted: &[Value], have: &[Value]) -> bool {
    if wanted.len() != have.len() {
        return false;
    }
    let mut taken = vec![false; have.len()];
    wanted.iter().all(|w| {
        let found = have
            .iter()
            .enumerate()
            .find(|(i, h)| !taken[*i] && covers(w, Some(h)));
        match found {
            Some((i, _)) => {
                taken[i] = true;
                true
            }
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Attributes {
        Attributes::from(value)
    }

    #[test]
    fn arrays_compare_in_any_order_and_objects_by_the_keys_desired() {
        let wanted = json!([{"value": "b"}, {"value": "a"}]);
        let have = json!([{"value": "a", "idpEntityId": "x"}, {"value": "b"}]);
        assert!(covers(&wanted, Some(&have)));
        assert!(
            !covers(&json!([{"value": "a"}]), Some(&have)),
            "one is left over"
        );
        assert!(!covers(
            &json!([{"value": "a"}, {"value": "a"}]),
            Some(&have)
        ));
    }

    #[test]
    fn null_and_empty_cover_only_nothing() {
        assert!(covers(&Value::Null, None));
        assert!(covers(&json!([]), Some(&json!([]))));
        assert!(!covers(&json!([]), Some(&json!([{"value": "a"}]))));
        assert!(!covers(&json!("ja"), None));
    }

    #[test]
    fn only_changed_attributes_are_listed_with_before_and_after() {
        let desired = object(
            json!({"id": "x", "userName": "B", "preferredLanguage": "ja",
                                    "emails": null}),
        );
        let current = object(
            json!({"id": "x", "userName": "A", "preferredLanguage": "ja",
                                    "emails": [{"value": "a@x"}]}),
        );
        let changes = attribute_changes(&desired, Some(&current));
        assert_eq!(
            changes,
            vec![
                AttributeChange {
                    name: "emails".into(),
                    from: Some(json!([{"value": "a@x"}])),
                    to: None
                },
                AttributeChange {
                    name: "userName".into(),
                    from: Some(json!("A")),
                    to: Some(json!("B"))
                },
            ]
        );
    }
}
