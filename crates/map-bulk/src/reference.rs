//! Paths and `bulkId:X` references in a job's operations: normalising paths, finding
//! references, and substituting the ids earlier requests created.

use std::borrow::Cow;
use std::sync::OnceLock;

use map_entities::{BulkMethod, ResourceKind, parse_bulk_id_reference};
use serde_json::Value;

/// A valid operation path: its resource kind and, for PUT/PATCH/DELETE, its id (which may be
/// a `bulkId:X` reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetPath<'a> {
    /// The path with a leading `/` and no trailing one: `/Users`, `/Groups/lab-a`.
    pub(crate) normalized: Cow<'a, str>,
    pub(crate) kind: ResourceKind,
    pub(crate) has_id: bool,
}

/// Checks and normalises `path` for `method`.
pub(crate) fn normalize_path(method: BulkMethod, path: &str) -> Result<TargetPath<'_>, String> {
    // The path of almost every POST, already normal.
    if method == BulkMethod::Post {
        let kind = match path {
            "/Users" => Some(ResourceKind::User),
            "/Groups" => Some(ResourceKind::Group),
            "/Services" => Some(ResourceKind::Service),
            _ => None,
        };
        if let Some(kind) = kind {
            return Ok(TargetPath {
                normalized: Cow::Borrowed(path),
                kind,
                has_id: false,
            });
        }
    }
    if path.as_bytes().windows(3).any(|w| w == b"://") {
        return Err(format!(
            "path {path:?} must be relative to the API, like /Users or /Groups/ID, not a URL"
        ));
    }
    let trimmed = path.trim_matches('/');
    let mut segments = trimmed.split('/');
    let resource = segments.next().unwrap_or("");
    let kind = match resource {
        "Users" => ResourceKind::User,
        "Groups" => ResourceKind::Group,
        "Services" => ResourceKind::Service,
        _ => {
            return Err(format!(
                "path {path:?} names resource {resource:?}; expected Users, Groups or Services"
            ));
        }
    };
    let id = segments.next();
    if segments.next().is_some() || id.is_some_and(str::is_empty) {
        return Err(format!(
            "path {path:?} must be /{resource} or /{resource}/ID"
        ));
    }
    match (method, id) {
        (BulkMethod::Post, Some(_)) => Err(format!(
            "POST creates a resource: its path is /{resource}, without an id (found {path:?})"
        )),
        (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, None) => Err(format!(
            "{method} needs the resource's id in its path, like /{resource}/ID (found {path:?})"
        )),
        _ => Ok(TargetPath {
            normalized: normalized(path),
            kind,
            has_id: id.is_some(),
        }),
    }
}

/// Whether raw JSON may hold a `bulkId:X` string (a searcher built once, not per call). The
/// needle leaves out the opening quote: memmem looks first for the needle's rarest bytes,
/// and `"` is everywhere in JSON.
pub(crate) fn may_hold_reference(json: &str) -> bool {
    static FINDER: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    FINDER
        .get_or_init(|| memchr::memmem::Finder::new(b"bulkId:"))
        .find(json.as_bytes())
        .is_some()
}

/// `path` as [`normalize_path`] writes it, borrowed when it already is (the common case).
pub(crate) fn normalized(path: &str) -> Cow<'_, str> {
    if path.starts_with('/') && !path.ends_with('/') && !path[1..].starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("/{}", path.trim_matches('/')))
    }
}

/// Every `bulkId:X` referenced by `path` (a whole segment) or by `data` (a whole string value),
/// as the `X`s, path first. Data without the text `"bulkId:` is not parsed at all.
pub(crate) fn references(path: &str, data: Option<&str>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    if path.contains("bulkId:") {
        found.extend(
            path.split('/')
                .filter_map(parse_bulk_id_reference)
                .map(str::to_owned),
        );
    }
    if let Some(data) = data
        && may_hold_reference(data)
        && let Ok(value) = serde_json::from_str::<Value>(data)
    {
        collect(&value, &mut found);
    }
    found
}

fn collect(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => found.extend(parse_bulk_id_reference(text).map(str::to_owned)),
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        Value::Object(fields) => fields.values().for_each(|item| collect(item, found)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Replaces each reference that `resolve` knows with the id it gives, in `path` and `data`.
pub(crate) fn substitute(
    path: &mut String,
    data: &mut Option<String>,
    resolve: &dyn Fn(&str) -> Option<String>,
) {
    if path.contains("bulkId:") {
        let replaced: Vec<String> = path
            .split('/')
            .map(
                |segment| match parse_bulk_id_reference(segment).and_then(resolve) {
                    Some(id) => id,
                    None => segment.to_owned(),
                },
            )
            .collect();
        *path = replaced.join("/");
    }
    let Some(raw) = data else { return };
    if !may_hold_reference(raw) {
        return;
    }
    let Ok(mut value) = serde_json::from_str::<Value>(raw) else {
        return;
    };
    if replace(&mut value, resolve)
        && let Ok(new) = serde_json::to_string(&value)
    {
        *raw = new;
    }
}

fn replace(value: &mut Value, resolve: &dyn Fn(&str) -> Option<String>) -> bool {
    match value {
        Value::String(text) => match parse_bulk_id_reference(text).and_then(resolve) {
            Some(id) => {
                *text = id;
                true
            }
            None => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| replace(item, resolve) | changed),
        Value::Object(fields) => fields
            .values_mut()
            .fold(false, |changed, item| replace(item, resolve) | changed),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> String {
        text.into()
    }

    #[test]
    fn paths_are_normalised_and_checked() {
        let ok = normalize_path(BulkMethod::Post, "Users").unwrap();
        assert_eq!(
            (ok.normalized.as_ref(), ok.kind, ok.has_id),
            ("/Users", ResourceKind::User, false)
        );
        assert_eq!(
            normalize_path(BulkMethod::Patch, "/Groups/g1/")
                .unwrap()
                .normalized,
            "/Groups/g1"
        );
        assert!(
            normalize_path(BulkMethod::Post, "/Users/1")
                .unwrap_err()
                .contains("without an id")
        );
        assert!(
            normalize_path(BulkMethod::Delete, "/Users")
                .unwrap_err()
                .contains("needs the resource's id")
        );
        assert!(
            normalize_path(BulkMethod::Put, "/Accounts/1")
                .unwrap_err()
                .contains("Users, Groups or Services")
        );
        assert!(normalize_path(BulkMethod::Put, "/Users/1/x").is_err());
        assert!(normalize_path(BulkMethod::Put, "https://h/Users/1").is_err());
    }

    #[test]
    fn references_and_substitution() {
        let data = raw(
            r#"{"members":[{"value":"bulkId:u1"},{"value":"bulkId:u2"}],"note":"see bulkId:u3"}"#,
        );
        assert_eq!(
            references("/Groups/bulkId:g1", Some(&data)),
            ["g1", "u1", "u2"]
        );
        assert!(references("/Users", Some(&raw(r#"{"userName":"a"}"#))).is_empty());

        let mut path = "/Groups/bulkId:g1".to_owned();
        let mut data = Some(data);
        let known = |bulk_id: &str| match bulk_id {
            "g1" => Some("lab-a".to_owned()),
            "u1" => Some("9f2".to_owned()),
            _ => None,
        };
        substitute(&mut path, &mut data, &known);
        assert_eq!(path, "/Groups/lab-a");
        let data: Value = serde_json::from_str(&data.unwrap()).unwrap();
        assert_eq!(data["members"][0]["value"], "9f2");
        assert_eq!(
            data["members"][1]["value"], "bulkId:u2",
            "unknown references stay for the server"
        );
        assert_eq!(data["note"], "see bulkId:u3");
    }
}
