//! [`HyperTransport`]: the hyper 1 backend.

use async_trait::async_trait;
use bytes::Bytes;
use http::header::USER_AGENT;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::{TransportConfig, user_agent};
use crate::error::{TransportError, chain, is_tls};
use crate::{Transport, tls};

/// A [`Transport`] over hyper 1: a hyper-util pooled client with hyper-rustls for https.
/// hyper never follows redirects.
///
/// ```no_run
/// use map_transport::{HyperTransport, TransportConfig};
///
/// # fn main() -> Result<(), map_transport::TransportError> {
/// # let _rt = tokio::runtime::Runtime::new().unwrap(); let _guard = _rt.enter();
/// let transport = HyperTransport::new(TransportConfig::default())?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HyperTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    config: TransportConfig,
    user_agent: HeaderValue,
}

impl HyperTransport {
    /// A client configured by `config`. Call it inside a tokio runtime.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let tls = tls::client_config().map_err(|e| TransportError::Tls {
            message: e.to_string(),
        })?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(https);
        let user_agent = user_agent(&config)?;
        Ok(HyperTransport {
            client,
            config,
            user_agent,
        })
    }

    async fn exchange(&self, request: Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        let (mut parts, body) = request.into_parts();
        if parts.uri.host().is_none() {
            return Err(TransportError::InvalidRequest {
                message: "the URL has no host".to_owned(),
            });
        }
        if !parts.headers.contains_key(USER_AGENT) {
            parts.headers.insert(USER_AGENT, self.user_agent.clone());
        }
        let request = Request::from_parts(parts, Full::new(body));
        let response = self.client.request(request).await.map_err(classify)?;
        let (parts, body) = response.into_parts();
        let limit = self.config.max_response_bytes;
        let body = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|error| {
                if error.is::<LengthLimitError>() {
                    TransportError::BodyTooLarge { limit }
                } else {
                    TransportError::TruncatedBody {
                        message: chain(error.as_ref()),
                    }
                }
            })?
            .to_bytes();
        Ok(Response::from_parts(parts, body))
    }
}

#[async_trait]
impl Transport for HyperTransport {
    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        self.exchange(request).await
    }
}

/// Sorts a failure before the response head arrived.
fn classify(error: hyper_util::client::legacy::Error) -> TransportError {
    let message = chain(&error);
    if error.is_connect() {
        if is_tls(&error) {
            TransportError::Tls { message }
        } else {
            TransportError::Connect { message }
        }
    } else {
        // The connection was up and the request (perhaps partly) written.
        TransportError::ConnectionClosed { message }
    }
}
