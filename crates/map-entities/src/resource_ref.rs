//! [`ResourceRef`]: a reference from one resource to another.

use crate::wire::wire_struct;

wire_struct! {
    /// A reference to another resource by id, as found in a user's `groups`, a group's
    /// `administrators`, or a service's `administrators` and `groups`.
    ///
    /// ```
    /// use map_entities::ResourceRef;
    ///
    /// let admin = ResourceRef { value: Some("u-1".into()), ..Default::default() };
    /// assert_eq!(serde_json::to_string(&admin)?, r#"{"value":"u-1"}"#);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct ResourceRef {
        /// The id of the referenced resource.
        pub value: String => "value",
        /// The URL of the referenced resource.
        pub reference: String => "$ref",
        /// A human-readable name of the referenced resource.
        pub display: String => "display",
    }
}
