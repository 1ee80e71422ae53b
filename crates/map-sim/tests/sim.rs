//! The simulator over real HTTP: bulk semantics, auth, shape, limits, resource endpoints,
//! null mode, every fault, and concurrent requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use map_auth::{Credentials, FixedClock, Signer};
use map_entities::{BulkOperation, BulkRequestPayload, MapError, OperationResponse};
use map_sim::{Fault, FaultPlan, SimConfig, Simulator};
use map_transport::{Delivery, HyperTransport, Transport, TransportConfig, TransportError};
use serde_json::{Value, json};
use support::Client;

fn user(name: &str) -> Value {
    json!({"schemas": [map_entities::USER_SCHEMA], "userName": name,
           "eduPersonPrincipalNames": [{"value": format!("{name}@idp.example.ac.jp")}],
           "emails": [{"value": format!("{name}@example.ac.jp")}]})
}

fn error_of(result: &BulkOperation) -> &MapError {
    match &result.response {
        Some(OperationResponse::Error(error)) => error,
        other => panic!("expected an error, found {other:?}"),
    }
}

fn map_error(response: &http::Response<Bytes>) -> MapError {
    serde_json::from_slice(response.body()).unwrap()
}

async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config).await.unwrap()
}

#[tokio::test]
async fn a_job_with_references_is_applied_in_order() {
    let sim = start(SimConfig::default()).await;
    let client = Client::new(&sim);
    let payload = BulkRequestPayload::new(vec![
        BulkOperation::post("/Users", "u1", user("alice")),
        BulkOperation::post("Users", "u2", user("bob")),
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"id": "lab-a", "displayName": "Lab A",
                   "members": [{"type": "User", "value": "bulkId:u1"}, {"type": "User", "value": "bulkId:u2"}],
                   "administrators": [{"value": "bulkId:u1"}]}),
        ),
        BulkOperation::patch(
            "/Groups/bulkId:g1",
            json!({"schemas": [map_entities::PATCH_OP_SCHEMA],
                   "Operations": [{"op": "replace", "path": "description", "value": "Members of lab A"}]}),
        ),
        BulkOperation::delete("/Users/no-such-user"),
    ]);
    let response = client.bulk(&payload).await;
    let statuses: Vec<_> = response
        .operations
        .iter()
        .map(|r| r.status_code())
        .collect();
    assert_eq!(
        statuses,
        [Some(201), Some(201), Some(201), Some(200), Some(400)]
    );
    assert_eq!(response.operations[0].bulk_id.as_deref(), Some("u1"));
    let paths: Vec<_> = response
        .operations
        .iter()
        .map(|r| r.path.as_deref())
        .collect();
    assert_eq!(
        paths,
        [
            Some("/Users"),
            Some("Users"),
            Some("/Groups"),
            Some("/Groups/bulkId:g1"),
            Some("/Users/no-such-user")
        ],
        "results echo each path as sent, as mAP Core does"
    );
    assert_eq!(
        response.operations[1].data.as_ref(),
        Some(&user("bob")),
        "and its data"
    );
    assert!(
        response.operations[4].data.is_none() && response.operations[4].location.is_none(),
        "a DELETE's result is method, path and status (and here its error)"
    );
    let alice_id = response.operations[0].resource_id().unwrap().to_owned();
    assert_eq!(
        response.operations[0].location.as_deref(),
        Some(format!("{}/api/v2/Users/{alice_id}", sim.base_url()).as_str())
    );
    assert_eq!(
        error_of(&response.operations[4]).detail.as_deref(),
        Some("'no-such-user' Not Found")
    );

    let snapshot = sim.snapshot();
    assert_eq!(snapshot.users.len(), 2);
    let group = &snapshot.groups[0];
    assert_eq!(group.id.as_deref(), Some("lab-a"));
    assert_eq!(group.description.as_deref(), Some("Members of lab A"));
    let members: Vec<_> = group
        .members
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.value.clone().unwrap())
        .collect();
    assert_eq!(members[0], alice_id, "bulkId:u1 became alice's real id");
    assert!(
        snapshot
            .users
            .iter()
            .all(|u| u.meta.as_ref().unwrap().created.is_some())
    );

    let counters = sim.counters();
    assert_eq!(counters.applied_by_bulk_id.get("u1"), Some(&1));
    assert_eq!(
        counters.applied_by_resource.get("/Groups/lab-a"),
        Some(&2),
        "created, then patched"
    );
    assert_eq!(
        (counters.operations_applied, counters.operations_failed),
        (4, 1)
    );
}

#[tokio::test]
async fn references_that_cannot_resolve_fail_their_operation() {
    let sim = start(SimConfig::default()).await;
    let client = Client::new(&sim);
    let payload = BulkRequestPayload::new(vec![
        BulkOperation::post(
            "/Groups",
            "g1",
            json!({"id": "g", "members": [{"type": "User", "value": "bulkId:nobody"}]}),
        ),
        BulkOperation::post(
            "/Users",
            "u1",
            json!({"userName": "x", "emails": "not-a-list"}),
        ),
        BulkOperation::post(
            "/Groups",
            "g2",
            json!({"id": "h", "members": [{"type": "User", "value": "bulkId:u1"}]}),
        ),
        BulkOperation::post("/Groups", "g3", json!({"id": "lab", "displayName": "ok"})),
        BulkOperation::post("/Groups", "g4", json!({"id": "lab"})),
    ]);
    let response = client.bulk(&payload).await;
    let undefined = error_of(&response.operations[0]);
    assert_eq!(
        (undefined.status.as_deref(), undefined.scim_type.as_deref()),
        (Some("400"), Some("invalidValue"))
    );
    assert!(
        undefined
            .detail
            .as_deref()
            .unwrap()
            .contains("bulkId 'nobody' is not defined")
    );
    assert!(
        error_of(&response.operations[1])
            .detail
            .as_deref()
            .unwrap()
            .contains("emails")
    );
    assert!(
        error_of(&response.operations[2])
            .detail
            .as_deref()
            .unwrap()
            .contains("failed")
    );
    assert_eq!(response.operations[3].status_code(), Some(201));
    assert_eq!(
        error_of(&response.operations[4]).detail.as_deref(),
        Some("Duplicate id 'lab'")
    );
    assert_eq!(response.operations[4].status_code(), Some(409));
}

#[tokio::test]
async fn fail_on_errors_stops_processing() {
    let sim = start(SimConfig::default()).await;
    let client = Client::new(&sim);
    let payload = BulkRequestPayload::new(vec![
        BulkOperation::delete("/Users/a"),
        BulkOperation::post("/Users", "u1", user("carol")),
        BulkOperation::delete("/Users/b"),
        BulkOperation::post("/Users", "u2", user("dave")),
    ])
    .with_fail_on_errors(2);
    let response = client.bulk(&payload).await;
    assert_eq!(
        response.operations.len(),
        3,
        "stopped after the second error"
    );
    assert_eq!(sim.snapshot().users.len(), 1);
}

#[tokio::test]
async fn a_forward_reference_waits_for_its_post_and_a_stop_waits_for_it() {
    let sim = start(SimConfig::default()).await;
    let client = Client::new(&sim);
    let payload = BulkRequestPayload::new(vec![
        // Names a group created two operations later.
        BulkOperation::put("/Groups/bulkId:g", json!({"displayName": "Renamed"})),
        // Fails: with failOnErrors 1 the request stops, but only once nothing waits.
        BulkOperation::post("/Users", "bad", json!({"emails": []})),
        BulkOperation::post("/Groups", "g", json!({"id": "lab", "displayName": "Lab"})),
        BulkOperation::post("/Users", "never", user("erin")),
    ])
    .with_fail_on_errors(1);
    let response = client.bulk(&payload).await;
    let statuses: Vec<_> = response
        .operations
        .iter()
        .map(|r| r.status_code())
        .collect();
    assert_eq!(
        statuses,
        [Some(200), Some(400), Some(201)],
        "results are those of a prefix of the operations, in order"
    );
    assert_eq!(
        sim.snapshot().groups[0].display_name.as_deref(),
        Some("Renamed")
    );
    assert!(
        sim.snapshot().users.is_empty(),
        "the last POST was not processed"
    );
}

#[tokio::test]
async fn credentials_are_checked_and_nothing_is_applied_without_them() {
    let sim = start(SimConfig::default().with_clock(FixedClock::at(1_700_000_000))).await;
    let body = json!({"schemas": [map_entities::BULK_REQUEST_SCHEMA],
                      "Operations": [{"method": "POST", "bulkId": "u1", "path": "/Users", "data": user("eve")}]});
    let good_time = FixedClock::at(1_700_000_100);

    let wrong_secret = Client::with_signer(
        &sim,
        Signer::new(Credentials::new(
            sim.credentials().access_token.expose_secret(),
            "wrong",
        ))
        .with_clock(good_time.clone()),
    );
    let stale = Client::with_signer(
        &sim,
        Signer::new(sim.credentials().clone()).with_clock(FixedClock::at(1_699_999_000)),
    );
    let wrong_token = Client::with_signer(
        &sim,
        Signer::new(Credentials::new("other-token", "x")).with_clock(good_time.clone()),
    );
    for (client, needle) in [
        (&wrong_secret, "signature does not match"),
        (&stale, "at most 300s"),
        (&wrong_token, "invalid access token"),
    ] {
        let response = client.bulk_raw(body.clone()).await.unwrap();
        assert_eq!(response.status(), 401);
        let error = map_error(&response);
        assert_eq!(error.status.as_deref(), Some("401"));
        assert!(
            error.detail.as_deref().unwrap().contains(needle),
            "{error:?}"
        );
    }
    // No Authorization header at all.
    let plain = HyperTransport::new(TransportConfig::default()).unwrap();
    let request = http::Request::post(format!("{}/api/v2/Bulk", sim.base_url()))
        .body(Bytes::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    assert_eq!(plain.send(request).await.unwrap().status(), 401);

    let good = Client::with_signer(
        &sim,
        Signer::new(sim.credentials().clone()).with_clock(good_time),
    );
    assert_eq!(good.bulk_raw(body).await.unwrap().status(), 200);
    let counters = sim.counters();
    assert_eq!(
        (
            counters.bulk_requests,
            counters.bulk_requests_refused,
            counters.operations_applied
        ),
        (5, 4, 1)
    );
}

#[tokio::test]
async fn malformed_requests_are_refused_whole_naming_the_operation() {
    let sim = start(SimConfig::default()).await;
    let client = Client::new(&sim);
    let schemas = json!([map_entities::BULK_REQUEST_SCHEMA]);
    let cases = [
        (
            json!({"schemas": schemas, "Operations": [{"method": "POST", "bulkId": "a", "path": "/Users", "data": user("a")},
                                                   {"method": "PUTCH", "path": "/Users/1", "data": {}}]}),
            "Operations[1]: unknown method \"PUTCH\"",
        ),
        (
            json!({"schemas": schemas, "Operations": [{"method": "POST", "bulkId": "", "path": "/Users", "data": user("a")}]}),
            "Operations[0]: bulkId must not be empty",
        ),
        (
            json!({"schemas": schemas, "Operations": [{"method": "PATCH", "path": "/Users/1"}]}),
            "Operations[0]: data is required for PATCH",
        ),
        (
            json!({"schemas": schemas, "Operations": [{"method": "DELETE"}]}),
            "Operations[0]: path is required",
        ),
        (
            json!({"schemas": schemas, "Operations": [{"method": "POST", "bulkId": "a", "path": "/Users", "data": user("a")},
                                                   {"method": "POST", "bulkId": "a", "path": "/Users", "data": user("b")}]}),
            "Operations[1]: bulkId 'a' is already used by Operations[0]",
        ),
        (
            json!({"schemas": ["urn:example:Other"], "Operations": []}),
            "schemas must contain",
        ),
        (
            json!({"schemas": schemas, "Operations": {"method": "POST"}}),
            "Operations",
        ),
    ];
    for (body, needle) in cases {
        let response = client.bulk_raw(body).await.unwrap();
        assert_eq!(response.status(), 400);
        let error = map_error(&response);
        assert!(
            error.detail.as_deref().unwrap().contains(needle),
            "{needle}: {error:?}"
        );
    }
    let response = client
        .send("POST", "/api/v2/Bulk", None, b"{\"not json")
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        sim.snapshot().users.is_empty(),
        "a refused request applies nothing"
    );
}

#[tokio::test]
async fn limits_answer_413_naming_the_limit() {
    let sim = start(
        SimConfig::default()
            .with_max_operations(2)
            .with_max_payload_bytes(2000),
    )
    .await;
    let client = Client::new(&sim);
    let three = BulkRequestPayload::new(
        (0..3)
            .map(|i| BulkOperation::delete(format!("/Users/{i}")))
            .collect(),
    );
    let response = client
        .bulk_raw(serde_json::to_value(&three).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        map_error(&response)
            .detail
            .unwrap()
            .contains("maxOperations (2)")
    );

    let big = BulkRequestPayload::new(vec![BulkOperation::post(
        "/Users",
        "u1",
        json!({"userName": "x".repeat(3000)}),
    )]);
    let response = client
        .bulk_raw(serde_json::to_value(&big).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        map_error(&response)
            .detail
            .unwrap()
            .contains("maxPayloadSize (2000 bytes)")
    );
    assert!(sim.snapshot().users.is_empty());
}

#[tokio::test]
async fn resource_endpoints_serve_the_same_store() {
    let sim = start(SimConfig::default()).await;
    let client = Client::new(&sim);
    let created = client
        .send(
            "POST",
            "/api/v2/Users",
            None,
            &serde_json::to_vec(&user("frank")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = serde_json::from_slice(created.body()).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        created.get("request").is_none(),
        "the auth object is not stored"
    );

    let fetched = client
        .send("GET", &format!("/api/v2/Users/{id}"), None, b"")
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);

    for filter in [
        "userName eq \"frank\"",
        "eduPersonPrincipalNames eq \"frank@idp.example.ac.jp\"",
        &format!("id eq \"{id}\""),
    ] {
        let query = format!(
            "filter={}",
            filter
                .replace(' ', "%20")
                .replace('"', "%22")
                .replace('@', "%40")
        );
        let listed = client
            .send("GET", "/api/v2/Users", Some(&query), b"")
            .await
            .unwrap();
        assert_eq!(listed.status(), 200, "{filter}");
        let list: map_entities::ListResponse<map_entities::MapUser> =
            serde_json::from_slice(listed.body()).unwrap();
        assert_eq!(list.total_results, 1, "{filter}");
        assert_eq!(list.resources()[0].id.as_deref(), Some(id.as_str()));
    }
    let none = client
        .send(
            "GET",
            "/api/v2/Users",
            Some("filter=userName%20eq%20%22nobody%22"),
            b"",
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(none.body()).unwrap()["totalResults"],
        0
    );

    let patched = client
        .send(
            "PATCH",
            &format!("/api/v2/Users/{id}"),
            None,
            &serde_json::to_vec(&json!({"schemas": [map_entities::PATCH_OP_SCHEMA],
                  "Operations": [{"op": "replace", "path": "preferredLanguage", "value": "ja"}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let replaced = client
        .send(
            "PUT",
            &format!("/api/v2/Users/{id}"),
            None,
            &serde_json::to_vec(&user("frank2")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(replaced.body()).unwrap()["userName"],
        "frank2"
    );

    let exists = client
        .send(
            "GET",
            "/api/v2/Existeppn/frank2@idp.example.ac.jp",
            None,
            b"",
        )
        .await
        .unwrap();
    assert_eq!(exists.status(), 200);
    let deleted = client
        .send("DELETE", &format!("/api/v2/Users/{id}"), None, b"")
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let missing = client
        .send("GET", &format!("/api/v2/Users/{id}"), None, b"")
        .await
        .unwrap();
    assert_eq!(missing.status(), 400, "mAP Core's not found is a 400");
    let error = map_error(&missing);
    assert_eq!(error.detail.unwrap(), format!("'{id}' Not Found"));
    assert_eq!(error.scim_type.as_deref(), Some("invalidValue"));
    let gone = client
        .send(
            "GET",
            "/api/v2/Existeppn/frank2@idp.example.ac.jp",
            None,
            b"",
        )
        .await
        .unwrap();
    assert_eq!(gone.status(), 400);

    // GET without the query signature is refused.
    let plain = HyperTransport::new(TransportConfig::default()).unwrap();
    let request = http::Request::get(format!("{}/api/v2/Users", sim.base_url()))
        .header(
            "authorization",
            format!("Bearer {}", sim.credentials().access_token.expose_secret()),
        )
        .body(Bytes::new())
        .unwrap();
    assert_eq!(plain.send(request).await.unwrap().status(), 401);
}

#[tokio::test]
async fn lists_page_by_twenty_unless_asked_and_count_the_rest() {
    let sim = start(SimConfig::default()).await;
    let client = Client::new(&sim);
    let users: Vec<BulkOperation> = (0..45)
        .map(|i| BulkOperation::post("/Users", format!("u{i}"), user(&format!("user{i:02}"))))
        .collect();
    client.bulk(&BulkRequestPayload::new(users)).await;
    let page = |query: &'static str| {
        let client = &client;
        async move {
            let response = client
                .send("GET", "/api/v2/Users", Some(query), b"")
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{query}");
            serde_json::from_slice::<Value>(response.body()).unwrap()
        }
    };
    let first = page("sortBy=userName").await;
    assert_eq!(
        (
            &first["totalResults"],
            &first["itemsPerPage"],
            &first["startIndex"]
        ),
        (&json!(45), &json!(20), &json!(1))
    );
    assert_eq!(first["Resources"][0]["userName"], "user00");
    let third = page("sortBy=userName&startIndex=41").await;
    assert_eq!(third["itemsPerPage"], 5);
    assert_eq!(third["Resources"][4]["userName"], "user44");
    let last_first = page("sortBy=userName&sortOrder=descending&count=1").await;
    assert_eq!(last_first["Resources"][0]["userName"], "user44");
    let counted = page("count=0").await;
    assert_eq!(
        (&counted["totalResults"], &counted["itemsPerPage"]),
        (&json!(45), &json!(0))
    );
    let some = page("filter=userName%20sw%20%22user1%22&attributes=userName").await;
    assert_eq!(some["totalResults"], 10);
    assert_eq!(
        some["Resources"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id", "schemas", "userName"]
    );
}

#[tokio::test]
async fn self_is_the_token_s_user_when_there_is_one() {
    let sim = start(SimConfig::default()).await;
    let none = Client::new(&sim)
        .send("GET", "/api/v2/Self", None, b"")
        .await
        .unwrap();
    assert_eq!(none.status(), 400);
    assert_eq!(map_error(&none).detail.as_deref(), Some("'Self' Not Found"));
    let sim = start(SimConfig::default().with_self_user(user("owner"))).await;
    let client = Client::new(&sim);
    let owner = client
        .send("GET", "/api/v2/Self", Some("attributes=userName"), b"")
        .await
        .unwrap();
    assert_eq!(owner.status(), 200);
    let owner: Value = serde_json::from_slice(owner.body()).unwrap();
    assert_eq!(owner["userName"], "owner");
    assert!(owner.get("emails").is_none(), "attributes apply: {owner}");
    // The users it creates name it.
    let created = client
        .send(
            "POST",
            "/api/v2/Users",
            None,
            &serde_json::to_vec(&user("new")).unwrap(),
        )
        .await
        .unwrap();
    let created: Value = serde_json::from_slice(created.body()).unwrap();
    assert_eq!(created["meta"]["createdBy"], owner["id"]);
}

#[tokio::test]
async fn null_mode_checks_and_answers_but_stores_nothing() {
    let sim = start(SimConfig::default().with_null_mode(true)).await;
    let client = Client::new(&sim);
    let payload = BulkRequestPayload::new(vec![
        BulkOperation::post("/Users", "u1", user("a")),
        BulkOperation::post("/Users", "u2", user("a")),
        BulkOperation::delete("/Users/x"),
    ]);
    let response = client.bulk(&payload).await;
    let statuses: Vec<_> = response
        .operations
        .iter()
        .map(|r| r.status_code())
        .collect();
    assert_eq!(statuses, [Some(201), Some(201), Some(204)]);
    assert_ne!(
        response.operations[0].resource_id(),
        response.operations[1].resource_id()
    );
    assert!(sim.snapshot().users.is_empty());
    assert_eq!(sim.counters().operations_applied, 3);
    // Auth is still checked.
    let wrong = Client::with_signer(&sim, Signer::new(Credentials::new("x", "y")));
    assert_eq!(
        wrong
            .bulk_raw(serde_json::to_value(&payload).unwrap())
            .await
            .unwrap()
            .status(),
        401
    );
}

fn one_user(name: &str) -> BulkRequestPayload {
    BulkRequestPayload::new(vec![BulkOperation::post("/Users", name, user(name))])
}

#[tokio::test]
async fn faults_strike_the_numbered_requests() {
    let plan = FaultPlan::none()
        .on_request(
            1,
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
        )
        .on_request(
            2,
            Fault::Unavailable {
                retry_after_secs: 3,
            },
        )
        .on_request(3, Fault::InternalError)
        .on_request(4, Fault::BadGateway)
        .on_request(5, Fault::CloseBeforeReading)
        .on_request(6, Fault::CloseAfterApplying)
        .on_request(7, Fault::TruncatedBody)
        .on_request(8, Fault::Delay(Duration::from_millis(50)));
    let sim = start(SimConfig::default().with_faults(plan)).await;
    let client = Client::new(&sim);
    let send = |name: &'static str| {
        let client = &client;
        async move {
            client
                .bulk_raw(serde_json::to_value(one_user(name)).unwrap())
                .await
        }
    };

    let r429 = send("r1").await.unwrap();
    assert_eq!(
        (r429.status().as_u16(), &r429.headers()["retry-after"]),
        (429, &"7".parse::<http::HeaderValue>().unwrap())
    );
    let r503 = send("r2").await.unwrap();
    assert_eq!(
        (
            r503.status().as_u16(),
            r503.headers()["retry-after"].to_str().unwrap()
        ),
        (503, "3")
    );
    assert_eq!(send("r3").await.unwrap().status(), 500);
    assert_eq!(send("r4").await.unwrap().status(), 502);
    assert_eq!(map_error(&r503).status.as_deref(), Some("503"));

    let closed_before = send("r5").await.unwrap_err();
    assert_eq!(
        closed_before.delivery(),
        Delivery::MayHaveBeenApplied,
        "{closed_before:?}"
    );
    let closed_after = send("r6").await.unwrap_err();
    assert!(
        matches!(closed_after, TransportError::ConnectionClosed { .. }),
        "{closed_after:?}"
    );
    let truncated = send("r7").await.unwrap_err();
    assert!(
        matches!(truncated, TransportError::TruncatedBody { .. }),
        "{truncated:?}"
    );
    assert_eq!(send("r8").await.unwrap().status(), 200);

    // Only the requests the server processed were applied: close-after, truncate, delay.
    let applied: Vec<_> = sim.counters().applied_by_bulk_id.into_keys().collect();
    assert_eq!(applied, ["r6", "r7", "r8"]);
    assert_eq!(sim.counters().faults_injected, 8);
}

#[tokio::test]
async fn seeded_rates_are_reproducible() {
    let run = || async {
        let plan: FaultPlan = "500%50,seed=11".parse().unwrap();
        let sim = start(SimConfig::default().with_faults(plan)).await;
        let client = Client::new(&sim);
        let mut statuses = Vec::new();
        for i in 0..20 {
            let name: &'static str = Box::leak(format!("s{i}").into_boxed_str());
            statuses.push(
                client
                    .bulk_raw(serde_json::to_value(one_user(name)).unwrap())
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        statuses
    };
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_lose_no_update() {
    let sim = start(SimConfig::default()).await;
    let setup = Client::new(&sim);
    setup
        .bulk(&BulkRequestPayload::new(vec![BulkOperation::post(
            "/Groups",
            "g",
            json!({"id": "shared"}),
        )]))
        .await;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let client = Client::new(&sim);
        tasks.push(tokio::spawn(async move {
            for batch in 0..5 {
                let mut operations = Vec::new();
                for n in 0..10 {
                    let name = format!("w{worker}b{batch}n{n}");
                    operations.push(BulkOperation::post("/Users", name.clone(), user(&name)));
                    operations.push(BulkOperation::patch(
                        "/Groups/shared",
                        json!({"schemas": [map_entities::PATCH_OP_SCHEMA],
                               "Operations": [{"op": "add", "path": "members", "value": [{"type": "User", "value": format!("bulkId:{name}")}]}]}),
                    ));
                }
                let response = client.bulk(&BulkRequestPayload::new(operations)).await;
                assert!(response.operations.iter().all(|r| r.status_code() < Some(300)), "{response:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let snapshot = sim.snapshot();
    assert_eq!(snapshot.users.len(), 400);
    assert_eq!(
        snapshot.groups[0].members.as_ref().unwrap().len(),
        400,
        "every concurrent add kept"
    );
    assert!(sim.counters().applied_by_bulk_id.values().all(|&n| n == 1));
}

fn one_user_request(n: usize) -> BulkRequestPayload {
    BulkRequestPayload::new(vec![BulkOperation::post(
        "/Users",
        format!("u{n}"),
        user(&format!("load{n}")),
    )])
}

#[tokio::test]
async fn beyond_its_capacity_the_server_answers_429_and_processes_nothing() {
    let load = map_sim::Load {
        per_operation: Duration::from_secs(3),
        capacity: Some(1),
        ..map_sim::Load::default()
    };
    let sim = start(SimConfig::default().with_load(load)).await;
    let client = Client::new(&sim);
    let first = client.bulk_raw(serde_json::to_value(one_user_request(1)).unwrap());
    let second = async {
        // Once the server has the first (it holds its slot through three seconds of server
        // time after counting it), this one arrives.
        while sim.counters().bulk_requests == 0 {
            tokio::task::yield_now().await;
        }
        client
            .bulk_raw(serde_json::to_value(one_user_request(2)).unwrap())
            .await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.unwrap().status(), 200);
    let second = second.unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    let counters = sim.counters();
    assert_eq!(counters.throttled_capacity, 1);
    assert_eq!(
        counters.operations_applied, 1,
        "the turned-away request applied nothing"
    );
    assert_eq!(sim.snapshot().users.len(), 1);
    // With the slot free again it is processed.
    let again = client
        .bulk_raw(serde_json::to_value(one_user_request(2)).unwrap())
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn beyond_its_rate_the_server_says_when_a_token_is_due() {
    let load = map_sim::Load {
        rate: Some(0.5),
        ..map_sim::Load::default()
    };
    let sim = start(SimConfig::default().with_load(load)).await;
    let client = Client::new(&sim);
    let first = client
        .bulk_raw(serde_json::to_value(one_user_request(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = client
        .bulk_raw(serde_json::to_value(one_user_request(2)).unwrap())
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(
        second.headers()["retry-after"],
        "2",
        "one token every two seconds"
    );
    assert_eq!(sim.counters().throttled_rate, 1);
    assert_eq!(sim.snapshot().users.len(), 1);
}

#[tokio::test]
async fn no_answer_comes_before_the_load_s_time_has_passed_since_arrival() {
    // A lower bound only: the time is at least what the load says (from arrival, the
    // simulator's own work inside it); how much more it takes is the benchmark's business.
    let load = map_sim::Load {
        latency: Duration::from_millis(40),
        per_operation: Duration::from_millis(30),
        ..map_sim::Load::default()
    };
    let sim = start(SimConfig::default().with_load(load)).await;
    let client = Client::new(&sim);
    let payload = BulkRequestPayload::new(
        (0..3)
            .map(|n| BulkOperation::post("/Users", format!("u{n}"), user(&format!("t{n}"))))
            .collect(),
    );
    let sent = std::time::Instant::now();
    let answer = client
        .bulk_raw(serde_json::to_value(payload).unwrap())
        .await;
    assert_eq!(answer.unwrap().status(), 200);
    assert!(sent.elapsed() >= Duration::from_millis(40 + 3 * 30));
    let sent = std::time::Instant::now();
    let list = client.send("GET", "/api/v2/Users", None, b"").await;
    assert_eq!(list.unwrap().status(), 200);
    assert!(
        sent.elapsed() >= Duration::from_millis(40),
        "latency on every answer"
    );
}
