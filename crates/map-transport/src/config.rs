//! [`TransportConfig`]: connecting, pooling, the response cap and the user agent, shared by all
//! backends. How long an attempt may take is not here: the client pipeline bounds every attempt
//! once, whatever the transport (`map_client::Pipeline::with_attempt_timeout`).

use std::time::Duration;

#[cfg(any(feature = "reqwest", feature = "hyper"))]
use crate::error::TransportError;

/// The `User-Agent` every backend sends unless the request sets its own: `map-rs/<version>`.
pub const USER_AGENT: &str = concat!("map-rs/", env!("CARGO_PKG_VERSION"));

/// The default cap on a response body: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// How a backend behaves. Start from [`Default`] and change what you need.
///
/// ```
/// use std::time::Duration;
/// use map_transport::TransportConfig;
///
/// let config = TransportConfig::default()
///     .with_connect_timeout(Duration::from_secs(5))
///     .with_max_response_bytes(8 << 20);
/// assert_eq!(config.pool_max_idle_per_host, 32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Establishing a connection (TCP and TLS). Default 10 s.
    pub connect_timeout: Duration,
    /// A response body larger than this is refused with [`crate::TransportError::BodyTooLarge`].
    /// Default [`DEFAULT_MAX_RESPONSE_BYTES`].
    pub max_response_bytes: usize,
    /// Sent as `User-Agent` unless the request has one. Default [`USER_AGENT`].
    pub user_agent: String,
    /// How long an idle pooled connection is kept. Default 90 s.
    pub pool_idle_timeout: Duration,
    /// At most this many idle connections per host are kept. Default 32.
    pub pool_max_idle_per_host: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(10),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            user_agent: USER_AGENT.to_owned(),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 32,
        }
    }
}

impl TransportConfig {
    /// Sets [`TransportConfig::connect_timeout`].
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets [`TransportConfig::max_response_bytes`].
    pub fn with_max_response_bytes(mut self, max_response_bytes: usize) -> Self {
        self.max_response_bytes = max_response_bytes;
        self
    }

    /// Sets [`TransportConfig::user_agent`].
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }
}

/// The configured user agent as a header value.
#[cfg(any(feature = "reqwest", feature = "hyper"))]
pub(crate) fn user_agent(config: &TransportConfig) -> Result<http::HeaderValue, TransportError> {
    http::HeaderValue::from_str(&config.user_agent).map_err(|_| TransportError::InvalidRequest {
        message: format!(
            "user agent {:?} is not a valid header value",
            config.user_agent
        ),
    })
}
