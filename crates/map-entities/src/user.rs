//! [`MapUser`] and its multi-valued attributes.

use crate::meta::Meta;
use crate::wire::wire_struct;

wire_struct! {
    /// A mAP Core user: an account identified by its ePPNs.
    ///
    /// ```
    /// use map_entities::{Email, Eppn, MapUser, USER_SCHEMA};
    ///
    /// let user = MapUser {
    ///     schemas: Some(vec![USER_SCHEMA.into()]),
    ///     user_name: Some("alice".into()),
    ///     edu_person_principal_names: Some(vec![Eppn { value: Some("alice@example.ac.jp".into()), ..Default::default() }]),
    ///     emails: Some(vec![Email { value: Some("alice@example.ac.jp".into()), ..Default::default() }]),
    ///     ..Default::default()
    /// };
    /// let json = serde_json::to_value(&user)?;
    /// assert_eq!(json["eduPersonPrincipalNames"][0]["value"], "alice@example.ac.jp");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct MapUser {
        /// Schema URNs of the resource.
        pub schemas: Vec<String> => "schemas",
        /// The server-assigned id.
        pub id: String => "id",
        /// An id given by the provisioning client.
        pub external_id: String => "externalId",
        /// The user's display name (`John Doe`): not unique; a person's key is an ePPN.
        pub user_name: String => "userName",
        /// `en`, `ja`, or empty.
        pub preferred_language: String => "preferredLanguage",
        /// Server-maintained metadata.
        pub meta: Meta => "meta",
        /// The user's eduPersonPrincipalNames.
        pub edu_person_principal_names: Vec<Eppn> => "eduPersonPrincipalNames",
        /// The user's e-mail addresses.
        pub emails: Vec<Email> => "emails",
        /// The groups the user belongs to: the other side of each group's `members`.
        pub groups: Vec<UserGroup> => "groups",
    }
}

wire_struct! {
    /// A group a user belongs to, as `User.groups` lists it: its id and URL (mAP Core gives
    /// no `display` here).
    ///
    /// ```
    /// use map_entities::UserGroup;
    ///
    /// let group: UserGroup = serde_json::from_str(r#"{"value":"lab-a","$ref":"https://cg.gakunin.jp/api/v2/Groups/lab-a"}"#)?;
    /// assert_eq!(group.value.as_deref(), Some("lab-a"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct UserGroup {
        /// The group's id.
        pub value: String => "value",
        /// The group's URL (absolute).
        pub reference: String => "$ref",
    }
}

wire_struct! {
    /// One eduPersonPrincipalName of a user, with the IdP that asserts it.
    pub struct Eppn {
        /// The ePPN, e.g. `alice@example.ac.jp`.
        pub value: String => "value",
        /// The entity id of the identity provider that issued it.
        pub idp_entity_id: String => "idpEntityId",
    }
}

wire_struct! {
    /// One e-mail address of a user.
    pub struct Email {
        /// The address.
        pub value: String => "value",
    }
}
