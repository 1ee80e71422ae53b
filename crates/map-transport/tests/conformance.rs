//! The transport conformance suite, written once and run against every backend: bytes
//! delivered exactly, statuses as answers, pooled connections, and each failure reported with
//! the right [`Delivery`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use bytes::Bytes;
use map_transport::{Delivery, Transport, TransportConfig, TransportError, USER_AGENT};
use support::{TestServer, refused_url, tls_url_with_private_ca, untrusted_tls_url};

type MakeTransport = fn(TransportConfig) -> Arc<dyn Transport>;

fn request(method: &str, url: &str, body: impl Into<Bytes>) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(url)
        .body(body.into())
        .unwrap()
}

async fn delivers_methods_headers_and_bodies_exactly(make: MakeTransport) {
    let server = TestServer::start().await;
    let transport = make(TransportConfig::default());
    let body = "{\"request\":{\"time_stamp\":\"1\"},\"名前\":\"値\"}\n\u{0}tail";
    for method in ["POST", "PUT", "PATCH", "DELETE", "GET"] {
        let mut req = request(
            method,
            &server.url("/echo?time_stamp=1&signature=ab%2F"),
            body,
        );
        req.headers_mut()
            .insert("authorization", "Bearer tok-1".parse().unwrap());
        req.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        req.headers_mut().append("x-multi", "one".parse().unwrap());
        req.headers_mut().append("x-multi", "two".parse().unwrap());
        let response = transport.send(req).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), body.as_bytes(), "{method} echo");
    }
    let seen = server.requests();
    let methods: Vec<_> = seen.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["POST", "PUT", "PATCH", "DELETE", "GET"]);
    for recorded in &seen {
        assert_eq!(recorded.target, "/echo?time_stamp=1&signature=ab%2F");
        assert_eq!(recorded.body, body.as_bytes());
        assert_eq!(recorded.header("authorization"), Some("Bearer tok-1"));
        assert_eq!(recorded.header("content-type"), Some("application/json"));
        assert_eq!(recorded.header("user-agent"), Some(USER_AGENT));
        let multi: Vec<_> = recorded
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("x-multi"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(multi, ["one", "two"]);
    }
}

async fn a_user_agent_of_the_request_wins(make: MakeTransport) {
    let server = TestServer::start().await;
    let transport = make(TransportConfig::default());
    let mut req = request("GET", &server.url("/echo"), "");
    req.headers_mut()
        .insert("user-agent", "custom/1".parse().unwrap());
    transport.send(req).await.unwrap();
    assert_eq!(server.requests()[0].header("user-agent"), Some("custom/1"));
}

async fn carries_ten_mebibytes_both_ways(make: MakeTransport) {
    let server = TestServer::start().await;
    let transport = make(TransportConfig::default());
    let body: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let response = transport
        .send(request("POST", &server.url("/echo"), body.clone()))
        .await
        .unwrap();
    assert_eq!(response.body().len(), body.len());
    assert!(
        response.body() == &body[..],
        "10 MiB body changed on the way"
    );
    assert_eq!(server.requests()[0].body.len(), body.len());
}

async fn statuses_are_answers_and_redirects_are_not_followed(make: MakeTransport) {
    let server = TestServer::start().await;
    let transport = make(TransportConfig::default());
    for code in [200u16, 400, 401, 404, 413, 429, 500, 502, 503, 504] {
        let response = transport
            .send(request(
                "POST",
                &server.url(&format!("/status/{code}")),
                "{}",
            ))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), code);
        assert_eq!(response.body(), format!("status {code}").as_bytes());
    }
    let response = transport
        .send(request("POST", &server.url("/redirect"), "{}"))
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/echo");
    assert_eq!(server.requests().len(), 11, "the redirect was not followed");
}

async fn reuses_connections(make: MakeTransport) {
    let server = TestServer::start().await;
    let transport = make(TransportConfig::default());
    for i in 0..50 {
        let body = format!("{{\"n\":{i}}}");
        let response = transport
            .send(request("POST", &server.url("/echo"), body.clone()))
            .await
            .unwrap();
        assert_eq!(response.body(), body.as_bytes());
    }
    // Requests one after another reuse kept-alive connections. (A pool may open another while
    // a finished connection is still on its way back to it, so the bound is not 1.)
    assert_eq!(server.requests().len(), 50);
    assert!(
        server.connections() <= 5,
        "{} connections",
        server.connections()
    );

    // Concurrent requests share a small pool.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let transport = transport.clone();
        let url = server.url("/echo");
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                transport.send(request("POST", &url, "{}")).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.requests().len(), 150);
    assert!(
        server.connections() <= 20,
        "{} connections",
        server.connections()
    );
}

async fn refused_connections_were_not_sent(make: MakeTransport) {
    let transport = make(TransportConfig::default());
    let error = transport
        .send(request("POST", &refused_url().await, "{}"))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error:?}");
    assert_eq!(error.delivery(), Delivery::NotSent);
}

async fn closing_after_the_request_may_have_been_applied(make: MakeTransport) {
    let server = TestServer::start().await;
    let transport = make(TransportConfig::default());
    let error = transport
        .send(request("POST", &server.url("/close"), "{}"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransportError::ConnectionClosed { .. }),
        "{error:?}"
    );
    assert_eq!(error.delivery(), Delivery::MayHaveBeenApplied);
}

async fn closing_mid_response_is_a_truncated_body(make: MakeTransport) {
    let server = TestServer::start().await;
    let transport = make(TransportConfig::default());
    let error = transport
        .send(request("POST", &server.url("/truncate"), "{}"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransportError::TruncatedBody { .. }),
        "{error:?}"
    );
    assert_eq!(error.delivery(), Delivery::MayHaveBeenApplied);
}

async fn oversized_responses_hit_the_cap(make: MakeTransport) {
    let server = TestServer::start().await;
    let limit = 1024 * 1024;
    let transport = make(TransportConfig::default().with_max_response_bytes(limit));
    for path in ["/big/2097152", "/big-chunked/2097152"] {
        let error = transport
            .send(request("GET", &server.url(path), ""))
            .await
            .unwrap_err();
        assert!(
            matches!(error, TransportError::BodyTooLarge { limit: l } if l == limit),
            "{path}: {error:?}"
        );
        assert_eq!(error.delivery(), Delivery::MayHaveBeenApplied);
    }
    // Exactly at the cap is fine.
    let response = transport
        .send(request(
            "GET",
            &server.url(&format!("/big-chunked/{limit}")),
            "",
        ))
        .await
        .unwrap();
    assert_eq!(response.body().len(), limit);
}

async fn an_untrusted_certificate_fails_tls_and_was_not_sent(make: MakeTransport) {
    let (url, server) = untrusted_tls_url().await;
    let transport = make(TransportConfig::default());
    let error = transport
        .send(request("POST", &url, "{}"))
        .await
        .unwrap_err();
    server.abort();
    assert!(matches!(error, TransportError::Tls { .. }), "{error:?}");
    assert_eq!(error.delivery(), Delivery::NotSent);
}

async fn a_url_without_host_is_invalid_and_not_sent(make: MakeTransport) {
    let transport = make(TransportConfig::default());
    let error = transport
        .send(request("POST", "/api/v2/Bulk", "{}"))
        .await
        .unwrap_err();
    assert_eq!(error.delivery(), Delivery::NotSent, "{error:?}");
}

/// The system's trust store is honoured: a CA named only by `SSL_CERT_FILE` (which the store
/// reader follows) makes its certificates trusted. The environment is the child process's:
/// this test runs `trusted_through_the_system_store_child` of the same binary with it set.
fn a_private_ca_in_the_system_store_is_trusted(backend: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (url, ca_pem, server) = runtime.block_on(tls_url_with_private_ca());
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut ca_file, ca_pem.as_bytes()).unwrap();
    let child = format!("{backend}::trusted_through_the_system_store_child");
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &child,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SSL_CERT_FILE", ca_file.path())
        .env(
            "SSL_CERT_DIR",
            ca_file.path().parent().unwrap().join("no-such-dir"),
        )
        .env("MAP_TRANSPORT_TEST_TLS_URL", &url)
        .output()
        .unwrap();
    server.abort();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("1 passed"), "{report}");
}

/// The child of [`a_private_ca_in_the_system_store_is_trusted`].
async fn trusted_through_the_system_store_child(make: MakeTransport) {
    let url = std::env::var("MAP_TRANSPORT_TEST_TLS_URL").unwrap();
    let transport = make(TransportConfig::default());
    let response = transport.send(request("GET", &url, "")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"ok");
}

/// Every case of the suite as a `#[tokio::test]` for one backend.
macro_rules! conformance_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            const MAKE: MakeTransport = $make;

            #[test]
            fn a_private_ca_in_the_system_store_is_trusted() {
                super::a_private_ca_in_the_system_store_is_trusted(stringify!($backend));
            }
            #[tokio::test]
            #[ignore = "run by a_private_ca_in_the_system_store_is_trusted, with SSL_CERT_FILE set"]
            async fn trusted_through_the_system_store_child() {
                super::trusted_through_the_system_store_child(MAKE).await;
            }
            #[tokio::test]
            async fn delivers_methods_headers_and_bodies_exactly() {
                super::delivers_methods_headers_and_bodies_exactly(MAKE).await;
            }
            #[tokio::test]
            async fn a_user_agent_of_the_request_wins() {
                super::a_user_agent_of_the_request_wins(MAKE).await;
            }
            #[tokio::test]
            async fn carries_ten_mebibytes_both_ways() {
                super::carries_ten_mebibytes_both_ways(MAKE).await;
            }
            #[tokio::test]
            async fn statuses_are_answers_and_redirects_are_not_followed() {
                super::statuses_are_answers_and_redirects_are_not_followed(MAKE).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn reuses_connections() {
                super::reuses_connections(MAKE).await;
            }
            #[tokio::test]
            async fn refused_connections_were_not_sent() {
                super::refused_connections_were_not_sent(MAKE).await;
            }
            #[tokio::test]
            async fn closing_after_the_request_may_have_been_applied() {
                super::closing_after_the_request_may_have_been_applied(MAKE).await;
            }
            #[tokio::test]
            async fn closing_mid_response_is_a_truncated_body() {
                super::closing_mid_response_is_a_truncated_body(MAKE).await;
            }
            #[tokio::test]
            async fn oversized_responses_hit_the_cap() {
                super::oversized_responses_hit_the_cap(MAKE).await;
            }
            #[tokio::test]
            async fn an_untrusted_certificate_fails_tls_and_was_not_sent() {
                super::an_untrusted_certificate_fails_tls_and_was_not_sent(MAKE).await;
            }
            #[tokio::test]
            async fn a_url_without_host_is_invalid_and_not_sent() {
                super::a_url_without_host_is_invalid_and_not_sent(MAKE).await;
            }
        }
    };
}

#[cfg(feature = "reqwest")]
conformance_suite!(reqwest_backend, |config| Arc::new(
    map_transport::ReqwestTransport::new(config).unwrap()
));

#[cfg(feature = "hyper")]
conformance_suite!(hyper_backend, |config| Arc::new(
    map_transport::HyperTransport::new(config).unwrap()
));
