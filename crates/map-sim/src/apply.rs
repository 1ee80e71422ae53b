//! Applying a bulk request's operations under one lock, and answering each as mAP Core does.
//!
//! Operations are applied in order, except that one referring to a `bulkId` whose POST comes
//! later in the same request waits until that POST has been applied (a group may name in its
//! `services` a service created after it); under `failOnErrors`, the request stops once
//! nothing waits. Each result echoes the operation's `method`,
//! `bulkId` (when it has one), `path` (as sent) and `data`; a PUT's result carries the
//! resource in `response`; a DELETE's is `method`, `path` and `status` alone.

use std::collections::HashMap;

use map_entities::{BULK_RESPONSE_SCHEMA, BulkMethod, bulk_id_references, parse_bulk_id_reference};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::bulk::Checked;
use crate::error::OpError;
use crate::resource::{Resource, ResourceType};
use crate::server::Shared;
use crate::store::Store;

/// One result as the server writes it.
#[derive(Serialize)]
struct OperationResult<'a> {
    method: &'static str,
    #[serde(rename = "bulkId", skip_serializing_if = "Option::is_none")]
    bulk_id: Option<&'a str>,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<Value>,
}

#[derive(Serialize)]
struct BulkAnswer<'a> {
    schemas: [&'static str; 1],
    #[serde(rename = "Operations")]
    operations: Vec<OperationResult<'a>>,
}

/// What applying one operation did.
struct Applied {
    kind: ResourceType,
    id: String,
    status: &'static str,
    /// The resource, for a PUT's result.
    resource: Option<Resource>,
}

/// Applies `operations` (stopping after `fail_on_errors` errors) and writes the answer.
pub(crate) fn apply_all(
    shared: &Shared,
    operations: &[Checked<'_>],
    fail_on_errors: Option<u64>,
) -> Vec<u8> {
    let now = shared.now();
    let mut store = shared.store();
    let defined: HashMap<&str, usize> = operations
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == BulkMethod::Post)
        .filter_map(|(index, op)| Some((op.bulk_id?, index)))
        .collect();
    let references: Vec<Vec<String>> = operations.iter().map(references_of).collect();
    let mut run = Run {
        store: &mut store,
        now: &now,
        created: HashMap::new(),
        results: operations.iter().map(|_| None).collect(),
        errors: 0,
        limit: fail_on_errors.filter(|&limit| limit > 0),
    };
    // An operation is ready once every bulkId it names has been tried (or is not one this
    // request defines, and so fails).
    let ready = |run: &Run<'_, '_>, index: usize| {
        references[index].iter().all(|name| {
            run.created.contains_key(name.as_str()) || !defined.contains_key(name.as_str())
        })
    };
    // A stop under failOnErrors takes effect once nothing waits for a later POST, so that
    // the results are always those of a prefix of the operations, in order: results without
    // a bulkId are matched to operations by position.
    let mut waiting: Vec<usize> = Vec::new();
    for index in 0..operations.len() {
        if run.stopped() && waiting.is_empty() {
            break;
        }
        if !ready(&run, index) {
            waiting.push(index);
            continue;
        }
        run.apply(index, &operations[index]);
        while let Some(at) = waiting.iter().position(|&w| ready(&run, w)) {
            let next = waiting.remove(at);
            run.apply(next, &operations[next]);
        }
    }
    // What still waits names a bulkId that is never created: it fails.
    for index in waiting {
        run.apply(index, &operations[index]);
    }
    let results: Vec<OperationResult<'_>> = run.results.into_iter().map_while(|r| r).collect();
    drop(store);
    serde_json::to_vec(&BulkAnswer {
        schemas: [BULK_RESPONSE_SCHEMA],
        operations: results,
    })
    .unwrap_or_default()
}

/// One request being applied.
struct Run<'s, 'a> {
    store: &'s mut Store,
    now: &'s str,
    /// bulkId → the id it created, or None if its POST failed.
    created: HashMap<String, Option<String>>,
    results: Vec<Option<OperationResult<'a>>>,
    errors: u64,
    limit: Option<u64>,
}

impl<'a> Run<'_, 'a> {
    fn stopped(&self) -> bool {
        self.limit.is_some_and(|limit| self.errors >= limit)
    }

    fn apply(&mut self, index: usize, op: &Checked<'a>) {
        let outcome = apply_one(self.store, &self.created, op, self.now);
        let post_bulk_id = op.bulk_id.filter(|_| op.method == BulkMethod::Post);
        let mut result = OperationResult {
            method: op.method.as_str(),
            bulk_id: op.bulk_id.filter(|_| op.method != BulkMethod::Delete),
            path: op.path,
            data: op.data.filter(|_| op.method != BulkMethod::Delete),
            location: None,
            status: String::new(),
            response: None,
        };
        match outcome {
            Ok(applied) => {
                if let Some(bulk_id) = post_bulk_id {
                    *self
                        .store
                        .counters
                        .applied_by_bulk_id
                        .entry(bulk_id.to_owned())
                        .or_default() += 1;
                    self.created
                        .insert(bulk_id.to_owned(), Some(applied.id.clone()));
                }
                self.store.count_applied(applied.kind, &applied.id);
                if op.method != BulkMethod::Delete {
                    result.location = Some(self.store.location(applied.kind, &applied.id));
                }
                result.status = applied.status.to_owned();
                result.response = applied.resource.map(Value::Object);
            }
            Err((location, error)) => {
                if let Some(bulk_id) = post_bulk_id {
                    self.created.insert(bulk_id.to_owned(), None);
                }
                self.store.counters.operations_failed += 1;
                self.errors += 1;
                result.location = location.filter(|_| op.method != BulkMethod::Delete);
                result.status = error.status.to_string();
                result.response = serde_json::to_value(error.to_map_error()).ok();
            }
        }
        self.results[index] = Some(result);
    }
}

/// Every `bulkId:X` an operation names, in its path and its data.
fn references_of(op: &Checked<'_>) -> Vec<String> {
    let data = op
        .data
        .filter(|raw| raw.get().contains(map_entities::BULK_ID_PREFIX))
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
    bulk_id_references(op.path, data.as_ref())
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn apply_one(
    store: &mut Store,
    created: &HashMap<String, Option<String>>,
    op: &Checked<'_>,
    now: &str,
) -> Result<Applied, (Option<String>, OpError)> {
    let (kind, id) = resolve_path(op.path, created).map_err(|e| (None, e))?;
    let location = id.as_ref().map(|id| store.location(kind, id));
    let fail = |e: OpError| (location.clone(), e);
    let data = match op.data {
        Some(raw) => {
            let mut data: Value = serde_json::from_str(raw.get())
                .map_err(|e| fail(OpError::invalid_syntax(format!("data: {e}"))))?;
            resolve_references(&mut data, created).map_err(fail)?;
            Some(data)
        }
        None => None,
    };
    let applied = |id: String, status: &'static str, resource: Option<Resource>| Applied {
        kind,
        id,
        status,
        resource,
    };
    match (op.method, id, data) {
        (BulkMethod::Post, None, Some(data)) => {
            let (id, _) = store.create(kind, data, now).map_err(fail)?;
            Ok(applied(id, "201", None))
        }
        (BulkMethod::Put, Some(id), Some(data)) => {
            let resource = store.replace(kind, &id, data, now).map_err(fail)?;
            Ok(applied(id, "200", Some(resource)))
        }
        (BulkMethod::Patch, Some(id), Some(data)) => {
            store.patch(kind, &id, &data, now).map_err(fail)?;
            Ok(applied(id, "200", None))
        }
        (BulkMethod::Delete, Some(id), _) => {
            store.delete(kind, &id).map_err(fail)?;
            Ok(applied(id, "204", None))
        }
        (BulkMethod::Post, Some(_), _) => Err(fail(OpError::invalid_syntax(
            "POST takes a resource type path such as /Users, without an id",
        ))),
        (method, None, _) => Err(fail(OpError::invalid_syntax(format!(
            "{method} needs a path with an id, such as /Users/ID"
        )))),
        (method, Some(_), None) => Err(fail(OpError::invalid_syntax(format!(
            "data is required for {method}"
        )))),
    }
}

/// `/Users`, `Users/ID` or `/Groups/bulkId:g1` → the resource type and id.
fn resolve_path(
    path: &str,
    created: &HashMap<String, Option<String>>,
) -> Result<(ResourceType, Option<String>), OpError> {
    let mut segments = path.trim_start_matches('/').split('/');
    let endpoint = segments.next().unwrap_or("");
    let kind = ResourceType::from_endpoint(endpoint).ok_or_else(|| {
        OpError::invalid_syntax(format!(
            "unknown resource type {endpoint:?}: expected Users, Groups or Services"
        ))
    })?;
    let id = match segments.next() {
        None | Some("") => None,
        Some(segment) => Some(match parse_bulk_id_reference(segment) {
            Some(bulk_id) => resolve(bulk_id, created)?,
            None => segment.to_owned(),
        }),
    };
    if segments.any(|s| !s.is_empty()) {
        return Err(OpError::invalid_syntax(format!(
            "path {path:?} has too many segments"
        )));
    }
    Ok((kind, id))
}

fn resolve(bulk_id: &str, created: &HashMap<String, Option<String>>) -> Result<String, OpError> {
    match created.get(bulk_id) {
        Some(Some(id)) => Ok(id.clone()),
        Some(None) => Err(OpError::invalid_value(format!(
            "bulkId '{bulk_id}' refers to an operation that failed"
        ))),
        None => Err(OpError::invalid_value(format!(
            "bulkId '{bulk_id}' is not defined by a POST of this request"
        ))),
    }
}

fn resolve_references(
    data: &mut Value,
    created: &HashMap<String, Option<String>>,
) -> Result<(), OpError> {
    match data {
        Value::String(text) => {
            if let Some(bulk_id) = parse_bulk_id_reference(text) {
                *text = resolve(bulk_id, created)?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| resolve_references(item, created)),
        Value::Object(fields) => fields
            .values_mut()
            .try_for_each(|value| resolve_references(value, created)),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}
