//! Desired documents as JSON: an array of mAP documents, or one per line (NDJSON). Each
//! document's kind is its `schemas` suffix (`…:User`, `…:Group`, `…:Service`); a user's
//! `groups` (`[{"value": "lab-a"}]` or `["lab-a"]`) are the groups it should belong to.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use map_entities::ResourceKind;

use super::ReadError;
use crate::state::{Desired, DesiredResource, Kind, Origin, value_of};

pub(crate) fn read(name: &str, text: &str, desired: &mut Desired) -> Result<(), ReadError> {
    let mut problems = Vec::new();
    for (line, document) in split(name, text)? {
        let origin = Origin::new(name, line);
        match resource(document, &origin) {
            Ok((kind, resource)) => desired.push(kind, resource),
            Err(problem) => problems.push(format!("{origin}: {problem}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ReadError { problems })
    }
}

/// The documents of the file with the line each starts on.
fn split<'t>(name: &str, text: &'t str) -> Result<Vec<(u64, &'t str)>, ReadError> {
    if text.trim_start().starts_with('[') {
        let elements: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
            ReadError::one(format!(
                "{name}:{}: not a JSON array of documents: {e}",
                e.line()
            ))
        })?;
        // Elements come in order: count the newlines between one and the next.
        let (mut line, mut counted) = (1u64, 0usize);
        return Ok(elements
            .into_iter()
            .map(|raw| {
                let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
                let offset = offset.clamp(counted, text.len());
                line += text.as_bytes()[counted..offset]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count() as u64;
                counted = offset;
                (line, raw.get())
            })
            .collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i as u64 + 1, l))
        .collect())
}

fn resource(document: &str, origin: &Origin) -> Result<(Kind, DesiredResource), String> {
    let mut attributes: Map<String, Value> =
        serde_json::from_str(document).map_err(|e| format!("not a JSON object: {e}"))?;
    let kind = kind_of(&attributes)?;
    let mut resource = DesiredResource::new(Map::new(), origin.clone());
    if kind == Kind::User
        && let Some(groups) = attributes.remove("groups")
    {
        resource.groups = Some(group_ids(&groups)?);
    }
    attributes.remove("meta");
    resource.attributes = attributes.into();
    Ok((kind, resource))
}

fn kind_of(document: &Map<String, Value>) -> Result<Kind, String> {
    let schemas = document
        .get("schemas")
        .and_then(Value::as_array)
        .ok_or("schemas: missing (it tells a User, Group or Service)")?;
    match ResourceKind::from_schemas(schemas.iter().filter_map(Value::as_str)) {
        Some(ResourceKind::User) => Ok(Kind::User),
        Some(ResourceKind::Group) => Ok(Kind::Group),
        Some(ResourceKind::Service) => Ok(Kind::Service),
        _ => Err("schemas: names no User, Group or Service".into()),
    }
}

fn group_ids(groups: &Value) -> Result<Vec<String>, String> {
    match groups {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                value_of(item)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("groups[{i}]: expected a group id or {{\"value\": id}}"))
            })
            .collect(),
        _ => Err("groups: expected an array".into()),
    }
}
