//! One seam for moving bytes over HTTP: [`Transport`] sends an `http::Request<Bytes>` and
//! returns an `http::Response<Bytes>`, whatever the status. Only a failure to exchange is an
//! error, and every [`TransportError`] says whether the request may have reached the server —
//! the distinction a bulk engine needs to never send a POST twice.
//!
//! It knows no mAP types. Two backends, each a cargo feature and both on by default:
//! [`ReqwestTransport`] and [`HyperTransport`]. Both pool connections, never follow redirects,
//! verify TLS, cap response bodies and send `User-Agent: map-rs/<version>`.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use map_transport::{ReqwestTransport, Transport, TransportConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let transport: Arc<dyn Transport> = Arc::new(ReqwestTransport::new(TransportConfig::default())?);
//! let request = http::Request::post("https://cg.gakunin.jp/api/v2/Bulk")
//!     .header("content-type", "application/json")
//!     .body(Bytes::from_static(b"{}"))?;
//! match transport.send(request).await {
//!     Ok(response) => println!("{} with {} bytes", response.status(), response.body().len()),
//!     Err(error) if error.delivery().was_not_sent() => println!("safe to retry: {error}"),
//!     Err(error) => println!("may have been applied: {error}"),
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod error;
mod from_fn;
#[cfg(feature = "hyper")]
mod hyper_backend;
#[cfg(feature = "reqwest")]
mod reqwest_backend;
#[cfg(any(feature = "reqwest", feature = "hyper"))]
mod tls;

use async_trait::async_trait;
use bytes::Bytes;

pub use config::{DEFAULT_MAX_RESPONSE_BYTES, TransportConfig, USER_AGENT};
pub use error::{Delivery, TransportError};
pub use from_fn::{FnTransport, transport_fn};
#[cfg(feature = "hyper")]
pub use hyper_backend::HyperTransport;
#[cfg(feature = "reqwest")]
pub use reqwest_backend::ReqwestTransport;

/// Sends one HTTP request and returns the server's answer.
///
/// Any status is an answer (`Ok`); an error means no complete answer came back, and
/// [`TransportError::delivery`] says whether the request may have been applied. Retries,
/// signing and status semantics belong to the layers above. Usable as `Arc<dyn Transport>`.
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Sends `request` and reads the whole response body.
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (**self).send(request).await
    }
}
