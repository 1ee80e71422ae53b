//! What the resource endpoints deal in: the [`Resource`] kinds, the [`ResourceAnswer`] a
//! settled call comes to, and the [`ResourceError`] of a call that got no usable answer.

use std::time::Duration;

use map_auth::SignError;
use map_entities::{MapError, MapGroup, MapService, MapUser};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::retry::GiveUp;

/// A kind of resource with its own endpoint under `/api/v2`.
pub trait Resource: Serialize + DeserializeOwned + Send + 'static {
    /// The endpoint: `Users`, `Groups` or `Services`.
    const ENDPOINT: &'static str;
}

/// A kind of resource the API lets a client delete (Groups and Services; mAP Core's users
/// are not deleted through the API).
pub trait Deletable: Resource {}

impl Resource for MapUser {
    const ENDPOINT: &'static str = "Users";
}

impl Resource for MapGroup {
    const ENDPOINT: &'static str = "Groups";
}

impl Deletable for MapGroup {}

impl Resource for MapService {
    const ENDPOINT: &'static str = "Services";
}

impl Deletable for MapService {}

/// What mAP Core answered to a call it settled: the result, or its error document as a value
/// a caller matches on.
///
/// ```
/// use map_client::ResourceAnswer;
/// use map_entities::MapError;
///
/// let missing: ResourceAnswer<()> = ResourceAnswer::NotFound(MapError {
///     detail: Some("'lab-z' Not Found".into()),
///     ..Default::default()
/// });
/// assert!(missing.done().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResourceAnswer<T> {
    /// 2xx: done; the resource as the server holds it now (`()` for a delete).
    Done(T),
    /// No such resource: 404 (RFC 7644), or mAP Core's 400 `'X' Not Found`.
    NotFound(MapError),
    /// 409: a resource with that id (or ePPN) exists already.
    Conflict(MapError),
    /// Any other 400: an invalid value, filter or syntax, or no rights; nothing was applied.
    Refused(MapError),
}

impl<T> ResourceAnswer<T> {
    /// The result, if the call was done.
    pub fn done(self) -> Option<T> {
        match self {
            ResourceAnswer::Done(value) => Some(value),
            _ => None,
        }
    }

    /// The error document, if the server refused.
    pub fn error(&self) -> Option<&MapError> {
        match self {
            ResourceAnswer::Done(_) => None,
            ResourceAnswer::NotFound(error)
            | ResourceAnswer::Conflict(error)
            | ResourceAnswer::Refused(error) => Some(error),
        }
    }

    /// The result, or the refusal as a [`ResourceError::Refused`].
    pub fn into_result(self) -> Result<T, ResourceError> {
        match self {
            ResourceAnswer::Done(value) => Ok(value),
            ResourceAnswer::NotFound(error)
            | ResourceAnswer::Conflict(error)
            | ResourceAnswer::Refused(error) => Err(ResourceError::Refused(Box::new(error))),
        }
    }

    /// The same answer with `f` applied to its result.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ResourceAnswer<U> {
        match self {
            ResourceAnswer::Done(value) => ResourceAnswer::Done(f(value)),
            ResourceAnswer::NotFound(error) => ResourceAnswer::NotFound(error),
            ResourceAnswer::Conflict(error) => ResourceAnswer::Conflict(error),
            ResourceAnswer::Refused(error) => ResourceAnswer::Refused(error),
        }
    }
}

/// A resource call that got no usable answer, or (from [`ResourceAnswer::into_result`] and
/// search streams) one the server refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// The request could not be signed; nothing was sent.
    #[error("could not sign the request: {0}")]
    Sign(#[from] SignError),
    /// The request could not be built (a document that is not JSON, an id that is not a URL
    /// path segment, …); nothing was sent.
    #[error("could not build the request: {0}")]
    Build(String),
    /// The server refused the call with this error document (400, 404 or 409).
    #[error("mAP Core refused: {}", refusal(.0))]
    Refused(Box<MapError>),
    /// 401 or 403: the credentials were refused.
    #[error("mAP Core refused the credentials ({status}): {detail}")]
    CredentialsRefused {
        /// The status.
        status: u16,
        /// What the server said.
        detail: String,
    },
    /// No connection could be made, however often it was tried; nothing was sent.
    #[error("mAP Core is unreachable ({give_up}): {cause}")]
    Unreachable {
        /// The last failure.
        cause: String,
        /// Why it was not tried again.
        give_up: GiveUp,
    },
    /// The server answered 429 or 503 until the strategy gave up; nothing was applied.
    #[error("mAP Core is busy ({give_up}): {cause}")]
    Busy {
        /// The last answer.
        cause: String,
        /// Why it was not tried again.
        give_up: GiveUp,
        /// The server's last `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// No usable answer came back (a timeout, a reset, 500, 502, 504, or a 2xx whose body
    /// cannot be read), and the call is not sent again: a POST or PATCH never is, since it
    /// may have been applied; a GET, PUT or DELETE gave up.
    #[error("{}: {cause}", if *.may_have_been_applied { "no answer came back and the change may have been applied (read it back before sending it again)" } else { "no usable answer came back" })]
    AnswerLost {
        /// What happened to the answer.
        cause: String,
        /// Whether the call changes something (POST, PUT, PATCH, DELETE), so that it may
        /// have been applied.
        may_have_been_applied: bool,
    },
    /// A status the resource endpoints do not answer with (3xx, 405, 413, 501, …).
    #[error("mAP Core answered {status}: {detail}")]
    Status {
        /// The status.
        status: u16,
        /// What the server said, or the start of the body.
        detail: String,
    },
}

impl ResourceError {
    /// Whether the server never took part: it could not be reached, or refused the
    /// credentials.
    pub fn is_unreachable_or_unauthorized(&self) -> bool {
        matches!(
            self,
            ResourceError::Unreachable { .. } | ResourceError::CredentialsRefused { .. }
        )
    }
}

fn refusal(error: &MapError) -> String {
    let status = error.status.as_deref().unwrap_or("?");
    match &error.detail {
        Some(detail) => format!("{status} {detail}"),
        None => format!("{status} (no detail)"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_refusal_names_its_status_and_detail() {
        let answer: ResourceAnswer<()> = ResourceAnswer::Conflict(MapError {
            status: Some("409".into()),
            detail: Some("Duplicate id 'lab-a'".into()),
            ..Default::default()
        });
        assert_eq!(
            answer.error().unwrap().detail.as_deref(),
            Some("Duplicate id 'lab-a'")
        );
        let error = answer.into_result().unwrap_err();
        assert_eq!(
            error.to_string(),
            "mAP Core refused: 409 Duplicate id 'lab-a'"
        );
        assert!(!error.is_unreachable_or_unauthorized());
        assert_eq!(ResourceAnswer::Done(2).map(|n| n * 2).done(), Some(4));
    }
}
