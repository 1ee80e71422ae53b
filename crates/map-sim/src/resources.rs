//! The resource endpoints: `/api/v2/{Users,Groups,Services}[/{id}]` and
//! `/api/v2/Existeppn/{eppn}`, with the same credentials as the bulk endpoint (query
//! parameters on GET and DELETE, a `request` object in JSON bodies).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use map_entities::LIST_RESPONSE_SCHEMA;
use serde_json::{Map, Value, json};

use crate::auth::{check_bearer, check_signature};
use crate::error::{OpError, json_response};
use crate::server::Shared;
use crate::store::{Resource, ResourceType, Store};

type Params = Query<HashMap<String, String>>;

fn kind_of(endpoint: &str) -> Result<ResourceType, OpError> {
    ResourceType::from_endpoint(endpoint).ok_or_else(|| {
        OpError::new(
            404,
            Some("invalidPath"),
            format!("no endpoint {endpoint:?}"),
        )
    })
}

/// Auth for GET and DELETE: Bearer plus `time_stamp` and `signature` in the query.
fn check_query_auth(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(), OpError> {
    let config = &shared.config;
    check_bearer(headers, &config.credentials)?;
    check_signature(
        &config.credentials,
        config.clock.as_ref(),
        config.time_window_secs,
        params.get("time_stamp").map(String::as_str),
        params.get("signature").map(String::as_str),
    )
}

/// Auth for POST, PUT and PATCH: Bearer plus the body's `request` object, which is taken out;
/// returns the rest of the body.
fn check_body_auth(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, OpError> {
    let config = &shared.config;
    check_bearer(headers, &config.credentials)?;
    let mut data: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| OpError::invalid_syntax(format!("the body is not a JSON object: {e}")))?;
    let request = data.remove("request");
    let field = |name: &str| {
        request
            .as_ref()
            .and_then(|r| r.get(name))
            .and_then(Value::as_str)
    };
    check_signature(
        &config.credentials,
        config.clock.as_ref(),
        config.time_window_secs,
        field("time_stamp"),
        field("signature"),
    )?;
    Ok(Value::Object(data))
}

fn resource_response(status: StatusCode, resource: &Resource) -> Response {
    json_response(status, serde_json::to_vec(resource).unwrap_or_default())
}

fn answer(result: Result<Response, OpError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/v2/{type}?filter=…&startIndex=…&count=…`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    answer((|| {
        let kind = kind_of(&endpoint)?;
        check_query_auth(&shared, &headers, &params)?;
        let filter = params.get("filter").map(|f| Filter::parse(f)).transpose()?;
        let number = |name: &str| -> Result<Option<usize>, OpError> {
            params
                .get(name)
                .map(|v| {
                    v.parse().map_err(|_| {
                        OpError::invalid_value(format!("{name} must be a whole number"))
                    })
                })
                .transpose()
        };
        let start_index = number("startIndex")?.unwrap_or(1).max(1);
        let count = number("count")?;
        let store = shared.store();
        let matching: Vec<&Resource> = store
            .list(kind)
            .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)))
            .collect();
        let page: Vec<&Resource> = matching
            .iter()
            .skip(start_index - 1)
            .take(count.unwrap_or(usize::MAX))
            .copied()
            .collect();
        let body = json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": matching.len(),
            "startIndex": start_index,
            "itemsPerPage": page.len(),
            "Resources": page,
        });
        Ok(json_response(
            StatusCode::OK,
            serde_json::to_vec(&body).unwrap_or_default(),
        ))
    })())
}

/// A write with a JSON body (POST, PUT, PATCH): auth, then `apply` under the store's lock,
/// counted as applied or failed, answered with the resource.
fn apply_body(
    shared: &Shared,
    endpoint: &str,
    headers: &HeaderMap,
    body: &[u8],
    status: StatusCode,
    apply: impl FnOnce(&mut Store, ResourceType, Value, &str) -> Result<(String, Resource), OpError>,
) -> Response {
    answer((|| {
        let kind = kind_of(endpoint)?;
        let data = check_body_auth(shared, headers, body)?;
        let now = shared.now();
        let mut store = shared.store();
        let (id, resource) = apply(&mut store, kind, data, &now)
            .inspect_err(|_| store.counters.operations_failed += 1)?;
        store.count_applied(kind, &id);
        Ok(resource_response(status, &resource))
    })())
}

/// `POST /api/v2/{type}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_body(
        &shared,
        &endpoint,
        &headers,
        &body,
        StatusCode::CREATED,
        |store, kind, data, now| store.create(kind, data, now),
    )
}

/// `GET /api/v2/{type}/{id}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path((endpoint, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    answer((|| {
        let kind = kind_of(&endpoint)?;
        check_query_auth(&shared, &headers, &params)?;
        let store = shared.store();
        let resource = store
            .get(kind, &id)
            .ok_or_else(|| OpError::not_found(&id))?;
        Ok(resource_response(StatusCode::OK, resource))
    })())
}

/// `PUT /api/v2/{type}/{id}`.
pub(crate) async fn replace(
    State(shared): State<Arc<Shared>>,
    Path((endpoint, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_body(
        &shared,
        &endpoint,
        &headers,
        &body,
        StatusCode::OK,
        |store, kind, data, now| {
            store
                .replace(kind, &id, data, now)
                .map(|resource| (id.clone(), resource))
        },
    )
}

/// `PATCH /api/v2/{type}/{id}`.
pub(crate) async fn patch(
    State(shared): State<Arc<Shared>>,
    Path((endpoint, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_body(
        &shared,
        &endpoint,
        &headers,
        &body,
        StatusCode::OK,
        |store, kind, data, now| {
            store
                .patch(kind, &id, &data, now)
                .map(|resource| (id.clone(), resource))
        },
    )
}

/// `DELETE /api/v2/{type}/{id}`.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((endpoint, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    answer((|| {
        let kind = kind_of(&endpoint)?;
        check_query_auth(&shared, &headers, &params)?;
        let mut store = shared.store();
        store
            .delete(kind, &id)
            .inspect_err(|_| store.counters.operations_failed += 1)?;
        store.count_applied(kind, &id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// `GET /api/v2/Existeppn/{eppn}`: the user with that ePPN, or 400 when there is none (as mAP
/// Core answers).
pub(crate) async fn exist_eppn(
    State(shared): State<Arc<Shared>>,
    Path(eppn): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    answer((|| {
        check_query_auth(&shared, &headers, &params)?;
        let store = shared.store();
        let user = store
            .user_by_eppn(&eppn)
            .ok_or_else(|| OpError::new(400, Some("noTarget"), format!("'{eppn}' Not Found")))?;
        Ok(resource_response(StatusCode::OK, user))
    })())
}

/// `ATTRIBUTE eq "VALUE"`: a string attribute equal to VALUE, or a multi-valued attribute with
/// an element whose `value` is VALUE.
struct Filter {
    attribute: String,
    value: String,
}

impl Filter {
    fn parse(text: &str) -> Result<Filter, OpError> {
        let invalid = || {
            OpError::new(
                400,
                Some("invalidFilter"),
                format!("filter {text:?} is not ATTRIBUTE eq \"VALUE\""),
            )
        };
        let mut words = text.trim().splitn(3, ' ');
        let (Some(attribute), Some(operator), Some(literal)) =
            (words.next(), words.next(), words.next())
        else {
            return Err(invalid());
        };
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(invalid());
        }
        let value: String = serde_json::from_str(literal.trim()).map_err(|_| invalid())?;
        Ok(Filter {
            attribute: attribute.to_owned(),
            value,
        })
    }

    fn matches(&self, resource: &Resource) -> bool {
        match resource.get(&self.attribute) {
            Some(Value::String(text)) => *text == self.value,
            Some(Value::Array(items)) => items.iter().any(|item| {
                item.get("value").and_then(Value::as_str) == Some(&self.value)
                    || item.as_str() == Some(&self.value)
            }),
            _ => false,
        }
    }
}
