//! Whether a resource matches a filter.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::Value;

use super::{AttrPath, CompareOp, Filter, Literal};

impl Filter {
    /// Whether `resource` (a JSON object) matches.
    pub(crate) fn matches(&self, resource: &Value) -> bool {
        self.matches_within(resource, None)
    }

    /// Whether `element`, a value of the multi-valued attribute `attribute`, matches (the
    /// filter of `attribute[…]`).
    pub(crate) fn matches_element(&self, element: &Value, attribute: &str) -> bool {
        self.matches_within(element, Some(attribute))
    }

    fn matches_within(&self, resource: &Value, parent: Option<&str>) -> bool {
        match self {
            Filter::Compare(path, op, literal) => {
                let values = values_at(resource, path);
                let exact = is_case_exact(path, parent);
                let null = matches!(literal, Literal::Bare(word) if word == "null");
                match op {
                    // Not equal: no value is equal (an absent attribute is not equal).
                    CompareOp::Ne => !values
                        .iter()
                        .any(|v| compare(v, CompareOp::Eq, literal, exact)),
                    _ if values.is_empty() => *op == CompareOp::Eq && null,
                    _ => values.iter().any(|v| compare(v, *op, literal, exact)),
                }
            }
            Filter::Present(path) => values_at(resource, path).iter().any(|v| !v.is_null()),
            Filter::And(a, b) => {
                a.matches_within(resource, parent) && b.matches_within(resource, parent)
            }
            Filter::Or(a, b) => {
                a.matches_within(resource, parent) || b.matches_within(resource, parent)
            }
            Filter::Not(inner) => !inner.matches_within(resource, parent),
            Filter::ValuePath(path, inner) => elements(resource, &path.name)
                .iter()
                .any(|element| inner.matches_within(element, Some(&path.name))),
        }
    }
}

/// The values `path` names in `resource`: the attribute's value, or each element of a
/// multi-valued one; with a sub-attribute, that of each (complex) value. A complex value
/// named without a sub-attribute stands for its `value`, or for itself when it has none
/// (so `meta pr` holds).
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    elements(resource, &path.name)
        .into_iter()
        .filter_map(|element| match (&path.sub, element) {
            (Some(sub), element) => field(element, sub),
            (None, Value::Object(_)) => field(element, "value").or(Some(element)),
            (None, element) => Some(element),
        })
        .collect()
}

/// The attribute `name` of `resource` as a list: each element of an array, or the value.
fn elements<'a>(resource: &'a Value, name: &str) -> Vec<&'a Value> {
    match field(resource, name) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(value) => vec![value],
    }
}

/// A field of an object, its name matched case-insensitively.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// Ids, external ids, ePPNs, entity ids and references are compared exactly; other text
/// ignores case (RFC 7643's `caseExact` of each attribute). Inside `attr[…]`, a path is a
/// sub-attribute of `attr`.
fn is_case_exact(path: &AttrPath, parent: Option<&str>) -> bool {
    let (name, sub) = match parent {
        Some(parent) => (parent, Some(path.name.as_str())),
        None => (path.name.as_str(), path.sub.as_deref()),
    };
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let exact_attribute = ["id", "externalId", "eduPersonPrincipalNames", "entityIds"]
        .iter()
        .any(|n| is(n, name));
    let reference = ["members", "groups", "services", "administrators"]
        .iter()
        .any(|n| is(n, name));
    exact_attribute
        || (reference && sub.is_none_or(|s| is(s, "value") || s == "$ref" || is(s, "type")))
}

fn compare(value: &Value, op: CompareOp, literal: &Literal, exact: bool) -> bool {
    match (value, literal) {
        (Value::String(text), Literal::Text(wanted)) => compare_text(text, op, wanted, exact),
        (Value::String(_), Literal::Bare(word)) if word == "null" => false,
        (Value::String(text), Literal::Bare(word)) => compare_text(text, op, word, exact),
        (Value::Number(number), Literal::Bare(word)) => {
            match (number.as_f64(), word.parse::<f64>()) {
                (Some(n), Ok(wanted)) => n
                    .partial_cmp(&wanted)
                    .is_some_and(|ordering| ordered(ordering, op)),
                _ => false,
            }
        }
        (Value::Bool(flag), Literal::Bare(word) | Literal::Text(word)) => {
            op == CompareOp::Eq && flag.to_string() == *word
        }
        (Value::Null, Literal::Bare(word)) => op == CompareOp::Eq && word == "null",
        _ => false,
    }
}

fn compare_text(text: &str, op: CompareOp, wanted: &str, exact: bool) -> bool {
    // Date-times compare as instants, whatever their offsets.
    if matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    ) && let (Ok(a), Ok(b)) = (
        DateTime::parse_from_rfc3339(text),
        DateTime::parse_from_rfc3339(wanted),
    ) {
        return ordered(a.cmp(&b), op);
    }
    let (text, wanted) = if exact {
        (text.to_owned(), wanted.to_owned())
    } else {
        (text.to_lowercase(), wanted.to_lowercase())
    };
    match op {
        CompareOp::Eq => text == wanted,
        CompareOp::Ne => text != wanted,
        CompareOp::Co => text.contains(&wanted),
        CompareOp::Sw => text.starts_with(&wanted),
        CompareOp::Ew => text.ends_with(&wanted),
        _ => ordered(text.cmp(&wanted), op),
    }
}

fn ordered(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
