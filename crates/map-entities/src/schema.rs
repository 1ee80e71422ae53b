//! Schema URNs, and telling resource kinds apart by their suffix.

/// The URN of a mAP Core User resource.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:User";
/// The URN of a mAP Core Group resource.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Group";
/// The URN of a mAP Core Service resource.
pub const SERVICE_SCHEMA: &str = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Service";
/// The URN of a mAP Core list response.
pub const LIST_RESPONSE_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:ListResponse";
/// The URN of a mAP Core error.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Error";
/// The URN of a SCIM PATCH request body.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The URN of a SCIM bulk request body.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The URN of a SCIM bulk response body.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The kind of a resource, read from the suffix of a `schemas` URN.
///
/// Deployments put their resources under different URN domains (`mace:gakunin.jp`,
/// `mace:example.jp`, or plain SCIM `urn:ietf:params:scim:schemas:core:2.0:User`), so only the
/// last segment decides.
///
/// ```
/// use map_entities::ResourceKind;
///
/// let kind = ResourceKind::from_schema("urn:ietf:params:scim:schemas:mace:example.jp:core:2.0:Group");
/// assert_eq!(kind, Some(ResourceKind::Group));
/// assert_eq!(ResourceKind::from_schema("urn:example:Thing"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// A user (`…:User`).
    User,
    /// A group (`…:Group`).
    Group,
    /// A service (`…:Service`).
    Service,
    /// An error (`…:Error`).
    Error,
}

impl ResourceKind {
    /// The kind named by the last `:`-separated segment of `urn`, if it is one of ours.
    pub fn from_schema(urn: &str) -> Option<Self> {
        match urn.rsplit(':').next()? {
            "User" => Some(ResourceKind::User),
            "Group" => Some(ResourceKind::Group),
            "Service" => Some(ResourceKind::Service),
            "Error" => Some(ResourceKind::Error),
            _ => None,
        }
    }

    /// The kind of a document with these `schemas`: an error wins over anything else, then
    /// the first URN whose suffix is known.
    pub fn from_schemas<'a>(schemas: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut found = None;
        for kind in schemas.into_iter().filter_map(Self::from_schema) {
            if kind == ResourceKind::Error {
                return Some(kind);
            }
            found = found.or(Some(kind));
        }
        found
    }

    /// The resource's endpoint name in a path: `Users`, `Groups`, `Services` (`None` for errors).
    pub fn endpoint(self) -> Option<&'static str> {
        match self {
            ResourceKind::User => Some("Users"),
            ResourceKind::Group => Some("Groups"),
            ResourceKind::Service => Some("Services"),
            ResourceKind::Error => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_suffix_whatever_the_domain() {
        assert_eq!(
            ResourceKind::from_schema(USER_SCHEMA),
            Some(ResourceKind::User)
        );
        assert_eq!(
            ResourceKind::from_schema(
                "urn:ietf:params:scim:schemas:mace:example.jp:core:2.0:Service"
            ),
            Some(ResourceKind::Service)
        );
        assert_eq!(
            ResourceKind::from_schema("urn:ietf:params:scim:api:messages:2.0:Error"),
            Some(ResourceKind::Error)
        );
        assert_eq!(ResourceKind::from_schema(BULK_REQUEST_SCHEMA), None);
        assert_eq!(ResourceKind::from_schema(""), None);
    }

    #[test]
    fn an_error_schema_wins() {
        let kind = ResourceKind::from_schemas([USER_SCHEMA, ERROR_SCHEMA]);
        assert_eq!(kind, Some(ResourceKind::Error));
        assert_eq!(ResourceKind::from_schemas([]), None);
    }
}
