//! The attempt timeout is the pipeline's, once for every transport: a server that never
//! answers, or drips its answer forever, cannot hold an attempt past it, and the attempt may
//! have been applied.

#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "../../map-transport/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use map_auth::Credentials;
use map_client::{Call, CallBody, Endpoint, ExchangeError, Pipeline};
use map_transport::{
    Delivery, HyperTransport, ReqwestTransport, Transport, TransportConfig, TransportError,
};
use support::TestServer;

async fn attempt(transport: Arc<dyn Transport>, server: &TestServer, path: &str) -> ExchangeError {
    let endpoint = Endpoint::allowing_insecure(&server.base_url).unwrap();
    let pipeline =
        Pipeline::new(endpoint, transport).with_attempt_timeout(Duration::from_millis(300));
    let signer = pipeline.signer(&Credentials::new("token", "secret"));
    let mut buffer = vec![0; map_auth::REQUEST_OBJECT_ROOM];
    buffer.extend_from_slice(b"{}");
    let call = Call {
        method: http::Method::POST,
        url: url::Url::parse(&server.url(path)).unwrap(),
        body: CallBody::Json {
            buffer,
            room: map_auth::REQUEST_OBJECT_ROOM,
        },
    };
    pipeline.exchange(call, &signer).await.unwrap_err()
}

fn transports() -> [(&'static str, Arc<dyn Transport>); 2] {
    [
        (
            "reqwest",
            Arc::new(ReqwestTransport::new(TransportConfig::default()).unwrap()),
        ),
        (
            "hyper",
            Arc::new(HyperTransport::new(TransportConfig::default()).unwrap()),
        ),
    ]
}

fn assert_timed_out(name: &str, error: &ExchangeError) {
    let ExchangeError::Transport(error) = error else {
        panic!("{name}: {error:?}");
    };
    assert!(
        matches!(error, TransportError::Timeout { .. }),
        "{name}: {error:?}"
    );
    assert_eq!(error.delivery(), Delivery::MayHaveBeenApplied, "{name}");
}

#[tokio::test]
async fn a_silent_server_times_out_as_may_have_been_applied() {
    for (name, transport) in transports() {
        let server = TestServer::start().await;
        let error = attempt(transport, &server, "/hang").await;
        assert_timed_out(name, &error);
        assert_eq!(
            server.requests().len(),
            1,
            "{name}: the request did reach the server"
        );
    }
}

#[tokio::test]
async fn a_dripping_server_cannot_hold_past_the_timeout() {
    for (name, transport) in transports() {
        let server = TestServer::start().await;
        let error = attempt(transport, &server, "/drip").await;
        assert_timed_out(name, &error);
    }
}
