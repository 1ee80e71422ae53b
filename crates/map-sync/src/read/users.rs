//! Users from a table: a header row of attribute names (`eduPersonPrincipalNames`,
//! `userName`, `emails`, `preferredLanguage`, `externalId`, `groups`, `id`), several values
//! in one cell separated by `;`, an empty cell absent. A table in the NII groups manager's
//! layout goes to [`super::nii`].

use serde_json::{Map, Value, json};

use super::table::{Row, Table};
use super::{Notices, ReadError, nii};
use crate::state::{Desired, DesiredResource, Origin, is_id};

/// The columns of the plain layout.
const COLUMNS: [&str; 7] = [
    "eduPersonPrincipalNames",
    "userName",
    "emails",
    "preferredLanguage",
    "externalId",
    "groups",
    "id",
];

pub(crate) fn from_table(
    name: &str,
    table: &Table,
    desired: &mut Desired,
) -> Result<Notices, ReadError> {
    if let Some(header) = nii::header(table) {
        // That layout's title and description rows are free text.
        table.multi_line_cells(name, |i| i == header || i > header + 1)?;
        return nii::users(name, table, header, desired);
    }
    table.multi_line_cells(name, |_| true)?;
    let Some((header_at, header)) = table.rows.iter().enumerate().find(|(_, r)| !r.is_blank())
    else {
        return Ok(Vec::new());
    };
    let mut problems = header.repeated_columns(name);
    let columns: Vec<&str> = header.cells.iter().map(|c| c.trim()).collect();
    for (i, column) in columns.iter().enumerate() {
        if !COLUMNS.contains(column) {
            problems.push(format!(
                "{name}:{}: column {} ({column:?}): not a user attribute (expected {})",
                header.line,
                i + 1,
                COLUMNS.join(", ")
            ));
        }
    }
    if !columns.iter().any(|c| {
        *c == "eduPersonPrincipalNames" || *c == "id" || *c == "userName" || *c == "externalId"
    }) {
        problems.push(format!("{name}:{}: no column that identifies a user (eduPersonPrincipalNames, userName, externalId or id)", header.line));
    }
    if !problems.is_empty() {
        return Err(ReadError { problems });
    }
    let header: crate::state::Columns = columns
        .iter()
        .map(|c| (Some((*c).to_owned()), (*c).to_owned()))
        .collect();
    for row in table
        .rows
        .iter()
        .skip(header_at + 1)
        .filter(|r| !r.is_blank())
    {
        match user_row(name, &columns, row, &header) {
            Ok(user) => desired.users.push(user),
            Err(mut row_problems) => problems.append(&mut row_problems),
        }
    }
    if problems.is_empty() {
        Ok(Vec::new())
    } else {
        Err(ReadError { problems })
    }
}

fn user_row(
    name: &str,
    columns: &[&str],
    row: &Row,
    header: &crate::state::Columns,
) -> Result<DesiredResource, Vec<String>> {
    let origin = Origin::new(name, row.line).with_columns(header.clone());
    let mut user = DesiredResource::new(Map::new(), origin);
    let mut problems = Vec::new();
    if row.cells.len() > columns.len() {
        problems.push(format!(
            "{name}:{}: column {}: the row has {} cells, the header {} columns",
            row.line,
            columns.len() + 1,
            row.cells.len(),
            columns.len()
        ));
    }
    for (i, column) in columns.iter().enumerate() {
        let cell = row.cell(i);
        if cell.is_empty() {
            continue;
        }
        let at = |message: String| {
            format!(
                "{name}:{}: column {} ({column}): {message}",
                row.line,
                i + 1
            )
        };
        match cell_value(column, cell) {
            Ok(CellValue::Attribute(value)) => {
                user.attributes.insert(column, &value);
            }
            Ok(CellValue::Groups(groups)) => user.groups = Some(groups),
            Err(message) => problems.push(at(message)),
        }
    }
    if problems.is_empty() {
        Ok(user)
    } else {
        Err(problems)
    }
}

/// What a cell gives a user.
pub(crate) enum CellValue {
    Attribute(Value),
    Groups(Vec<String>),
}

/// A non-empty cell of `column` as the attribute it sets, checked.
pub(crate) fn cell_value(column: &str, cell: &str) -> Result<CellValue, String> {
    let values = || cell.split(';').map(str::trim).filter(|v| !v.is_empty());
    match column {
        "eduPersonPrincipalNames" | "emails" => {
            let mut elements = Vec::new();
            for value in values() {
                if !is_address(value) {
                    return Err(format!("{value:?} is not of the form name@domain"));
                }
                elements.push(json!({"value": value}));
            }
            Ok(CellValue::Attribute(Value::Array(elements)))
        }
        "groups" => values()
            .map(|id| {
                if is_id(id) {
                    Ok(id.to_owned())
                } else {
                    Err(format!(
                        "{id:?} is not a group id (1 to 50 of A-Z a-z 0-9 . _ -)"
                    ))
                }
            })
            .collect::<Result<_, _>>()
            .map(CellValue::Groups),
        "id" if !is_id(cell) => Err(format!(
            "{cell:?} is not an id (1 to 50 of A-Z a-z 0-9 . _ -)"
        )),
        _ => Ok(CellValue::Attribute(Value::String(cell.to_owned()))),
    }
}

/// `name@domain`: one `@` with text on both sides, no spaces, commas or quotes.
fn is_address(value: &str) -> bool {
    let mut parts = value.split('@');
    let (Some(name), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !name.is_empty()
        && !domain.is_empty()
        && !value.contains(|c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, ',' | '"' | '<' | '>')
        })
}
