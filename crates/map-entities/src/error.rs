//! [`MapError`]: an error document from mAP Core, and the shapes of its details.

use crate::wire::wire_struct;

wire_struct! {
    /// An error as mAP Core returns it: for a whole request (HTTP 400 and above) or inside a bulk
    /// operation's `response`.
    ///
    /// ```
    /// use map_entities::{ErrorDetail, MapError};
    ///
    /// let error: MapError = serde_json::from_str(
    ///     r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"Duplicate id 'lab-a'"}"#,
    /// )?;
    /// assert_eq!(error.status_code(), Some(409));
    /// assert_eq!(error.detail_kind(), Some(ErrorDetail::DuplicateId("lab-a")));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct MapError {
        /// Schema URNs of the error.
        pub schemas: Vec<String> => "schemas",
        /// The HTTP status as a string, e.g. `"404"`.
        pub status: String => "status",
        /// The SCIM error type, e.g. `uniqueness`, `invalidValue`, `noTarget`.
        pub scim_type: String => "scimType",
        /// What went wrong, in mAP's words.
        pub detail: String => "detail",
        /// mAP's own error code.
        pub error_code: i64 => "errorCode",
    }
}

impl MapError {
    /// The `status` as a number, when it is one.
    pub fn status_code(&self) -> Option<u16> {
        self.status.as_deref()?.trim().parse().ok()
    }

    /// The recognised shape of `detail`, naming the resource it is about.
    pub fn detail_kind(&self) -> Option<ErrorDetail<'_>> {
        ErrorDetail::parse(self.detail.as_deref()?)
    }
}

/// The stable shapes of mAP error details, each naming what it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorDetail<'a> {
    /// `'X' Not Found`.
    NotFound(&'a str),
    /// `Duplicate id 'X'`.
    DuplicateId(&'a str),
    /// `X is already tied to another account`.
    AlreadyTied(&'a str),
    /// `No update rights for 'X'`.
    NoUpdateRights(&'a str),
}

impl<'a> ErrorDetail<'a> {
    /// Recognises `detail` if it has one of the known shapes.
    ///
    /// ```
    /// use map_entities::ErrorDetail;
    ///
    /// assert_eq!(ErrorDetail::parse("'u-9' Not Found"), Some(ErrorDetail::NotFound("u-9")));
    /// assert_eq!(ErrorDetail::parse("something else"), None);
    /// ```
    pub fn parse(detail: &'a str) -> Option<Self> {
        let detail = detail.trim();
        if let Some(quoted) = detail.strip_suffix(" Not Found") {
            return unquote(quoted).map(ErrorDetail::NotFound);
        }
        if let Some(quoted) = detail.strip_prefix("Duplicate id ") {
            return unquote(quoted).map(ErrorDetail::DuplicateId);
        }
        if let Some(quoted) = detail.strip_prefix("No update rights for ") {
            return unquote(quoted).map(ErrorDetail::NoUpdateRights);
        }
        if let Some(subject) = detail.strip_suffix(" is already tied to another account") {
            let subject = unquote(subject).unwrap_or(subject);
            return (!subject.is_empty()).then_some(ErrorDetail::AlreadyTied(subject));
        }
        None
    }
}

fn unquote(text: &str) -> Option<&str> {
    text.strip_prefix('\'')?.strip_suffix('\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_shape() {
        assert_eq!(
            ErrorDetail::parse("Duplicate id 'g1'"),
            Some(ErrorDetail::DuplicateId("g1"))
        );
        assert_eq!(
            ErrorDetail::parse("alice@example.ac.jp is already tied to another account"),
            Some(ErrorDetail::AlreadyTied("alice@example.ac.jp"))
        );
        assert_eq!(
            ErrorDetail::parse("No update rights for 'g2'"),
            Some(ErrorDetail::NoUpdateRights("g2"))
        );
        assert_eq!(ErrorDetail::parse("Not Found"), None);
        assert_eq!(ErrorDetail::parse("'unterminated Not Found"), None);
    }

    #[test]
    fn status_code_reads_the_string() {
        let error = MapError {
            status: Some("404".into()),
            ..Default::default()
        };
        assert_eq!(error.status_code(), Some(404));
        let odd = MapError {
            status: Some("four".into()),
            ..Default::default()
        };
        assert_eq!(odd.status_code(), None);
    }
}
