//! The resource endpoints: `/api/v2/{Users,Groups,Services}[/{id}]`,
//! `/api/v2/Existeppn/{eppn}` and `/api/v2/Self`, with the same credentials as the bulk
//! endpoint (query parameters on GET and DELETE, a `request` object in JSON bodies).
//! Every answer that carries resources honours `attributes` and `excludedAttributes`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::auth::{check_bearer, check_signature};
use crate::error::{OpError, json_response};
use crate::query::{ListQuery, Projection};
use crate::resource::{Resource, ResourceType};
use crate::server::Shared;
use crate::store::Store;

type Params = Query<HashMap<String, String>>;

fn kind_of(endpoint: &str) -> Result<ResourceType, OpError> {
    ResourceType::from_endpoint(endpoint)
        .ok_or_else(|| OpError::new(404, "noTarget", format!("no endpoint {endpoint:?}")))
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

/// `GET /api/v2/{type}?filter=…&sortBy=…&sortOrder=…&startIndex=…&count=…&attributes=…`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    answer((|| {
        let kind = kind_of(&endpoint)?;
        check_query_auth(&shared, &headers, &params)?;
        let query = ListQuery::from_params(&params)?;
        let store = shared.store();
        let page = query.page_of(store.stored_all(kind), |r| store.render(kind, r));
        Ok(json_response(
            StatusCode::OK,
            serde_json::to_vec(&page).unwrap_or_default(),
        ))
    })())
}

/// A write with a JSON body (POST, PUT, PATCH): auth, then `apply` under the store's lock,
/// counted as applied or failed, answered with the resource.
fn apply_body(
    shared: &Shared,
    (endpoint, params): (&str, &HashMap<String, String>),
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
        let resource = Projection::from_params(params).apply(resource);
        Ok(resource_response(status, &resource))
    })())
}

/// `POST /api/v2/{type}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_body(
        &shared,
        (&endpoint, &params),
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
        let resource = shared
            .store()
            .get(kind, &id)
            .ok_or_else(|| OpError::not_found(&id))?;
        let resource = Projection::from_params(&params).apply(resource);
        Ok(resource_response(StatusCode::OK, &resource))
    })())
}

/// `PUT /api/v2/{type}/{id}`.
pub(crate) async fn replace(
    State(shared): State<Arc<Shared>>,
    Path((endpoint, id)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_body(
        &shared,
        (&endpoint, &params),
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
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_body(
        &shared,
        (&endpoint, &params),
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

/// `GET /api/v2/Existeppn/{eppn}`: the user with that ePPN, or 400 `'X' Not Found` when
/// there is none (as mAP Core answers).
pub(crate) async fn exist_eppn(
    State(shared): State<Arc<Shared>>,
    Path(eppn): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    one_user(&shared, &headers, &params, &eppn, |store| {
        store.user_by_eppn(&eppn)
    })
}

/// `GET /api/v2/Self`: the user the token belongs to ([`crate::SimConfig::self_user`]), or
/// 400 `'Self' Not Found` when the simulator was given none.
pub(crate) async fn self_user(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    one_user(&shared, &headers, &params, "Self", Store::self_user)
}

/// A GET answered with the user `find` picks (`attributes` applied), or 400 `'name' Not
/// Found`.
fn one_user(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    name: &str,
    find: impl FnOnce(&Store) -> Option<Resource>,
) -> Response {
    answer((|| {
        check_query_auth(shared, headers, params)?;
        let user = find(&shared.store()).ok_or_else(|| OpError::not_found(name))?;
        let user = Projection::from_params(params).apply(user);
        Ok(resource_response(StatusCode::OK, &user))
    })())
}
