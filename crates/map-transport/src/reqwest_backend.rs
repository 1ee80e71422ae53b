//! [`ReqwestTransport`]: the reqwest backend.

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use http::header::USER_AGENT;
use http::{HeaderValue, Request, Response};

use crate::config::{TransportConfig, user_agent};
use crate::error::{TransportError, chain, is_tls};
use crate::{Transport, tls};

/// A [`Transport`] over reqwest: rustls, a connection pool, redirects never followed.
///
/// ```no_run
/// use map_transport::{ReqwestTransport, TransportConfig};
///
/// let transport = ReqwestTransport::new(TransportConfig::default())?;
/// # Ok::<(), map_transport::TransportError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    config: TransportConfig,
    user_agent: HeaderValue,
}

impl ReqwestTransport {
    /// A client configured by `config`.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let mut tls = tls::client_config().map_err(|e| TransportError::Tls {
            message: e.to_string(),
        })?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .no_proxy()
            .build()
            .map_err(|e| TransportError::InvalidRequest {
                message: chain(&e.without_url()),
            })?;
        let user_agent = user_agent(&config)?;
        Ok(ReqwestTransport {
            client,
            config,
            user_agent,
        })
    }

    async fn exchange(
        &self,
        mut request: Request<Bytes>,
    ) -> Result<Response<Bytes>, TransportError> {
        if !request.headers().contains_key(USER_AGENT) {
            request
                .headers_mut()
                .insert(USER_AGENT, self.user_agent.clone());
        }
        let request =
            reqwest::Request::try_from(request).map_err(|e| TransportError::InvalidRequest {
                message: chain(&e.without_url()),
            })?;
        let mut response = self.client.execute(request).await.map_err(classify)?;

        let limit = self.config.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(TransportError::BodyTooLarge { limit });
        }
        let mut builder = Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        let mut body = BytesMut::with_capacity(response.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = response.chunk().await.map_err(classify_body)? {
            if body.len() + chunk.len() > limit {
                return Err(TransportError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body.freeze())
            .map_err(|e| TransportError::Other {
                message: e.to_string(),
            })
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        self.exchange(request).await
    }
}

/// Sorts a failure before or while the response head arrived.
fn classify(error: reqwest::Error) -> TransportError {
    let error = error.without_url();
    let message = chain(&error);
    if error.is_builder() {
        TransportError::InvalidRequest { message }
    } else if error.is_connect() {
        if is_tls(&error) {
            TransportError::Tls { message }
        } else {
            TransportError::Connect { message }
        }
    } else if error.is_request() {
        TransportError::ConnectionClosed { message }
    } else if error.is_body() || error.is_decode() {
        TransportError::TruncatedBody { message }
    } else {
        TransportError::Other { message }
    }
}

/// Sorts a failure while reading the body: the response had started.
fn classify_body(error: reqwest::Error) -> TransportError {
    TransportError::TruncatedBody {
        message: chain(&error.without_url()),
    }
}
