//! [`MapService`]: a service (an SP) registered with mAP Core.

use crate::meta::Meta;
use crate::resource_ref::ResourceRef;
use crate::wire::wire_struct;

wire_struct! {
    /// A service registered with mAP Core: its SAML entity ids, administrators and groups.
    /// The seed calls it `MapRepository`; that name is exported too.
    ///
    /// ```
    /// use map_entities::MapService;
    ///
    /// let service: MapService = serde_json::from_str(
    ///     r#"{"id":"svc-1","serviceName":"Repository","entityIds":[{"value":"https://sp.example.ac.jp/shibboleth"}]}"#,
    /// )?;
    /// assert_eq!(service.service_name.as_deref(), Some("Repository"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct MapService {
        /// Schema URNs of the resource.
        pub schemas: Vec<String> => "schemas",
        /// The service id.
        pub id: String => "id",
        /// The service's name.
        pub service_name: String => "serviceName",
        /// The service's URL.
        pub service_url: String => "serviceUrl",
        /// Whether the service is suspended.
        pub suspended: bool => "suspended",
        /// Server-maintained metadata.
        pub meta: Meta => "meta",
        /// The service's SAML entity ids.
        pub entity_ids: Vec<EntityId> => "entityIds",
        /// The users who administer the service.
        pub administrators: Vec<ResourceRef> => "administrators",
        /// The groups tied to the service.
        pub groups: Vec<ResourceRef> => "groups",
    }
}

/// The seed's name for [`MapService`].
pub type MapRepository = MapService;

wire_struct! {
    /// One SAML entity id of a service.
    pub struct EntityId {
        /// The entity id, e.g. `https://sp.example.ac.jp/shibboleth`.
        pub value: String => "value",
    }
}
