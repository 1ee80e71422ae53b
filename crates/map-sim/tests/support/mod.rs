//! What the simulator's integration tests share: a signed client over real HTTP.

#![allow(dead_code, unreachable_pub)] // each test file uses part of it

use std::time::Duration;

use bytes::Bytes;
use map_auth::Signer;
use map_entities::{BulkRequestPayload, BulkResponsePayload};
use map_sim::Simulator;
use map_transport::{HyperTransport, Transport, TransportConfig, TransportError};
use serde_json::Value;

/// Sends signed requests to a simulator, as any mAP Core client does.
pub struct Client {
    transport: HyperTransport,
    signer: Signer,
    base_url: String,
}

impl Client {
    pub fn new(sim: &Simulator) -> Client {
        Client::with_signer(sim, Signer::new(sim.credentials().clone()))
    }

    pub fn with_signer(sim: &Simulator, signer: Signer) -> Client {
        let config = TransportConfig::default();
        Client {
            transport: HyperTransport::new(config).unwrap(),
            signer,
            base_url: sim.base_url().to_owned(),
        }
    }

    /// Sends `body` (a JSON object) signed, with the Bearer header.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<http::Response<Bytes>, TransportError> {
        let signed = self.signer.sign_request(method, query, body).unwrap();
        let uri = match signed.query() {
            Some(query) => format!("{}{path}?{query}", self.base_url),
            None => format!("{}{path}", self.base_url),
        };
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", signed.authorization())
            .header("content-type", "application/scim+json")
            .body(Bytes::from(signed.into_body()))
            .unwrap();
        let timeout = Duration::from_secs(10);
        tokio::time::timeout(timeout, self.transport.send(request))
            .await
            .unwrap_or(Err(TransportError::Timeout { after: timeout }))
    }

    pub async fn bulk_raw(&self, body: Value) -> Result<http::Response<Bytes>, TransportError> {
        self.send(
            "POST",
            "/api/v2/Bulk",
            None,
            &serde_json::to_vec(&body).unwrap(),
        )
        .await
    }

    pub async fn bulk(&self, payload: &BulkRequestPayload) -> BulkResponsePayload {
        let response = self
            .bulk_raw(serde_json::to_value(payload).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "{}",
            String::from_utf8_lossy(response.body())
        );
        serde_json::from_slice(response.body()).unwrap()
    }
}
