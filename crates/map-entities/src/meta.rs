//! [`Meta`]: the server-maintained metadata of a resource.

use crate::timestamp::Timestamp;
use crate::wire::wire_struct;

wire_struct! {
    /// Metadata the server keeps for a resource: its type, when it was created and last modified,
    /// and (for users) by whom.
    ///
    /// These are mAP Core's fields, exactly: its own client refuses any other (RFC 7644's
    /// `location` and `version` included), so a document that carries one keeps it in `extra`.
    ///
    /// ```
    /// use map_entities::Meta;
    ///
    /// let meta: Meta = serde_json::from_str(
    ///     r#"{"resourceType":"User","created":"2024-04-01T09:30:00Z","lastModified":"2024-04-02T10:00:00.5Z"}"#,
    /// )?;
    /// assert_eq!(meta.resource_type.as_deref(), Some("User"));
    /// assert_eq!(meta.last_modified.unwrap().as_str(), "2024-04-02T10:00:00.5Z");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct Meta {
        /// `User`, `Group` or `Service`.
        pub resource_type: String => "resourceType",
        /// When the resource was created.
        pub created: Timestamp => "created",
        /// When the resource was last changed.
        pub last_modified: Timestamp => "lastModified",
        /// The id of whoever created the resource (users only).
        pub created_by: String => "createdBy",
    }
}
