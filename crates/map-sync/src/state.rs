//! The two states a plan is made from: [`Desired`] (what the institution's files say) and
//! [`Current`] (what mAP Core holds), each resource as its attributes.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::attributes::Attributes;

/// The three kinds of resource mAP Core keeps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
    /// `/Services`.
    Service,
}

impl Kind {
    /// The name reports use: `User`, `Group`, `Service`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
            Kind::Service => "Service",
        }
    }

    /// The usual `schemas` URN of this kind (`…:gakunin.jp:core:2.0:User`, …).
    pub fn schema(self) -> &'static str {
        match self {
            Kind::User => map_entities::USER_SCHEMA,
            Kind::Group => map_entities::GROUP_SCHEMA,
            Kind::Service => map_entities::SERVICE_SCHEMA,
        }
    }

    /// The endpoint's path: `/Users`, `/Groups`, `/Services`.
    pub fn path(self) -> &'static str {
        match self {
            Kind::User => "/Users",
            Kind::Group => "/Groups",
            Kind::Service => "/Services",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A table's header as origins keep it: for each column, the attribute it sets (if any)
/// and its name as the file spells it.
pub type Columns = Arc<[(Option<String>, String)]>;

/// Where a desired resource was read: a file and its line (1-based; a table's row), and
/// for a table the columns its attributes came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file, as the user named it.
    pub file: String,
    /// The line (or a table's row), 1-based.
    pub line: u64,
    /// A table's header: for each column, the attribute it sets (if any) and its name as
    /// the file spells it. Shared by every row of the table.
    pub columns: Option<Columns>,
}

impl Origin {
    /// `file`, line `line`.
    pub fn new(file: impl Into<String>, line: u64) -> Self {
        Origin {
            file: file.into(),
            line,
            columns: None,
        }
    }

    /// The same origin, its attributes read from the columns of `header` (see
    /// [`Origin::columns`]).
    pub fn with_columns(self, header: Columns) -> Self {
        Origin {
            columns: Some(header),
            ..self
        }
    }

    /// Where `attribute` was read, as errors say it: `file:line: column N (header)`, or
    /// `file:line: attribute` for a document.
    pub fn of_attribute(&self, attribute: &str) -> String {
        let column = self.columns.as_ref().and_then(|columns| {
            columns
                .iter()
                .position(|(a, _)| a.as_deref() == Some(attribute))
                .map(|n| (n + 1, columns[n].1.as_str()))
        });
        match column {
            Some((n, header)) => format!("{self}: column {n} ({header})"),
            None => format!("{self}: {attribute}"),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One desired resource: the attributes it should have. An attribute present is made equal
/// (`null` or `[]`: cleared); one absent is left alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredResource {
    /// The attributes, by their wire names. A group's `members` are the members it should
    /// have exactly; a user's `groups` are not here but in [`DesiredResource::groups`].
    pub attributes: Attributes,
    /// For a user: the ids of the groups it should belong to (a table's `groups` cell or a
    /// document's `groups`), `None` when not given. Unused for groups and services.
    pub groups: Option<Vec<String>>,
    /// Where it was read.
    pub origin: Origin,
}

impl DesiredResource {
    /// A desired resource with these attributes, read at `origin`.
    pub fn new(attributes: impl Into<Attributes>, origin: Origin) -> Self {
        DesiredResource {
            attributes: attributes.into(),
            groups: None,
            origin,
        }
    }

    /// The `id` attribute, if it is a string (an id with characters JSON escapes is no
    /// mAP id, and counts as none).
    pub fn id(&self) -> Option<&str> {
        self.attributes.plain_str("id")
    }
}

/// What the institution's files describe.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    /// Users, matched to existing ones by the [`UserKey`].
    pub users: Vec<DesiredResource>,
    /// Groups, matched by `id`.
    pub groups: Vec<DesiredResource>,
    /// Services, matched by `id`.
    pub services: Vec<DesiredResource>,
}

impl Desired {
    /// The desired resources of `kind`.
    pub fn of(&self, kind: Kind) -> &[DesiredResource] {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
            Kind::Service => &self.services,
        }
    }

    /// Adds `resource` to those of `kind`.
    pub fn push(&mut self, kind: Kind, resource: DesiredResource) {
        match kind {
            Kind::User => self.users.push(resource),
            Kind::Group => self.groups.push(resource),
            Kind::Service => self.services.push(resource),
        }
    }
}

/// What mAP Core holds: every resource as the server rendered it (with its `id`). A group's
/// `members` are the memberships; a user's `groups` are not read (they are the same fact).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    /// Users.
    pub users: Vec<Attributes>,
    /// Groups.
    pub groups: Vec<Attributes>,
    /// Services.
    pub services: Vec<Attributes>,
}

impl Current {
    /// The current resources of `kind`.
    pub fn of(&self, kind: Kind) -> &[Attributes] {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
            Kind::Service => &self.services,
        }
    }

    /// The current resources of `kind`, to change.
    pub fn of_mut(&mut self, kind: Kind) -> &mut Vec<Attributes> {
        match kind {
            Kind::User => &mut self.users,
            Kind::Group => &mut self.groups,
            Kind::Service => &mut self.services,
        }
    }
}

/// How a desired user is matched to an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserKey {
    /// By ePPN: the existing user that holds any of the desired user's ePPNs.
    #[default]
    Eppn,
    /// By `userName`.
    UserName,
    /// By `externalId`.
    ExternalId,
}

impl UserKey {
    /// The values of this key that `user` holds (several ePPNs; one name or external id).
    pub fn values(self, user: &Attributes) -> Vec<String> {
        match self {
            UserKey::Eppn => match user.get("eduPersonPrincipalNames") {
                Some(Value::Array(eppns)) => eppns
                    .iter()
                    .filter_map(value_of)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            },
            UserKey::UserName | UserKey::ExternalId => user
                .string(self.attribute())
                .map(|v| v.into_owned())
                .into_iter()
                .collect(),
        }
    }

    /// The attribute that holds the key.
    pub fn attribute(self) -> &'static str {
        match self {
            UserKey::Eppn => "eduPersonPrincipalNames",
            UserKey::UserName => "userName",
            UserKey::ExternalId => "externalId",
        }
    }
}

/// The `value` of a multi-valued attribute's element (`{"value": "…"}`), or the element
/// itself when it is a plain string.
pub(crate) fn value_of(element: &Value) -> Option<&str> {
    match element {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("value").and_then(Value::as_str),
        _ => None,
    }
}

/// mAP Core's id rule: `^[A-Za-z0-9._-]{1,50}$`.
pub(crate) fn is_id(id: &str) -> bool {
    (1..=50).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
