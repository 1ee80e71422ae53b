//! `POST /api/v2/Bulk`: check credentials, shape and limits, then apply the operations in
//! order, resolving `bulkId:X` references to resources created earlier in the same request.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use map_entities::{
    BULK_REQUEST_SCHEMA, BulkMethod, BulkOperation, BulkRequestPayload, BulkResponsePayload,
    OperationResponse, parse_bulk_id_reference,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::auth::{check_bearer, check_signature};
use crate::error::{OpError, json_response};
use crate::server::Shared;
use crate::store::{ResourceType, Store};

/// The handler of `POST /api/v2/Bulk`.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    shared.store().counters.bulk_requests += 1;
    match process(&shared, &headers, body).await {
        Ok(answer) => json_response(StatusCode::OK, answer),
        Err(error) => {
            shared.store().counters.bulk_requests_refused += 1;
            error.into_response()
        }
    }
}

#[derive(Deserialize)]
struct IncomingBulk<'a> {
    #[serde(borrow, default)]
    schemas: Option<Vec<Cow<'a, str>>>,
    #[serde(rename = "Operations", borrow, default)]
    operations: Option<Vec<IncomingOperation<'a>>>,
    #[serde(rename = "failOnErrors", default)]
    fail_on_errors: Option<u64>,
    #[serde(borrow, default)]
    request: Option<AuthObject<'a>>,
}

#[derive(Deserialize)]
struct AuthObject<'a> {
    #[serde(borrow, default)]
    time_stamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    signature: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct IncomingOperation<'a> {
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(rename = "bulkId", borrow, default)]
    bulk_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// An operation that passed the shape check.
struct Checked<'a> {
    method: BulkMethod,
    bulk_id: Option<&'a str>,
    path: &'a str,
    data: Option<&'a RawValue>,
}

async fn process(shared: &Shared, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, OpError> {
    let config = &shared.config;
    check_bearer(headers, &config.credentials)?;
    let limit = config.max_payload_bytes;
    let body: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Err(OpError::too_large(format!(
                "the bulk request is larger than maxPayloadSize ({limit} bytes)"
            )));
        }
        Err(error) => {
            return Err(OpError::invalid_syntax(format!(
                "could not read the body: {error}"
            )));
        }
    };
    let incoming: IncomingBulk<'_> = serde_json::from_slice(&body).map_err(|error| {
        // The entity model names the field that was wrong; use its words when it has some.
        let named = serde_json::from_slice::<BulkRequestPayload>(&body).err();
        OpError::invalid_syntax(format!(
            "the body is not a BulkRequest: {}",
            named.map_or(error.to_string(), |e| e.to_string())
        ))
    })?;
    let auth = incoming.request.as_ref();
    check_signature(
        &config.credentials,
        config.clock.as_ref(),
        config.time_window_secs,
        auth.and_then(|a| a.time_stamp.as_deref()),
        auth.and_then(|a| a.signature.as_deref()),
    )?;
    let operations = check_shape(&incoming, config.max_operations)?;
    if config.null_mode {
        Ok(answer_null(shared, &operations))
    } else {
        Ok(apply_all(shared, &operations, incoming.fail_on_errors))
    }
}

fn check_shape<'a>(
    incoming: &'a IncomingBulk<'a>,
    max_operations: usize,
) -> Result<Vec<Checked<'a>>, OpError> {
    let schemas_ok = incoming
        .schemas
        .as_ref()
        .is_some_and(|schemas| schemas.iter().any(|s| s == BULK_REQUEST_SCHEMA));
    if !schemas_ok {
        return Err(OpError::invalid_syntax(format!(
            "schemas must contain {BULK_REQUEST_SCHEMA:?}"
        )));
    }
    let operations = incoming
        .operations
        .as_ref()
        .ok_or_else(|| OpError::invalid_syntax("Operations is required"))?;
    if operations.len() > max_operations {
        return Err(OpError::too_large(format!(
            "the bulk request has {} operations, more than maxOperations ({max_operations})",
            operations.len()
        )));
    }
    let mut problems = Vec::new();
    let mut checked = Vec::with_capacity(operations.len());
    let mut bulk_ids: HashMap<&str, usize> = HashMap::new();
    for (index, op) in operations.iter().enumerate() {
        let method = match op.method.parse::<BulkMethod>() {
            Ok(method) => method,
            Err(error) => {
                problems.push(format!("Operations[{index}]: {error}"));
                continue;
            }
        };
        let bulk_id = op.bulk_id.as_deref();
        if method == BulkMethod::Post && bulk_id.is_none_or(str::is_empty) {
            problems.push(format!("Operations[{index}]: bulkId is required for POST"));
        }
        if let Some(bulk_id) = bulk_id.filter(|_| method == BulkMethod::Post) {
            if let Some(first) = bulk_ids.insert(bulk_id, index) {
                problems.push(format!(
                    "Operations[{index}]: bulkId '{bulk_id}' is already used by Operations[{first}]"
                ));
            }
        }
        let path = op.path.as_deref().unwrap_or("");
        if path.is_empty() {
            problems.push(format!("Operations[{index}]: path is required"));
        }
        if method.requires_data() && op.data.is_none() {
            problems.push(format!(
                "Operations[{index}]: data is required for {method}"
            ));
        }
        checked.push(Checked {
            method,
            bulk_id,
            path,
            data: op.data,
        });
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(OpError::invalid_syntax(problems.join("; ")))
    }
}

/// Null mode: every operation succeeds and nothing is stored.
fn answer_null(shared: &Shared, operations: &[Checked<'_>]) -> Vec<u8> {
    #[derive(Serialize)]
    struct NullResult<'a> {
        method: &'static str,
        #[serde(rename = "bulkId", skip_serializing_if = "Option::is_none")]
        bulk_id: Option<&'a str>,
        location: String,
        status: &'static str,
    }
    let mut results = Vec::with_capacity(operations.len());
    for op in operations {
        let path = op.path.trim_start_matches('/');
        let (location, status) = match op.method {
            BulkMethod::Post => {
                let id = shared.null_ids.fetch_add(1, Ordering::Relaxed) + 1;
                (
                    format!("{}/api/v2/{path}/{id:012x}", shared.base_url),
                    "201",
                )
            }
            BulkMethod::Put | BulkMethod::Patch => {
                (format!("{}/api/v2/{path}", shared.base_url), "200")
            }
            BulkMethod::Delete => (format!("{}/api/v2/{path}", shared.base_url), "204"),
        };
        results.push(NullResult {
            method: op.method.as_str(),
            bulk_id: op.bulk_id,
            location,
            status,
        });
    }
    shared.store().counters.operations_applied += operations.len() as u64;
    #[derive(Serialize)]
    struct NullResponse<'a> {
        schemas: [&'static str; 1],
        #[serde(rename = "Operations")]
        operations: Vec<NullResult<'a>>,
    }
    serde_json::to_vec(&NullResponse {
        schemas: [map_entities::BULK_RESPONSE_SCHEMA],
        operations: results,
    })
    .unwrap_or_default()
}

/// Applies the operations in order under one lock, so concurrent requests never interleave.
fn apply_all(shared: &Shared, operations: &[Checked<'_>], fail_on_errors: Option<u64>) -> Vec<u8> {
    let now = shared.now();
    let mut store = shared.store();
    // bulkId → the id it created, or None if its POST failed.
    let mut created: HashMap<&str, Option<String>> = HashMap::new();
    let mut errors = 0u64;
    let mut results = Vec::with_capacity(operations.len());
    for op in operations {
        let mut result = BulkOperation::new(op.method, String::new());
        result.path = None;
        result.bulk_id = op.bulk_id.map(str::to_owned);
        match apply_one(&mut store, &created, op, &now) {
            Ok((kind, id, status)) => {
                if let Some(bulk_id) = op.bulk_id.filter(|_| op.method == BulkMethod::Post) {
                    *store
                        .counters
                        .applied_by_bulk_id
                        .entry(bulk_id.to_owned())
                        .or_default() += 1;
                    created.insert(bulk_id, Some(id.clone()));
                }
                store.count_applied(kind, &id);
                result.location = Some(store.location(kind, &id));
                result.status = Some(status.to_owned());
            }
            Err((location, error)) => {
                if let Some(bulk_id) = op.bulk_id.filter(|_| op.method == BulkMethod::Post) {
                    created.insert(bulk_id, None);
                }
                store.counters.operations_failed += 1;
                errors += 1;
                result.location = location;
                result.status = Some(error.status.to_string());
                result.response = Some(OperationResponse::Error(Box::new(error.to_map_error())));
            }
        }
        results.push(result);
        if fail_on_errors.is_some_and(|limit| limit > 0 && errors >= limit) {
            break;
        }
    }
    drop(store);
    serde_json::to_vec(&BulkResponsePayload::new(results)).unwrap_or_default()
}

type Applied = (ResourceType, String, &'static str);

fn apply_one(
    store: &mut Store,
    created: &HashMap<&str, Option<String>>,
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
    match (op.method, id, data) {
        (BulkMethod::Post, None, Some(data)) => {
            let (id, _) = store.create(kind, data, now).map_err(fail)?;
            Ok((kind, id, "201"))
        }
        (BulkMethod::Put, Some(id), Some(data)) => {
            store.replace(kind, &id, data, now).map_err(fail)?;
            Ok((kind, id, "200"))
        }
        (BulkMethod::Patch, Some(id), Some(data)) => {
            store.patch(kind, &id, &data, now).map_err(fail)?;
            Ok((kind, id, "200"))
        }
        (BulkMethod::Delete, Some(id), _) => {
            store.delete(kind, &id).map_err(fail)?;
            Ok((kind, id, "204"))
        }
        (BulkMethod::Post, Some(_), _) => Err(fail(OpError::new(
            400,
            Some("invalidPath"),
            "POST takes a resource type path such as /Users, without an id",
        ))),
        (method, None, _) => Err(fail(OpError::new(
            400,
            Some("invalidPath"),
            format!("{method} needs a path with an id, such as /Users/ID"),
        ))),
        (method, Some(_), None) => Err(fail(OpError::invalid_syntax(format!(
            "data is required for {method}"
        )))),
    }
}

/// `/Users`, `Users/ID` or `/Groups/bulkId:g1` → the resource type and id.
fn resolve_path(
    path: &str,
    created: &HashMap<&str, Option<String>>,
) -> Result<(ResourceType, Option<String>), OpError> {
    let mut segments = path.trim_start_matches('/').split('/');
    let endpoint = segments.next().unwrap_or("");
    let kind = ResourceType::from_endpoint(endpoint).ok_or_else(|| {
        OpError::new(
            400,
            Some("invalidPath"),
            format!("unknown resource type {endpoint:?}: expected Users, Groups or Services"),
        )
    })?;
    let id = match segments.next() {
        None | Some("") => None,
        Some(segment) => Some(match parse_bulk_id_reference(segment) {
            Some(bulk_id) => resolve(bulk_id, created)?,
            None => segment.to_owned(),
        }),
    };
    if segments.any(|s| !s.is_empty()) {
        return Err(OpError::new(
            400,
            Some("invalidPath"),
            format!("path {path:?} has too many segments"),
        ));
    }
    Ok((kind, id))
}

fn resolve(bulk_id: &str, created: &HashMap<&str, Option<String>>) -> Result<String, OpError> {
    match created.get(bulk_id) {
        Some(Some(id)) => Ok(id.clone()),
        Some(None) => Err(OpError::invalid_value(format!(
            "bulkId '{bulk_id}' refers to an operation that failed"
        ))),
        None => Err(OpError::invalid_value(format!(
            "bulkId '{bulk_id}' is not defined by an earlier POST of this request"
        ))),
    }
}

fn resolve_references(
    data: &mut Value,
    created: &HashMap<&str, Option<String>>,
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
