//! [`ListResponse`]: a page of resources from a list or search.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::wire::{insert_extra, serialize_extra, set_once, set_once_opt, set_once_seq};

/// One page of a list or search (`GET /api/v2/Users?filter=…`).
///
/// ```
/// use map_entities::{ListResponse, MapUser};
///
/// let page: ListResponse<MapUser> = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:ListResponse"],
///     "totalResults": 1, "startIndex": 1, "itemsPerPage": 1,
///     "Resources": [{"id": "9f2", "userName": "alice"}]
/// }"#)?;
/// assert_eq!(page.resources()[0].user_name.as_deref(), Some("alice"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse<T> {
    /// Schema URNs of the list. On the wire: `schemas`.
    pub schemas: Option<Vec<String>>,
    /// How many resources matched in all. On the wire: `totalResults`.
    pub total_results: u64,
    /// The 1-based index of the first resource of this page. On the wire: `startIndex`.
    pub start_index: Option<u64>,
    /// How many resources this page holds. On the wire: `itemsPerPage`.
    pub items_per_page: Option<u64>,
    /// The resources of this page. On the wire: `Resources`.
    pub resources: Option<Vec<T>>,
    /// Attributes this crate does not model, kept as they came.
    pub extra: Map<String, Value>,
}

impl<T> ListResponse<T> {
    /// The resources of this page (empty when the server sent none).
    pub fn resources(&self) -> &[T] {
        self.resources.as_deref().unwrap_or_default()
    }
}

impl<T> Default for ListResponse<T> {
    fn default() -> Self {
        ListResponse {
            schemas: None,
            total_results: 0,
            start_index: None,
            items_per_page: None,
            resources: None,
            extra: Map::new(),
        }
    }
}

const FIELDS: [&str; 5] = [
    "schemas",
    "totalResults",
    "startIndex",
    "itemsPerPage",
    "Resources",
];

impl<T: Serialize> Serialize for ListResponse<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(schemas) = &self.schemas {
            map.serialize_entry("schemas", schemas)?;
        }
        map.serialize_entry("totalResults", &self.total_results)?;
        if let Some(start_index) = &self.start_index {
            map.serialize_entry("startIndex", start_index)?;
        }
        if let Some(items_per_page) = &self.items_per_page {
            map.serialize_entry("itemsPerPage", items_per_page)?;
        }
        if let Some(resources) = &self.resources {
            map.serialize_entry("Resources", resources)?;
        }
        serialize_extra(&mut map, &self.extra, &FIELDS)?;
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListResponse<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = ListResponse<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ListResponse object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListResponse<T>, A::Error> {
                let mut total_results = None;
                let mut list = ListResponse::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "schemas" => set_once_opt(&mut list.schemas, "schemas", &mut map)?,
                        "totalResults" => set_once(&mut total_results, "totalResults", &mut map)?,
                        "startIndex" => {
                            set_once_opt(&mut list.start_index, "startIndex", &mut map)?
                        }
                        "itemsPerPage" => {
                            set_once_opt(&mut list.items_per_page, "itemsPerPage", &mut map)?
                        }
                        "Resources" => set_once_seq(&mut list.resources, "Resources", &mut map)?,
                        _ => insert_extra(&mut list.extra, key, &mut map)?,
                    }
                }
                list.total_results =
                    total_results.ok_or_else(|| de::Error::missing_field("totalResults"))?;
                Ok(list)
            }
        }

        deserializer.deserialize_map(ListVisitor(PhantomData))
    }
}
