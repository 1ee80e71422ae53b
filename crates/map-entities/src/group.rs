//! [`MapGroup`], its members and the services tied to it.

use serde::{Deserialize, Serialize};

use crate::meta::Meta;
use crate::resource_ref::ResourceRef;
use crate::wire::wire_struct;

wire_struct! {
    /// A mAP Core group: members (users or groups), administrators and the services that use it.
    ///
    /// ```
    /// use map_entities::{GroupMember, MapGroup, MemberType};
    ///
    /// let group: MapGroup = serde_json::from_str(r#"{
    ///     "id": "lab-a", "displayName": "Lab A", "memberListVisibility": "Private",
    ///     "members": [{"type": "User", "value": "u-1", "customRoles": ["pi"]}]
    /// }"#)?;
    /// let member = &group.members.as_ref().unwrap()[0];
    /// assert_eq!(member.member_type, Some(MemberType::User));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct MapGroup {
        /// Schema URNs of the resource.
        pub schemas: Vec<String> => "schemas",
        /// The group id (chosen by the creator, or by the server).
        pub id: String => "id",
        /// An id given by the provisioning client.
        pub external_id: String => "externalId",
        /// The group's display name.
        pub display_name: String => "displayName",
        /// Whether the group is public.
        pub public: bool => "public",
        /// A free-text description.
        pub description: String => "description",
        /// Whether the group is suspended.
        pub suspended: bool => "suspended",
        /// Who may see the member list.
        pub member_list_visibility: MemberListVisibility => "memberListVisibility",
        /// Server-maintained metadata.
        pub meta: Meta => "meta",
        /// The members: users and groups.
        pub members: Vec<GroupMember> => "members",
        /// The users who administer the group.
        pub administrators: Vec<ResourceRef> => "administrators",
        /// The services tied to the group.
        pub services: Vec<GroupService> => "services",
    }
}

/// Who may see a group's member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberListVisibility {
    /// Everyone.
    Public,
    /// Members of the group.
    Private,
    /// Administrators only.
    Hidden,
}

/// Whether a group member is a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberType {
    /// A user.
    User,
    /// A nested group.
    Group,
}

wire_struct! {
    /// One member of a group.
    pub struct GroupMember {
        /// Whether the member is a user or a group.
        pub member_type: MemberType => "type",
        /// The URL of the member resource.
        pub reference: String => "$ref",
        /// A human-readable name.
        pub display: String => "display",
        /// The member's id.
        pub value: String => "value",
        /// Roles the group gives this member.
        pub custom_roles: Vec<String> => "customRoles",
    }
}

wire_struct! {
    /// A service tied to a group.
    pub struct GroupService {
        /// The URL of the service resource.
        pub reference: String => "$ref",
        /// A human-readable name.
        pub display: String => "display",
        /// The service id.
        pub value: String => "value",
        /// Non-zero when the service administers the group.
        pub administrator_of_group: i64 => "administratorOfGroup",
    }
}
