//! [`OpError`]: why the simulator refused an operation or a request, as mAP words it.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use map_entities::{ERROR_SCHEMA, MapError};

/// A refusal: the HTTP status, the SCIM error type and mAP's detail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpError {
    pub(crate) status: u16,
    pub(crate) scim_type: Option<&'static str>,
    pub(crate) detail: String,
}

impl OpError {
    pub(crate) fn new(
        status: u16,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        OpError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// `'X' Not Found` (404, noTarget).
    pub(crate) fn not_found(id: &str) -> Self {
        Self::new(404, Some("noTarget"), format!("'{id}' Not Found"))
    }

    /// `Duplicate id 'X'` (409, uniqueness).
    pub(crate) fn duplicate_id(id: &str) -> Self {
        Self::new(409, Some("uniqueness"), format!("Duplicate id '{id}'"))
    }

    /// 400 invalidValue.
    pub(crate) fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }

    /// 400 invalidSyntax.
    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidSyntax"), detail)
    }

    /// 401, without a SCIM type.
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    /// 413 tooMany.
    pub(crate) fn too_large(detail: impl Into<String>) -> Self {
        Self::new(413, Some("tooMany"), detail)
    }

    /// The error as a MapError document.
    pub(crate) fn to_map_error(&self) -> MapError {
        MapError {
            schemas: Some(vec![ERROR_SCHEMA.to_owned()]),
            status: Some(self.status.to_string()),
            scim_type: self.scim_type.map(str::to_owned),
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
