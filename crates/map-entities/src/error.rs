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

    /// The `scimType`, when it is one of the known values.
    pub fn scim_type_kind(&self) -> Option<ScimType> {
        self.scim_type.as_deref()?.parse().ok()
    }

    /// Whether the error says a resource does not exist: status 404 (RFC 7644), or a detail
    /// `'X' Not Found` (mAP Core answers a missing resource with 400 `invalidValue`).
    ///
    /// ```
    /// use map_entities::MapError;
    ///
    /// let error: MapError = serde_json::from_str(
    ///     r#"{"status":"400","scimType":"invalidValue","detail":"'g-1' Not Found"}"#,
    /// )?;
    /// assert!(error.is_not_found());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.status_code() == Some(404)
            || matches!(self.detail_kind(), Some(ErrorDetail::NotFound(_)))
    }
}

/// The stable shapes of mAP error details, each naming what it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorDetail<'a> {
    /// `'X' Not Found`: no resource has the id (or ePPN) X.
    NotFound(&'a str),
    /// `Duplicate id 'X'`: a resource with the id X exists already.
    DuplicateId(&'a str),
    /// `X is already tied to another account`: the ePPN X belongs to another user.
    AlreadyTied(&'a str),
    /// `No update rights for 'X'`: the token may not change X.
    NoUpdateRights(&'a str),
    /// `No append rights for 'X'`: the token may not add members to X.
    NoAppendRights(&'a str),
    /// `You do not have creation right of 'X'`: the token may not create X.
    NoCreationRight(&'a str),
    /// `'X' illegal (eduPersonPrincipalNames needs idpEntityId)`: the ePPN X needs the
    /// entity id of its IdP (also recognised without the parentheses).
    EppnNeedsIdp(&'a str),
}

impl<'a> ErrorDetail<'a> {
    /// Recognises `detail` if it has one of the known shapes.
    ///
    /// ```
    /// use map_entities::ErrorDetail;
    ///
    /// assert_eq!(ErrorDetail::parse("'u-9' Not Found"), Some(ErrorDetail::NotFound("u-9")));
    /// assert_eq!(
    ///     ErrorDetail::parse("You do not have creation right of 'jc_repo_g'"),
    ///     Some(ErrorDetail::NoCreationRight("jc_repo_g"))
    /// );
    /// assert_eq!(ErrorDetail::parse("something else"), None);
    /// ```
    pub fn parse(detail: &'a str) -> Option<Self> {
        let detail = detail.trim();
        if let Some(quoted) = detail.strip_suffix(" Not Found") {
            return quoted_at_end(quoted).map(ErrorDetail::NotFound);
        }
        if let Some(quoted) = detail.strip_prefix("Duplicate id ") {
            return unquote(quoted).map(ErrorDetail::DuplicateId);
        }
        if let Some(quoted) = detail.strip_prefix("No update rights for ") {
            return unquote(quoted).map(ErrorDetail::NoUpdateRights);
        }
        if let Some(quoted) = detail.strip_prefix("No append rights for ") {
            return unquote(quoted).map(ErrorDetail::NoAppendRights);
        }
        if let Some(subject) = detail.strip_prefix("You do not have creation right of ") {
            // Quoted in older servers' wording, bare in newer.
            let subject = unquote(subject).unwrap_or(subject);
            return (!subject.is_empty()).then_some(ErrorDetail::NoCreationRight(subject));
        }
        if let Some(subject) = detail.strip_suffix(" is already tied to another account") {
            let subject = unquote(subject).unwrap_or(subject);
            return (!subject.is_empty()).then_some(ErrorDetail::AlreadyTied(subject));
        }
        let needs_idp = detail
            .strip_suffix(" illegal (eduPersonPrincipalNames needs idpEntityId)")
            .or_else(|| detail.strip_suffix(" illegal eduPersonPrincipalNames needs idpEntityId"));
        if let Some(quoted) = needs_idp {
            return unquote(quoted).map(ErrorDetail::EppnNeedsIdp);
        }
        None
    }

    /// The kind's name as reports write it: `notFound`, `duplicateId`, `alreadyTied`,
    /// `noUpdateRights`, `noAppendRights`, `noCreationRight`, `eppnNeedsIdp`.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorDetail::NotFound(_) => "notFound",
            ErrorDetail::DuplicateId(_) => "duplicateId",
            ErrorDetail::AlreadyTied(_) => "alreadyTied",
            ErrorDetail::NoUpdateRights(_) => "noUpdateRights",
            ErrorDetail::NoAppendRights(_) => "noAppendRights",
            ErrorDetail::NoCreationRight(_) => "noCreationRight",
            ErrorDetail::EppnNeedsIdp(_) => "eppnNeedsIdp",
        }
    }

    /// What the detail is about: the id, ePPN or name it quotes.
    pub fn subject(&self) -> &'a str {
        match *self {
            ErrorDetail::NotFound(subject)
            | ErrorDetail::DuplicateId(subject)
            | ErrorDetail::AlreadyTied(subject)
            | ErrorDetail::NoUpdateRights(subject)
            | ErrorDetail::NoAppendRights(subject)
            | ErrorDetail::NoCreationRight(subject)
            | ErrorDetail::EppnNeedsIdp(subject) => subject,
        }
    }
}

fn unquote(text: &str) -> Option<&str> {
    text.strip_prefix('\'')?.strip_suffix('\'')
}

/// The quoted subject at the end of `text` (`'X'` or `User 'X'`, as mAP's client's pattern
/// `'(.*)' Not Found` also finds it after other words).
fn quoted_at_end(text: &str) -> Option<&str> {
    let inner = text.strip_suffix('\'')?;
    let open = if text.starts_with('\'') {
        0
    } else {
        inner.find(" '")? + 1
    };
    inner.get(open + 1..)
}

/// The SCIM error types (`scimType`) mAP Core answers with: RFC 7644's, and `invalidId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScimType {
    /// `invalidFilter`.
    InvalidFilter,
    /// `tooMany`.
    TooMany,
    /// `uniqueness`.
    Uniqueness,
    /// `mutability`.
    Mutability,
    /// `invalidSyntax`.
    InvalidSyntax,
    /// `invalidPath`.
    InvalidPath,
    /// `noTarget`.
    NoTarget,
    /// `invalidValue`: mAP's answer to a missing resource, among others.
    InvalidValue,
    /// `invalidVers`.
    InvalidVers,
    /// `sensitive`.
    Sensitive,
    /// `invalidId`: an id that is not `^[A-Za-z0-9._-]{1,50}$` (mAP Core's own).
    InvalidId,
}

impl ScimType {
    /// Every known type.
    pub const ALL: [ScimType; 11] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
        ScimType::InvalidId,
    ];

    /// The type as written on the wire, e.g. `invalidValue`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidId => "invalidId",
        }
    }
}

/// A `scimType` that is none of [`ScimType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownScimType(pub String);

impl std::fmt::Display for UnknownScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown scimType {:?}, expected one of ", self.0)?;
        let names: Vec<&str> = ScimType::ALL.iter().map(|t| t.as_str()).collect();
        f.write_str(&names.join(", "))
    }
}

impl std::error::Error for UnknownScimType {}

impl std::str::FromStr for ScimType {
    type Err = UnknownScimType;

    /// ```
    /// use map_entities::ScimType;
    ///
    /// assert_eq!("invalidId".parse::<ScimType>(), Ok(ScimType::InvalidId));
    /// assert!("invalidPathh".parse::<ScimType>().unwrap_err().to_string().contains("invalidValue"));
    /// ```
    fn from_str(text: &str) -> Result<Self, UnknownScimType> {
        ScimType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownScimType(text.to_owned()))
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
        assert_eq!(
            ErrorDetail::parse("No append rights for 'g3'"),
            Some(ErrorDetail::NoAppendRights("g3"))
        );
        for wording in [
            "You do not have creation right of 'jc_x'",
            "You do not have creation right of jc_x",
        ] {
            assert_eq!(
                ErrorDetail::parse(wording),
                Some(ErrorDetail::NoCreationRight("jc_x")),
                "{wording}"
            );
        }
        for wording in [
            "'a@idp' illegal (eduPersonPrincipalNames needs idpEntityId)",
            "'a@idp' illegal eduPersonPrincipalNames needs idpEntityId",
        ] {
            assert_eq!(
                ErrorDetail::parse(wording),
                Some(ErrorDetail::EppnNeedsIdp("a@idp")),
                "{wording}"
            );
        }
        assert_eq!(
            ErrorDetail::parse("User 'u1' Not Found"),
            Some(ErrorDetail::NotFound("u1"))
        );
        assert_eq!(ErrorDetail::parse("Not Found"), None);
        assert_eq!(ErrorDetail::parse("'unterminated Not Found"), None);
    }

    #[test]
    fn every_kind_has_its_report_name_and_subject() {
        let named: Vec<(&str, &str)> = [
            "'a' Not Found",
            "Duplicate id 'b'",
            "c is already tied to another account",
            "No update rights for 'd'",
            "No append rights for 'e'",
            "You do not have creation right of 'f'",
            "'g' illegal (eduPersonPrincipalNames needs idpEntityId)",
        ]
        .iter()
        .map(|detail| {
            let kind = ErrorDetail::parse(detail).unwrap();
            (kind.name(), kind.subject())
        })
        .collect();
        assert_eq!(
            named,
            [
                ("notFound", "a"),
                ("duplicateId", "b"),
                ("alreadyTied", "c"),
                ("noUpdateRights", "d"),
                ("noAppendRights", "e"),
                ("noCreationRight", "f"),
                ("eppnNeedsIdp", "g")
            ]
        );
    }

    #[test]
    fn scim_types_read_back_as_written() {
        for kind in ScimType::ALL {
            assert_eq!(kind.as_str().parse::<ScimType>(), Ok(kind));
        }
        let error = MapError {
            scim_type: Some("invalidId".into()),
            ..Default::default()
        };
        assert_eq!(error.scim_type_kind(), Some(ScimType::InvalidId));
    }

    #[test]
    fn not_found_in_either_spelling() {
        let rfc = MapError {
            status: Some("404".into()),
            ..Default::default()
        };
        let map = MapError {
            status: Some("400".into()),
            detail: Some("'g1' Not Found".into()),
            ..Default::default()
        };
        let other = MapError {
            status: Some("400".into()),
            detail: Some("No update rights for 'g1'".into()),
            ..Default::default()
        };
        assert!(rfc.is_not_found() && map.is_not_found() && !other.is_not_found());
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
