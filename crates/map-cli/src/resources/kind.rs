//! [`Listed`]: what mapctl knows of each kind of resource — its name, and the columns of
//! its human table.

use map_client::Resource;
use map_entities::{MapGroup, MapService, MapUser};
use serde::Serialize;

/// A kind of resource mapctl lists and prints.
pub(crate) trait Listed: Resource + Serialize {
    /// The kind, as a document's `schemas` suffix names it: `User`.
    const NAME: &'static str;
    /// The kind in a sentence: `users`.
    const PLURAL: &'static str;
    /// The columns that identify a resource of this kind.
    const COLUMNS: &'static [&'static str];

    /// This resource's cells, one per column.
    fn row(&self) -> Vec<String>;
}

fn text(value: Option<&String>) -> String {
    value.cloned().unwrap_or_default()
}

fn joined<T>(values: Option<&Vec<T>>, value: impl Fn(&T) -> Option<&String>) -> String {
    values
        .into_iter()
        .flatten()
        .filter_map(value)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

impl Listed for MapUser {
    const NAME: &'static str = "User";
    const PLURAL: &'static str = "users";
    const COLUMNS: &'static [&'static str] = &["id", "userName", "ePPNs", "emails"];

    fn row(&self) -> Vec<String> {
        vec![
            text(self.id.as_ref()),
            text(self.user_name.as_ref()),
            joined(self.edu_person_principal_names.as_ref(), |e| {
                e.value.as_ref()
            }),
            joined(self.emails.as_ref(), |e| e.value.as_ref()),
        ]
    }
}

impl Listed for MapGroup {
    const NAME: &'static str = "Group";
    const PLURAL: &'static str = "groups";
    const COLUMNS: &'static [&'static str] = &["id", "displayName", "members"];

    fn row(&self) -> Vec<String> {
        vec![
            text(self.id.as_ref()),
            text(self.display_name.as_ref()),
            self.members.as_ref().map_or(0, Vec::len).to_string(),
        ]
    }
}

impl Listed for MapService {
    const NAME: &'static str = "Service";
    const PLURAL: &'static str = "services";
    const COLUMNS: &'static [&'static str] = &["id", "serviceName"];

    fn row(&self) -> Vec<String> {
        vec![text(self.id.as_ref()), text(self.service_name.as_ref())]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_row_has_a_cell_per_column() {
        let user: MapUser = serde_json::from_value(serde_json::json!({
            "id": "u1", "userName": "Alice",
            "eduPersonPrincipalNames": [{"value": "a@x.ac.jp"}, {"value": "a2@x.ac.jp"}],
        }))
        .unwrap();
        assert_eq!(user.row(), ["u1", "Alice", "a@x.ac.jp,a2@x.ac.jp", ""]);
        let group: MapGroup = serde_json::from_value(serde_json::json!({
            "id": "g", "members": [{"value": "u1"}, {"value": "u2"}]
        }))
        .unwrap();
        assert_eq!(group.row(), ["g", "", "2"]);
        assert_eq!(MapService::default().row().len(), MapService::COLUMNS.len());
    }
}
