//! The NII groups manager's user-import layout, read as it is: a title row, a header row
//! (`id`, `user_name`, `preferred_language`, `role`, `edu_person_principal_names[]`,
//! `emails[]`, `groups[].id`, `groups[].name`), a row that tool keeps for descriptions,
//! then data. A user may take several rows, each adding values to the `[]` columns; rows
//! belong together by `id`, or, without one, by `user_name`.
//!
//! A user's `groups[].id` values are the groups it should belong to (with none given, none:
//! the file lists a repository's members); `groups[].name` is informative and `role` is that
//! tool's own notion, so both are ignored (`role` with a notice).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::table::Table;
use super::users::{CellValue, cell_value};
use super::{Notices, ReadError};
use crate::state::{Desired, DesiredResource, Origin};

/// The layout's columns and the attribute each sets (`None`: ignored).
const COLUMNS: [(&str, Option<&str>); 8] = [
    ("id", Some("id")),
    ("user_name", Some("userName")),
    ("preferred_language", Some("preferredLanguage")),
    ("role", None),
    (
        "edu_person_principal_names[]",
        Some("eduPersonPrincipalNames"),
    ),
    ("emails[]", Some("emails")),
    ("groups[].id", Some("groups")),
    ("groups[].name", None),
];

/// The index of the header row, when one of the first two rows is this layout's.
pub(crate) fn header(table: &Table) -> Option<usize> {
    table.rows.iter().take(2).position(|row| {
        let known = row
            .cells
            .iter()
            .filter(|c| COLUMNS.iter().any(|(n, _)| n == &c.trim()))
            .count();
        known >= 3
            && row
                .cells
                .iter()
                .any(|c| c.trim() == "user_name" || c.trim() == "edu_person_principal_names[]")
    })
}

pub(crate) fn users(
    name: &str,
    table: &Table,
    header_at: usize,
    desired: &mut Desired,
) -> Result<Notices, ReadError> {
    let header = &table.rows[header_at];
    let mut problems = header.repeated_columns(name);
    let mut notices = Vec::new();
    let mut columns: Vec<Option<&str>> = Vec::new();
    for (i, cell) in header.cells.iter().enumerate() {
        let cell = cell.trim();
        match COLUMNS.iter().find(|(n, _)| *n == cell) {
            Some((_, attribute)) => columns.push(*attribute),
            None if cell.is_empty() => columns.push(None),
            None => {
                problems.push(format!(
                    "{name}:{}: column {} ({cell:?}): not a column of the NII import layout",
                    header.line,
                    i + 1
                ));
                columns.push(None);
            }
        }
        if cell == "role" {
            notices.push(format!(
                "{name}: column {} (role) is the NII groups manager's own notion: ignored",
                i + 1
            ));
        }
    }
    let header_columns: crate::state::Columns = columns
        .iter()
        .zip(&header.cells)
        .map(|(attribute, cell)| (attribute.map(str::to_owned), cell.trim().to_owned()))
        .collect();
    // Users as their rows are read; made compact once complete.
    let mut users: Vec<(DesiredResource, Map<String, Value>)> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    // The row after the header holds that tool's descriptions or flags.
    for row in table
        .rows
        .iter()
        .skip(header_at + 2)
        .filter(|r| !r.is_blank())
    {
        let cell_of = |attribute: &str| {
            columns
                .iter()
                .position(|c| *c == Some(attribute))
                .map_or("", |i| row.cell(i))
        };
        let key = match (cell_of("id"), cell_of("userName")) {
            ("", "") => {
                problems.push(format!(
                    "{name}:{}: neither id nor user_name: the row belongs to no user",
                    row.line
                ));
                continue;
            }
            ("", user_name) => format!("name:{user_name}"),
            (id, _) => format!("id:{id}"),
        };
        let n = *by_key.entry(key).or_insert_with(|| {
            let origin = Origin::new(name, row.line).with_columns(header_columns.clone());
            let mut user = DesiredResource::new(Map::new(), origin);
            user.groups = columns.contains(&Some("groups")).then(Vec::new);
            users.push((user, Map::new()));
            users.len() - 1
        });
        let (user, attributes) = &mut users[n];
        for (i, attribute) in columns.iter().enumerate() {
            let (Some(attribute), cell) = (attribute, row.cell(i)) else {
                continue;
            };
            if cell.is_empty() {
                continue;
            }
            let at = |m: String| {
                format!(
                    "{name}:{}: column {} ({}): {m}",
                    row.line,
                    i + 1,
                    header.cell(i)
                )
            };
            match cell_value(attribute, cell) {
                Ok(CellValue::Groups(ids)) => user.groups.get_or_insert_with(Vec::new).extend(ids),
                Ok(CellValue::Attribute(Value::Array(values))) => {
                    let list = attributes
                        .entry(*attribute)
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = list {
                        list.extend(values);
                    }
                }
                Ok(CellValue::Attribute(value)) => match attributes.get(*attribute) {
                    Some(first) if first != &value => problems.push(at(format!(
                        "{value} differs from {first} given for this user at {}",
                        user.origin
                    ))),
                    _ => {
                        attributes.insert((*attribute).to_owned(), value);
                    }
                },
                Err(message) => problems.push(at(message)),
            }
        }
    }
    if !problems.is_empty() {
        return Err(ReadError { problems });
    }
    desired
        .users
        .extend(users.into_iter().map(|(mut user, attributes)| {
            user.attributes = attributes.into();
            user
        }));
    Ok(notices)
}
