//! [`BulkClient`]: one signed `POST /api/v2/Bulk` and mAP's status semantics — the seed
//! client's job, done without panics.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use map_auth::{Clock, Credentials, SignError, Signer, SystemClock};
use map_entities::{BulkOperation, BulkRequestPayload, BulkResponsePayload, MapError};
use map_transport::{Transport, TransportError};

use crate::endpoint::Endpoint;

/// What mAP Core answered to a bulk request it accepted for processing.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkAnswer {
    /// 200: the per-operation results.
    Processed(BulkResponsePayload),
    /// 400: the whole request was refused with this error; nothing was applied.
    Refused(MapError),
}

/// A bulk request that did not get a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// The request could not be signed.
    #[error("could not sign the request: {0}")]
    Sign(#[from] SignError),
    /// The operations could not be encoded as JSON.
    #[error("could not encode the request: {0}")]
    Encode(String),
    /// No complete answer came back.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A status other than 200 or 400.
    #[error("mAP Core answered {status}{}", describe(.error.as_deref(), .excerpt))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The error document, when the body was one.
        error: Option<Box<MapError>>,
        /// The start of the body, when it was not an error document.
        excerpt: String,
        /// The `Retry-After` delay, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// A 200 or 400 whose body is not the expected document.
    #[error(
        "mAP Core answered {status} with a body that is not a {expected}: {message}; the body starts {excerpt:?}"
    )]
    Decode {
        /// The HTTP status.
        status: u16,
        /// The document expected (`BulkResponse` or `MapError`).
        expected: &'static str,
        /// What the parser said.
        message: String,
        /// The start of the body.
        excerpt: String,
    },
}

fn describe(error: Option<&MapError>, excerpt: &str) -> String {
    match error.and_then(|e| e.detail.as_deref()) {
        Some(detail) => format!(": {detail}"),
        None if excerpt.is_empty() => String::new(),
        None => format!("; the body starts {excerpt:?}"),
    }
}

/// Sends bulk requests to one mAP Core deployment over any [`Transport`].
///
/// ```no_run
/// use std::sync::Arc;
/// use map_auth::Credentials;
/// use map_bulk::{BulkAnswer, BulkClient, Endpoint};
/// use map_entities::BulkOperation;
/// use map_transport::{ReqwestTransport, TransportConfig};
/// use serde_json::json;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = Arc::new(ReqwestTransport::new(TransportConfig::default())?);
/// let client = BulkClient::new(Endpoint::new("https://cg.gakunin.jp")?, transport);
/// let credentials = Credentials::new("access-token", "client-secret");
/// let operations = vec![BulkOperation::post("/Users", "u1", json!({"userName": "alice"}))];
/// match client.post(&operations, &credentials).await? {
///     BulkAnswer::Processed(response) => println!("{} results", response.operations.len()),
///     BulkAnswer::Refused(error) => println!("refused: {:?}", error.detail),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct BulkClient {
    endpoint: Endpoint,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for BulkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkClient")
            .field("endpoint", &self.endpoint.bulk_url().as_str())
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The status, headers and body of one answered attempt.
#[derive(Debug, Clone)]
pub(crate) struct RawAnswer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl BulkClient {
    /// A client for `endpoint` over `transport`, reading time from the system clock.
    pub fn new(endpoint: Endpoint, transport: Arc<dyn Transport>) -> Self {
        BulkClient {
            endpoint,
            transport,
            clock: Arc::new(SystemClock),
            timeout: None,
        }
    }

    /// The same client reading time stamps from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same client giving up on an answer after `timeout` (on top of the transport's own).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The endpoint this client sends to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends `operations` as one signed bulk request.
    ///
    /// 200 gives [`BulkAnswer::Processed`]; 400 gives [`BulkAnswer::Refused`] (a value, not an
    /// error); any other status, a body that is not the expected document, or a failure to
    /// exchange gives a [`BulkError`].
    pub async fn post(
        &self,
        operations: &[BulkOperation],
        credentials: &Credentials,
    ) -> Result<BulkAnswer, BulkError> {
        self.post_payload(&BulkRequestPayload::new(operations.to_vec()), credentials)
            .await
    }

    /// Sends `payload` (with its `failOnErrors`) as one signed bulk request; see
    /// [`BulkClient::post`].
    pub async fn post_payload(
        &self,
        payload: &BulkRequestPayload,
        credentials: &Credentials,
    ) -> Result<BulkAnswer, BulkError> {
        let body = serde_json::to_vec(payload).map_err(|e| BulkError::Encode(e.to_string()))?;
        let answer = self.exchange(body, 0, &self.signer(credentials)).await?;
        interpret(answer)
    }

    /// A signer for `credentials` with this client's clock.
    pub(crate) fn signer(&self, credentials: &Credentials) -> Signer {
        Signer::new(credentials.clone()).with_shared_clock(self.clock.clone())
    }

    /// One attempt with an unsigned BulkRequest body at `buffer[room..]`: signs it afresh
    /// (in the room before it, when there is enough) and sends it.
    pub(crate) async fn exchange(
        &self,
        buffer: Vec<u8>,
        room: usize,
        signer: &Signer,
    ) -> Result<RawAnswer, BulkError> {
        let signed = signer.sign_body_in_room(None, buffer, room)?;
        let authorization = HeaderValue::from_str(signed.authorization()).map_err(|_| {
            BulkError::Encode("the access token cannot be sent in a header".to_owned())
        })?;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.endpoint.bulk_url().as_str())
            .header(CONTENT_TYPE, "application/scim+json")
            .body({
                let (buffer, start) = signed.into_body_buffer();
                Bytes::from(buffer).slice(start..)
            })
            .map_err(|e| BulkError::Encode(e.to_string()))?;
        request.headers_mut().insert(AUTHORIZATION, authorization);
        let sending = self.transport.send(request);
        let response = match self.timeout {
            Some(timeout) => tokio::time::timeout(timeout, sending)
                .await
                .unwrap_or(Err(TransportError::Timeout { after: timeout }))?,
            None => sending.await?,
        };
        let (parts, body) = response.into_parts();
        Ok(RawAnswer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// Applies mAP's status semantics to an answer.
pub(crate) fn interpret(answer: RawAnswer) -> Result<BulkAnswer, BulkError> {
    match answer.status.as_u16() {
        200 => serde_json::from_slice(&answer.body)
            .map(BulkAnswer::Processed)
            .map_err(|e| decode_error(200, "BulkResponse", &e, &answer.body)),
        400 => serde_json::from_slice(&answer.body)
            .map(BulkAnswer::Refused)
            .map_err(|e| decode_error(400, "MapError", &e, &answer.body)),
        status => Err(status_error(status, &answer)),
    }
}

pub(crate) fn status_error(status: u16, answer: &RawAnswer) -> BulkError {
    let error = serde_json::from_slice::<MapError>(&answer.body)
        .ok()
        .filter(|e| e.detail.is_some() || e.status.is_some())
        .map(Box::new);
    BulkError::Status {
        status,
        excerpt: if error.is_some() {
            String::new()
        } else {
            excerpt(&answer.body)
        },
        error,
        retry_after: retry_after(&answer.headers),
    }
}

fn decode_error(
    status: u16,
    expected: &'static str,
    error: &serde_json::Error,
    body: &[u8],
) -> BulkError {
    BulkError::Decode {
        status,
        expected,
        message: error.to_string(),
        excerpt: excerpt(body),
    }
}

/// The first 200 characters of a body, for messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(800)]);
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 || body.len() > 800 {
        out.push('…');
    }
    out
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}
