//! [`Pipeline`]: the one way every mAP Core call goes out — build the request, sign this
//! attempt, send it through the [`Transport`] within the attempt timeout, and hand back the
//! answer whatever its status (the [`classify`](crate::classify()) step says what it means).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use map_auth::{Clock, Credentials, SignError, Signer, SystemClock};
use map_transport::{Transport, TransportError};
use url::Url;

use crate::endpoint::Endpoint;

/// The default attempt timeout: 30 s from sending to the last byte of the answer.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The body of a call, before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallBody {
    /// No body (GET, DELETE: the signature travels in the query).
    Empty,
    /// A JSON object at `buffer[room..]`, with `room` free bytes before it for the signature's
    /// `request` object ([`map_auth::REQUEST_OBJECT_ROOM`] is always enough; less room costs a
    /// copy).
    Json {
        /// The buffer.
        buffer: Vec<u8>,
        /// Where the object starts.
        room: usize,
    },
}

/// One mAP Core call: a method, a URL under the endpoint and a body; signed afresh for each
/// attempt by [`Pipeline::exchange`].
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// The URL, query included (the signature is appended to it for GET and DELETE).
    pub url: Url,
    /// The body.
    pub body: CallBody,
}

/// What the server answered to one attempt: any status.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// The URL the request went to (without its query), when known: a 404 names it.
    pub url: Option<url::Url>,
}

impl Answer {
    /// The first 200 characters of the body, for messages.
    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// An attempt that got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The request could not be signed (nothing was sent).
    #[error("could not sign the request: {0}")]
    Sign(#[from] SignError),
    /// The request could not be built (nothing was sent).
    #[error("could not build the request: {0}")]
    Build(String),
    /// No complete answer came back; the error says whether the request may have been applied.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// Signs and sends calls to one mAP Core deployment over any [`Transport`].
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use map_auth::Credentials;
/// use map_client::{Call, CallBody, Endpoint, Pipeline};
/// use map_transport::transport_fn;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A transport that answers every call with 200 and what it was asked.
/// let echo = transport_fn(|request: http::Request<Bytes>| async move {
///     Ok(http::Response::new(Bytes::from(request.uri().to_string())))
/// });
/// let endpoint = Endpoint::new("https://cg.gakunin.jp")?;
/// let pipeline = Pipeline::new(endpoint.clone(), Arc::new(echo));
/// let signer = pipeline.signer(&Credentials::new("token", "secret"));
/// let url = endpoint.api_url("Users/u1")?;
/// let call = Call { method: http::Method::GET, url, body: CallBody::Empty };
/// let answer = pipeline.exchange(call, &signer).await?;
/// assert!(String::from_utf8_lossy(&answer.body).contains("Users/u1?time_stamp="));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    endpoint: Endpoint,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    attempt_timeout: Duration,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("endpoint", &self.endpoint.base_url().as_str())
            .field("transport", &self.transport)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

impl Pipeline {
    /// A pipeline to `endpoint` over `transport`, reading time from the system clock, with the
    /// [`DEFAULT_ATTEMPT_TIMEOUT`].
    pub fn new(endpoint: Endpoint, transport: Arc<dyn Transport>) -> Self {
        Pipeline {
            endpoint,
            transport,
            clock: Arc::new(SystemClock),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
        }
    }

    /// The same pipeline reading time stamps from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same pipeline giving up on an attempt after `timeout`, from sending to the last
    /// byte of the answer ([`TransportError::Timeout`]: it may have been applied).
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The endpoint calls go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The attempt timeout.
    pub fn attempt_timeout(&self) -> Duration {
        self.attempt_timeout
    }

    /// A signer for `credentials` with this pipeline's clock.
    pub fn signer(&self, credentials: &Credentials) -> Signer {
        Signer::new(credentials.clone()).with_shared_clock(self.clock.clone())
    }

    /// One attempt of `call`: signs it now (in the body for POST, PUT and PATCH, in the query
    /// for GET and DELETE), sends it, and reads the whole answer.
    pub async fn exchange(&self, call: Call, signer: &Signer) -> Result<Answer, ExchangeError> {
        let request = build(call, signer)?;
        let url = url::Url::parse(&request.uri().to_string())
            .ok()
            .map(|mut url| {
                // The query carries the signature on GET and DELETE: never in a message.
                url.set_query(None);
                url
            });
        let timeout = self.attempt_timeout;
        let response = tokio::time::timeout(timeout, self.transport.send(request))
            .await
            .unwrap_or(Err(TransportError::Timeout { after: timeout }))?;
        let (parts, body) = response.into_parts();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
            url,
        })
    }
}

/// The signed HTTP request of one attempt of `call`.
fn build(call: Call, signer: &Signer) -> Result<Request<Bytes>, ExchangeError> {
    let Call {
        method,
        mut url,
        body,
    } = call;
    let (signed, json) = match body {
        CallBody::Json { buffer, room } => {
            (signer.sign_body_in_room(url.query(), buffer, room)?, true)
        }
        CallBody::Empty => (
            signer.sign_request(method.as_str(), url.query(), b"")?,
            false,
        ),
    };
    url.set_query(signed.query());
    let authorization = HeaderValue::from_str(signed.authorization())
        .map_err(|_| ExchangeError::Build("the access token cannot be sent in a header".into()))?;
    let mut builder = Request::builder().method(method).uri(url.as_str());
    if json {
        builder = builder.header(CONTENT_TYPE, "application/scim+json");
    }
    let (buffer, start) = signed.into_body_buffer();
    let mut request = builder
        .body(Bytes::from(buffer).slice(start..))
        .map_err(|e| ExchangeError::Build(e.to_string()))?;
    request.headers_mut().insert(AUTHORIZATION, authorization);
    Ok(request)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use map_auth::FixedClock;
    use map_transport::transport_fn;

    use super::*;

    fn signer() -> Signer {
        Signer::new(Credentials::new("tok", "s3cr3t")).with_clock(FixedClock::at(0))
    }

    #[test]
    fn a_get_carries_its_signature_in_the_query_after_its_own() {
        let url = Url::parse("https://map.example/api/v2/Users?filter=x").unwrap();
        let request = build(
            Call {
                method: Method::GET,
                url,
                body: CallBody::Empty,
            },
            &signer(),
        )
        .unwrap();
        let uri = request.uri().to_string();
        assert!(
            uri.starts_with("https://map.example/api/v2/Users?filter=x&time_stamp=0&signature="),
            "{uri}"
        );
        assert!(request.body().is_empty());
        assert!(request.headers().get(CONTENT_TYPE).is_none());
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer tok");
    }

    #[test]
    fn a_post_carries_its_signature_in_the_body() {
        let mut buffer = vec![0; map_auth::REQUEST_OBJECT_ROOM];
        buffer.extend_from_slice(br#"{"a":1}"#);
        let request = build(
            Call {
                method: Method::POST,
                url: Url::parse("https://map.example/api/v2/Bulk").unwrap(),
                body: CallBody::Json {
                    buffer,
                    room: map_auth::REQUEST_OBJECT_ROOM,
                },
            },
            &signer(),
        )
        .unwrap();
        assert_eq!(request.uri().query(), None);
        assert_eq!(
            request.body().as_ref(),
            signer()
                .sign_request("POST", None, br#"{"a":1}"#)
                .unwrap()
                .body()
        );
        assert_eq!(request.headers()[CONTENT_TYPE], "application/scim+json");
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_without_an_answer_in_time_may_have_been_applied() {
        let silent = transport_fn(|_: Request<Bytes>| std::future::pending());
        let pipeline = Pipeline::new(
            Endpoint::new("https://map.example").unwrap(),
            Arc::new(silent),
        )
        .with_attempt_timeout(Duration::from_secs(5));
        let call = Call {
            method: Method::GET,
            url: pipeline.endpoint().api_url("Users").unwrap(),
            body: CallBody::Empty,
        };
        let error = pipeline.exchange(call, &signer()).await.unwrap_err();
        match error {
            ExchangeError::Transport(error) => {
                assert!(
                    matches!(error, TransportError::Timeout { after } if after == Duration::from_secs(5))
                );
                assert!(!error.delivery().was_not_sent());
            }
            other => panic!("{other:?}"),
        }
    }
}
