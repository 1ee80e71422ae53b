//! What the engine's unit tests share: a request context over a scripted transport, and
//! operations as the engine carries them.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use map_auth::Credentials;
use map_client::{BulkClient, Endpoint, RetryPolicy, StandardRetry};
use map_entities::BulkMethod;
use map_transport::{TransportError, transport_fn};

use super::operation::Operation;
use super::pace::{Concurrency, Pace};
use super::request::RequestContext;
use crate::event::ignore_events;

type Script = Arc<Mutex<Vec<Result<(u16, String), TransportError>>>>;

/// A context whose transport answers with `script`, one entry per attempt, and keeps the
/// bodies sent in `sent`; retries are immediate, at most `attempts`.
pub(crate) fn context(
    script: Vec<Result<(u16, String), TransportError>>,
    attempts: u32,
) -> (Arc<RequestContext>, Arc<Mutex<Vec<String>>>) {
    let script: Script = Arc::new(Mutex::new(script.into_iter().rev().collect()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    let transport = transport_fn(move |request: http::Request<Bytes>| {
        log.lock()
            .unwrap()
            .push(String::from_utf8_lossy(request.body()).into_owned());
        let next = script.lock().unwrap().pop().unwrap();
        async move {
            let (status, body) = next?;
            let mut response = http::Response::new(Bytes::from(body));
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok(response)
        }
    });
    let client = BulkClient::new(
        Endpoint::new("https://map.example").unwrap(),
        Arc::new(transport),
    );
    let signer = Arc::new(client.signer(&Credentials::new("token", "secret")));
    let retry = StandardRetry::new(RetryPolicy::immediate(attempts)).with_budget(None);
    let context = RequestContext {
        client,
        signer,
        retry: Arc::new(retry),
        fail_on_errors: None,
        events: ignore_events(),
        pace: Pace::new(Concurrency::Fixed(2)),
        requests_sent: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        interrupt: Default::default(),
    };
    (Arc::new(context), sent)
}

pub(crate) fn op(
    index: u64,
    method: BulkMethod,
    bulk_id: Option<&str>,
    path: &str,
    refs: &[&str],
) -> Operation {
    Operation {
        index,
        method,
        bulk_id: bulk_id.map(str::to_owned),
        path: path.to_owned(),
        version: None,
        data: Some(r#"{"userName":"x"}"#.to_owned()),
        local_refs: refs.iter().map(|r| (*r).to_owned()).collect(),
        after_ambiguous: false,
    }
}
