//! [`OpError`]: why the simulator refused an operation or a request, as mAP words it.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use map_entities::{ERROR_SCHEMA, MapError};

/// A refusal: the HTTP status, the SCIM error type and mAP's detail text.
///
/// Every error carries a `scimType` and a `detail`, as mAP Core's own client requires of
/// the errors it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpError {
    pub(crate) status: u16,
    pub(crate) scim_type: &'static str,
    pub(crate) detail: String,
}

impl OpError {
    pub(crate) fn new(status: u16, scim_type: &'static str, detail: impl Into<String>) -> Self {
        OpError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// `'X' Not Found`: mAP Core answers a missing resource with 400 invalidValue, not 404.
    pub(crate) fn not_found(id: &str) -> Self {
        Self::invalid_value(format!("'{id}' Not Found"))
    }

    /// `Duplicate id 'X'` (409, uniqueness).
    pub(crate) fn duplicate_id(id: &str) -> Self {
        Self::new(409, "uniqueness", format!("Duplicate id '{id}'"))
    }

    /// An id that is not `^[A-Za-z0-9._-]{1,50}$` (400, invalidId).
    pub(crate) fn invalid_id(id: &str) -> Self {
        Self::new(
            400,
            "invalidId",
            format!("'{id}' is not a valid id (1 to 50 of A-Z a-z 0-9 . _ -)"),
        )
    }

    /// 400 invalidValue.
    pub(crate) fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, "invalidValue", detail)
    }

    /// 400 invalidSyntax.
    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, "invalidSyntax", detail)
    }

    /// 400 invalidFilter.
    pub(crate) fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, "invalidFilter", detail)
    }

    /// 401: the credentials were refused.
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "invalidValue", detail)
    }

    /// 413 tooMany.
    pub(crate) fn too_large(detail: impl Into<String>) -> Self {
        Self::new(413, "tooMany", detail)
    }

    /// The error as a MapError document.
    pub(crate) fn to_map_error(&self) -> MapError {
        MapError {
            schemas: Some(vec![ERROR_SCHEMA.to_owned()]),
            status: Some(self.status.to_string()),
            scim_type: Some(self.scim_type.to_owned()),
            detail: Some(self.detail.clone()),
            ..Default::default()
        }
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    response
}

impl IntoResponse for OpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::to_vec(&self.to_map_error()).unwrap_or_default();
        json_response(status, body)
    }
}
