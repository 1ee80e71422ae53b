//! [`transport_fn`]: any async function from a request to an answer, as a [`Transport`] —
//! for tests that script what the server says without running one.

use std::future::Future;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{Transport, TransportError};

/// A [`Transport`] made from a function; see [`transport_fn`].
#[derive(Clone)]
pub struct FnTransport<F>(F);

impl<F> std::fmt::Debug for FnTransport<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnTransport")
    }
}

/// A transport that answers every request with `send(request)`: each call is one exchange, and
/// an `Err` says what failed and whether the request may have been sent, as a real backend
/// would.
///
/// ```
/// use bytes::Bytes;
/// use map_transport::{Transport, TransportError, transport_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let busy = transport_fn(|request: http::Request<Bytes>| async move {
///     if request.uri().path().ends_with("/Bulk") {
///         let mut busy = http::Response::new(Bytes::new());
///         *busy.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
///         Ok(busy)
///     } else {
///         Err(TransportError::Connect { message: "nobody listens".into() })
///     }
/// });
/// let answer = busy.send(http::Request::post("https://example.ac.jp/api/v2/Bulk").body(Bytes::new())?).await?;
/// assert_eq!(answer.status(), 503);
/// # Ok(())
/// # }
/// ```
pub fn transport_fn<F, Fut>(send: F) -> FnTransport<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send,
{
    FnTransport(send)
}

#[async_trait]
impl<F, Fut> Transport for FnTransport<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send,
{
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (self.0)(request).await
    }
}
