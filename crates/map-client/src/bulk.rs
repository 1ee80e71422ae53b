//! [`BulkClient`]: one signed `POST /api/v2/Bulk` on the [`Pipeline`], and mAP's status
//! semantics as values and errors — the seed client's job, done without panics.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use map_auth::{Clock, Credentials, REQUEST_OBJECT_ROOM, SignError, Signer};
use map_entities::{BulkOperation, BulkRequestPayload, BulkResponsePayload, MapError};
use map_transport::{Transport, TransportError};

use crate::classify::{Verdict, classify, retry_after};
use crate::endpoint::Endpoint;
use crate::pipeline::{Answer, Call, CallBody, ExchangeError, Pipeline, excerpt};

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
#[non_exhaustive]
pub enum BulkError {
    /// The request could not be signed.
    #[error("could not sign the request: {0}")]
    Sign(#[from] SignError),
    /// The operations could not be encoded as JSON, or the request could not be built.
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

impl From<ExchangeError> for BulkError {
    fn from(error: ExchangeError) -> Self {
        match error {
            ExchangeError::Sign(error) => BulkError::Sign(error),
            ExchangeError::Build(message) => BulkError::Encode(message),
            ExchangeError::Transport(error) => BulkError::Transport(error),
        }
    }
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
/// use map_client::{BulkAnswer, BulkClient, Endpoint};
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
#[derive(Debug, Clone)]
pub struct BulkClient {
    pipeline: Pipeline,
}

impl BulkClient {
    /// A client for `endpoint` over `transport`, reading time from the system clock, with the
    /// [`DEFAULT_ATTEMPT_TIMEOUT`](crate::DEFAULT_ATTEMPT_TIMEOUT).
    pub fn new(endpoint: Endpoint, transport: Arc<dyn Transport>) -> Self {
        BulkClient {
            pipeline: Pipeline::new(endpoint, transport),
        }
    }

    /// A client on `pipeline`.
    pub fn on(pipeline: Pipeline) -> Self {
        BulkClient { pipeline }
    }

    /// The same client reading time stamps from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        BulkClient {
            pipeline: self.pipeline.with_clock(clock),
        }
    }

    /// The same client giving up on an attempt after `timeout`, from sending to the last
    /// byte of the answer.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        BulkClient {
            pipeline: self.pipeline.with_attempt_timeout(timeout),
        }
    }

    /// The endpoint this client sends to.
    pub fn endpoint(&self) -> &Endpoint {
        self.pipeline.endpoint()
    }

    /// The pipeline this client sends through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// A signer for `credentials` with this client's clock.
    pub fn signer(&self, credentials: &Credentials) -> Signer {
        self.pipeline.signer(credentials)
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
        let mut buffer = vec![0; REQUEST_OBJECT_ROOM];
        serde_json::to_writer(&mut buffer, payload)
            .map_err(|e| BulkError::Encode(e.to_string()))?;
        let answer = self
            .exchange(buffer, REQUEST_OBJECT_ROOM, &self.signer(credentials))
            .await;
        interpret(answer)
    }

    /// One attempt with an unsigned BulkRequest body at `buffer[room..]`: signs it afresh
    /// (in the room before it, when there is enough) and sends it; any status is an answer.
    /// The job engine classifies it with [`classify`] and reads the results itself.
    pub async fn exchange(
        &self,
        buffer: Vec<u8>,
        room: usize,
        signer: &Signer,
    ) -> Result<Answer, ExchangeError> {
        let call = Call {
            method: Method::POST,
            url: self.pipeline.endpoint().bulk_url().clone(),
            body: CallBody::Json { buffer, room },
        };
        self.pipeline.exchange(call, signer).await
    }
}

/// What an attempt means for [`BulkClient::post`]: the verdict, with its document decoded.
fn interpret(result: Result<Answer, ExchangeError>) -> Result<BulkAnswer, BulkError> {
    let verdict = classify(&result);
    let answer = result?;
    match verdict {
        Verdict::Processed => serde_json::from_slice(&answer.body)
            .map(BulkAnswer::Processed)
            .map_err(|e| decode_error(answer.status.as_u16(), "BulkResponse", &e, &answer.body)),
        Verdict::Refused {
            status: Some(400), ..
        } => serde_json::from_slice(&answer.body)
            .map(BulkAnswer::Refused)
            .map_err(|e| decode_error(400, "MapError", &e, &answer.body)),
        _ => Err(status_error(&answer)),
    }
}

fn status_error(answer: &Answer) -> BulkError {
    let error = serde_json::from_slice::<MapError>(&answer.body)
        .ok()
        .filter(|e| e.detail.is_some() || e.status.is_some())
        .map(Box::new);
    BulkError::Status {
        status: answer.status.as_u16(),
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
