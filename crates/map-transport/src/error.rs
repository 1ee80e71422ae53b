//! [`TransportError`]: a failure to exchange, and whether the request may have been applied.

use std::time::Duration;

/// Whether a failed request may have reached the server and been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Nothing was sent: the request certainly was not applied, and is safe to send again.
    NotSent,
    /// The request may have reached the server and been applied; only an idempotent request
    /// may be sent again blindly.
    MayHaveBeenApplied,
}

impl Delivery {
    /// Whether the request certainly was not sent.
    pub fn was_not_sent(self) -> bool {
        self == Delivery::NotSent
    }
}

/// A failure to exchange a request and its response. Statuses, 5xx included, are not errors.
///
/// Each variant knows its [`Delivery`]; [`TransportError::delivery`] is the one place that
/// says which, so no caller has to guess. Messages never contain the request's URL query or
/// headers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection could be made (refused, unreachable, DNS, connect timeout).
    /// Nothing was sent.
    #[error("could not connect: {message}")]
    Connect {
        /// What the backend said.
        message: String,
    },
    /// The TLS handshake failed (e.g. the certificate did not verify). Nothing was sent.
    #[error("TLS handshake failed: {message}")]
    Tls {
        /// What the backend said.
        message: String,
    },
    /// The request could not be built for sending (e.g. a URL without host). Nothing was sent.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What was wrong.
        message: String,
    },
    /// No complete answer within the timeout. The request may have been applied.
    #[error("no complete answer within {after:?}")]
    Timeout {
        /// The timeout that ran out.
        after: Duration,
    },
    /// The connection was closed or reset after the request was (perhaps partly) sent and
    /// before a response arrived. The request may have been applied.
    #[error("connection closed before a response arrived: {message}")]
    ConnectionClosed {
        /// What the backend said.
        message: String,
    },
    /// The response started but its body ended early. The request may have been applied.
    #[error("response body truncated: {message}")]
    TruncatedBody {
        /// What the backend said.
        message: String,
    },
    /// The response body is larger than the configured cap. The server answered, so the
    /// request may have been applied.
    #[error("response body larger than the {limit}-byte cap")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// Any other failure. Treated as possibly applied.
    #[error("transport failure: {message}")]
    Other {
        /// What the backend said.
        message: String,
    },
}

impl TransportError {
    /// Whether the request may have reached the server.
    pub fn delivery(&self) -> Delivery {
        match self {
            TransportError::Connect { .. }
            | TransportError::Tls { .. }
            | TransportError::InvalidRequest { .. } => Delivery::NotSent,
            TransportError::Timeout { .. }
            | TransportError::ConnectionClosed { .. }
            | TransportError::TruncatedBody { .. }
            | TransportError::BodyTooLarge { .. }
            | TransportError::Other { .. } => Delivery::MayHaveBeenApplied,
        }
    }
}

/// The error and its sources as one line (`a: b: c`), without repeats.
#[cfg(any(feature = "reqwest", feature = "hyper"))]
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Whether a rustls error is among the sources of `error`.
#[cfg(any(feature = "reqwest", feature = "hyper"))]
pub(crate) fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if cause.is::<rustls::Error>() {
            return true;
        }
        // An io::Error's `source` skips the error it wraps; tokio-rustls wraps rustls errors
        // in io::Errors, sometimes twice, so look inside.
        current = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    false
}
