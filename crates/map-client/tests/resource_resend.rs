//! The resource client's resend rule, against a scripted server: after a lost answer a GET,
//! PUT or DELETE is sent again and a POST or PATCH never is; what was not processed (503,
//! no connection) is sent again whatever the method.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use map_auth::Credentials;
use map_client::{
    Endpoint, Pipeline, ResourceAnswer, ResourceClient, ResourceError, RetryPolicy, StandardRetry,
};
use map_entities::{MapGroup, PatchOperation};
use map_transport::{TransportError, transport_fn};
use serde_json::json;

type Reply = Result<http::Response<Bytes>, TransportError>;

/// A server that answers each request with the next of `replies` and records what it got.
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<String>>,
}

fn lost() -> Reply {
    Err(TransportError::ConnectionClosed {
        message: "reset".into(),
    })
}

fn status(code: u16, body: serde_json::Value) -> Reply {
    Ok(http::Response::builder()
        .status(code)
        .body(Bytes::from(body.to_string()))
        .unwrap())
}

fn scripted(replies: Vec<Reply>) -> (ResourceClient, Arc<Script>) {
    let script = Arc::new(Script {
        replies: Mutex::new(replies.into()),
        seen: Mutex::new(Vec::new()),
    });
    let server = script.clone();
    let transport = transport_fn(move |request: http::Request<Bytes>| {
        let server = server.clone();
        async move {
            server.seen.lock().unwrap().push(format!(
                "{} {}",
                request.method(),
                request.uri().path()
            ));
            server
                .replies
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(lost)
        }
    });
    let pipeline = Pipeline::new(
        Endpoint::new("https://map.example").unwrap(),
        Arc::new(transport),
    );
    let client = ResourceClient::new(pipeline, &Credentials::new("token", "secret"))
        .with_retry_strategy(Arc::new(StandardRetry::new(RetryPolicy::immediate(3))));
    (client, script)
}

fn seen(script: &Script) -> Vec<String> {
    script.seen.lock().unwrap().clone()
}

fn group(id: &str) -> serde_json::Value {
    json!({"id": id, "displayName": "Lab A"})
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_not_sent_again() {
    let (client, script) = scripted(vec![lost(), status(201, group("lab-a"))]);
    let document: MapGroup = serde_json::from_value(group("lab-a")).unwrap();
    let error = client.groups().create(&document).await.unwrap_err();
    assert!(
        matches!(
            error,
            ResourceError::AnswerLost {
                may_have_been_applied: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("may have been applied"));
    assert_eq!(seen(&script), ["POST /api/v2/Groups"]);
}

#[tokio::test]
async fn a_patch_whose_answer_was_lost_is_not_sent_again() {
    let (client, script) = scripted(vec![lost(), status(200, group("lab-a"))]);
    let add = PatchOperation::add("members", json!([{"type": "User", "value": "u1"}]));
    let error = client.groups().patch("lab-a", &[add]).await.unwrap_err();
    assert!(
        matches!(error, ResourceError::AnswerLost { .. }),
        "{error:?}"
    );
    assert_eq!(seen(&script), ["PATCH /api/v2/Groups/lab-a"]);
}

#[tokio::test]
async fn a_post_the_server_did_not_process_is_sent_again() {
    let (client, script) = scripted(vec![
        status(503, json!({"detail": "busy"})),
        status(201, group("lab-a")),
    ]);
    let document: MapGroup = serde_json::from_value(group("lab-a")).unwrap();
    let created = client.groups().create(&document).await.unwrap();
    assert_eq!(created.done().unwrap().id.as_deref(), Some("lab-a"));
    assert_eq!(seen(&script).len(), 2);
}

#[tokio::test]
async fn a_get_and_a_put_whose_answers_were_lost_are_sent_again() {
    let (client, script) = scripted(vec![
        lost(),
        status(200, group("lab-a")),
        lost(),
        status(200, group("lab-a")),
    ]);
    let got = client.groups().get("lab-a").await.unwrap();
    assert!(matches!(got, ResourceAnswer::Done(_)));
    let document: MapGroup = serde_json::from_value(group("lab-a")).unwrap();
    let replaced = client.groups().replace("lab-a", &document).await.unwrap();
    assert!(matches!(replaced, ResourceAnswer::Done(_)));
    assert_eq!(
        seen(&script),
        [
            "GET /api/v2/Groups/lab-a",
            "GET /api/v2/Groups/lab-a",
            "PUT /api/v2/Groups/lab-a",
            "PUT /api/v2/Groups/lab-a"
        ]
    );
}

#[tokio::test]
async fn a_delete_sent_again_that_finds_nothing_has_deleted() {
    let not_found =
        json!({"status": "400", "scimType": "invalidValue", "detail": "'lab-a' Not Found"});
    let (client, script) = scripted(vec![lost(), status(400, not_found.clone())]);
    let deleted = client.groups().delete("lab-a").await.unwrap();
    assert_eq!(deleted, ResourceAnswer::Done(()));
    assert_eq!(seen(&script).len(), 2);

    // Without a lost answer before it, not found is what it says.
    let (client, _) = scripted(vec![status(400, not_found)]);
    let missing = client.groups().delete("lab-a").await.unwrap();
    assert!(
        matches!(missing, ResourceAnswer::NotFound(_)),
        "{missing:?}"
    );
}

#[tokio::test]
async fn not_found_in_either_spelling_and_a_conflict_are_values() {
    let (client, _) = scripted(vec![
        status(404, json!({"status": "404", "detail": "no such group"})),
        status(400, json!({"status": "400", "detail": "'x' Not Found"})),
        status(
            409,
            json!({"status": "409", "detail": "Duplicate id 'lab-a'"}),
        ),
        status(
            400,
            json!({"status": "400", "scimType": "invalidFilter", "detail": "bad"}),
        ),
    ]);
    assert!(matches!(
        client.groups().get("x").await.unwrap(),
        ResourceAnswer::NotFound(_)
    ));
    assert!(matches!(
        client.groups().get("x").await.unwrap(),
        ResourceAnswer::NotFound(_)
    ));
    let document: MapGroup = serde_json::from_value(group("lab-a")).unwrap();
    match client.groups().create(&document).await.unwrap() {
        ResourceAnswer::Conflict(error) => {
            assert_eq!(error.detail.as_deref(), Some("Duplicate id 'lab-a'"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.users().get("x").await.unwrap(),
        ResourceAnswer::Refused(_)
    ));
}

#[tokio::test]
async fn refused_credentials_are_an_error_and_an_unreadable_get_is_sent_again() {
    let (client, script) = scripted(vec![
        status(401, json!({"detail": "bad token"})),
        Ok(http::Response::new(Bytes::from_static(b"<html>"))),
        status(200, json!({"id": "u1", "userName": "Alice"})),
    ]);
    let error = client.self_user().await.unwrap_err();
    assert!(error.is_unreachable_or_unauthorized(), "{error:?}");
    let found = client.exist_eppn("a@example.ac.jp").await.unwrap();
    assert_eq!(found.done().unwrap().user_name.as_deref(), Some("Alice"));
    assert_eq!(
        seen(&script),
        [
            "GET /api/v2/Self",
            "GET /api/v2/Existeppn/a@example.ac.jp",
            "GET /api/v2/Existeppn/a@example.ac.jp"
        ]
    );
    assert!(!format!("{client:?}").contains("secret"), "{client:?}");
}

#[tokio::test]
async fn an_unreadable_answer_to_a_post_may_have_been_applied() {
    let (client, script) = scripted(vec![Ok(http::Response::builder()
        .status(201)
        .body(Bytes::from_static(b"{\"id\": "))
        .unwrap())]);
    let document: MapGroup = serde_json::from_value(group("lab-a")).unwrap();
    let error = client.groups().create(&document).await.unwrap_err();
    assert!(
        matches!(&error, ResourceError::AnswerLost { may_have_been_applied: true, cause } if cause.contains("201")),
        "{error:?}"
    );
    assert_eq!(seen(&script).len(), 1);
}

#[tokio::test]
async fn a_404_without_an_error_document_is_not_a_missing_resource() {
    // A proxy's page, say, behind a wrong base URL: not mAP saying the resource is gone.
    let (client, _) = scripted(vec![
        Ok(http::Response::builder()
            .status(404)
            .body(Bytes::from_static(b"<html>Not Found</html>"))
            .unwrap()),
        lost(),
        Ok(http::Response::builder()
            .status(404)
            .body(Bytes::from_static(b"<html>Not Found</html>"))
            .unwrap()),
    ]);
    let error = client.groups().get("lab-a").await.unwrap_err();
    assert!(
        matches!(error, ResourceError::Status { status: 404, .. }),
        "{error:?}"
    );
    // Nor does it make a DELETE whose first answer was lost a success.
    let error = client.groups().delete("lab-a").await.unwrap_err();
    assert!(
        matches!(error, ResourceError::Status { status: 404, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_id_is_one_path_segment() {
    let (client, script) = scripted(vec![status(200, group("a"))]);
    client.groups().get("a/../b?c").await.unwrap();
    assert_eq!(seen(&script), ["GET /api/v2/Groups/a%2F..%2Fb%3Fc"]);
    let error = client.groups().get("").await.unwrap_err();
    assert!(matches!(error, ResourceError::Build(_)), "{error:?}");
}
