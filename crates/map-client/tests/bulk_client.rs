//! The seed's client: one signed POST and mAP's status semantics, over a scripted transport.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use map_auth::{Credentials, FixedClock, compute_signature};
use map_client::{BulkAnswer, BulkClient, BulkError, Endpoint};
use map_entities::BulkOperation;
use map_transport::{Transport, TransportError};
use serde_json::{Value, json};

/// Answers with scripted responses and records what it was sent.
#[derive(Debug, Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<http::Response<Bytes>, TransportError>>>,
    sent: Mutex<Vec<http::Request<Bytes>>>,
}

impl Scripted {
    fn answering(status: u16, headers: &[(&str, &str)], body: &str) -> Arc<Scripted> {
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        let scripted = Scripted::default();
        scripted
            .answers
            .lock()
            .unwrap()
            .push_back(Ok(response.body(Bytes::from(body.to_owned())).unwrap()));
        Arc::new(scripted)
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.sent.lock().unwrap().push(request);
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Err(TransportError::Other {
                message: "no scripted answer".into(),
            }))
    }
}

fn client(transport: Arc<Scripted>) -> BulkClient {
    BulkClient::new(
        Endpoint::new("https://map.example.ac.jp/prefix").unwrap(),
        transport,
    )
    .with_clock(Arc::new(FixedClock::at(1_732_345_678)))
}

fn credentials() -> Credentials {
    Credentials::new("tok-9x", "sec-7y")
}

fn operations() -> Vec<BulkOperation> {
    vec![BulkOperation::post(
        "/Users",
        "u1",
        json!({"userName": "alice"}),
    )]
}

const BULK_RESPONSE: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
    "Operations":[{"method":"POST","bulkId":"u1","status":"201","location":"https://map.example.ac.jp/api/v2/Users/9f2"}]}"#;

#[tokio::test]
async fn sends_one_signed_bulk_request() {
    let transport = Scripted::answering(200, &[], BULK_RESPONSE);
    let answer = client(transport.clone())
        .post(&operations(), &credentials())
        .await
        .unwrap();
    let BulkAnswer::Processed(response) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(response.operations[0].resource_id(), Some("9f2"));

    let sent = transport.sent.lock().unwrap();
    let request = &sent[0];
    assert_eq!(request.method(), "POST");
    assert_eq!(
        request.uri(),
        "https://map.example.ac.jp/prefix/api/v2/Bulk"
    );
    assert_eq!(request.headers()["authorization"], "Bearer tok-9x");
    let body = std::str::from_utf8(request.body()).unwrap();
    assert!(
        body.starts_with("{\"request\":{"),
        "the auth object comes first: {body}"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["request"]["time_stamp"], "1732345678");
    assert_eq!(
        body["request"]["signature"],
        compute_signature("sec-7y", "tok-9x", "1732345678")
    );
    assert_eq!(body["schemas"], json!([map_entities::BULK_REQUEST_SCHEMA]));
    assert_eq!(body["Operations"][0]["bulkId"], "u1");
    assert!(body.get("failOnErrors").is_none());
}

#[tokio::test]
async fn a_400_map_error_is_a_value() {
    let transport = Scripted::answering(
        400,
        &[],
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidSyntax","detail":"bad"}"#,
    );
    let answer = client(transport)
        .post(&operations(), &credentials())
        .await
        .unwrap();
    let BulkAnswer::Refused(error) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(error.detail.as_deref(), Some("bad"));
}

#[tokio::test]
async fn other_statuses_and_bad_bodies_are_errors_with_what_came_back() {
    type Expectation = Box<dyn Fn(&BulkError) -> bool>;
    let cases: Vec<(Arc<Scripted>, Expectation)> = vec![
        (
            Scripted::answering(
                401,
                &[],
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"signature does not match"}"#,
            ),
            Box::new(
                |e| matches!(e, BulkError::Status { status: 401, error: Some(error), .. } if error.detail.as_deref() == Some("signature does not match")),
            ),
        ),
        (
            Scripted::answering(503, &[("retry-after", "7")], "busy"),
            Box::new(
                |e| matches!(e, BulkError::Status { status: 503, retry_after: Some(d), excerpt, .. } if *d == Duration::from_secs(7) && excerpt == "busy"),
            ),
        ),
        (
            Scripted::answering(302, &[("location", "https://elsewhere")], ""),
            Box::new(|e| {
                matches!(
                    e,
                    BulkError::Status {
                        status: 302,
                        error: None,
                        ..
                    }
                )
            }),
        ),
        (
            Scripted::answering(200, &[], "<html>maintenance</html>"),
            Box::new(
                |e| matches!(e, BulkError::Decode { status: 200, excerpt, .. } if excerpt.contains("maintenance")),
            ),
        ),
        (
            Scripted::answering(400, &[], "not json"),
            Box::new(|e| {
                matches!(
                    e,
                    BulkError::Decode {
                        status: 400,
                        expected: "MapError",
                        ..
                    }
                )
            }),
        ),
        (
            Arc::new(Scripted::default()),
            Box::new(|e| matches!(e, BulkError::Transport(_))),
        ),
    ];
    for (transport, expected) in cases {
        let error = client(transport)
            .post(&operations(), &credentials())
            .await
            .unwrap_err();
        assert!(expected(&error), "{error:?}");
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains("tok-9x") && !shown.contains("sec-7y"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn a_long_body_is_cut_in_messages() {
    let transport = Scripted::answering(500, &[], &"x".repeat(10_000));
    let error = client(transport)
        .post(&operations(), &credentials())
        .await
        .unwrap_err();
    assert!(error.to_string().len() < 400, "{error}");
}
