//! `POST /api/v2/Bulk`: check credentials, shape and limits, then apply the operations
//! ([`crate::apply`]), or in null mode answer them without storing anything.

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
use map_entities::{BULK_REQUEST_SCHEMA, BulkMethod, BulkRequestPayload};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::apply;
use crate::auth::{check_bearer, check_signature};
use crate::error::{OpError, json_response};
use crate::server::Shared;

/// The handler of `POST /api/v2/Bulk`.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    shared.store().counters.bulk_requests += 1;
    match process(&shared, &headers, body).await {
        Ok((answer, operations)) => {
            let mut response = json_response(StatusCode::OK, answer);
            response.extensions_mut().insert(Processed { operations });
            response
        }
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
pub(crate) struct Checked<'a> {
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<&'a str>,
    /// The path exactly as sent (results echo it so).
    pub(crate) path: &'a str,
    pub(crate) data: Option<&'a RawValue>,
}

/// How many operations a bulk request carried, for the server time they take
/// ([`crate::Load::per_operation`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Processed {
    pub(crate) operations: usize,
}

/// The answer to a bulk request, and how many operations it carried.
async fn process(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Vec<u8>, usize), OpError> {
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
    let answer = if config.null_mode {
        answer_null(shared, &operations)
    } else {
        apply::apply_all(shared, &operations, incoming.fail_on_errors)
    };
    Ok((answer, operations.len()))
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
        // mAP Core's own client sends POSTs without a bulkId when nothing refers to them.
        let bulk_id = op.bulk_id.as_deref();
        if bulk_id == Some("") {
            problems.push(format!("Operations[{index}]: bulkId must not be empty"));
        }
        if let Some(bulk_id) = bulk_id.filter(|_| method == BulkMethod::Post)
            && let Some(first) = bulk_ids.insert(bulk_id, index)
        {
            problems.push(format!(
                "Operations[{index}]: bulkId '{bulk_id}' is already used by Operations[{first}]"
            ));
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
        path: &'a str,
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
            path: op.path,
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
