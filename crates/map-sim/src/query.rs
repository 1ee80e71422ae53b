//! A list request's query (`filter`, `sortBy`, `sortOrder`, `startIndex`, `count`,
//! `attributes`, `excludedAttributes`) and the page it selects.

use std::cmp::Ordering;
use std::collections::HashMap;

use map_entities::LIST_RESPONSE_SCHEMA;
use serde_json::{Value, json};

use crate::error::OpError;
use crate::filter::{Filter, field};
use crate::resource::Resource;

/// How many resources a page holds when the request does not say: the public client's
/// own assumption (mAP Core does not document its default).
pub(crate) const DEFAULT_COUNT: usize = 20;

/// Which attributes of each resource are returned.
#[derive(Debug, Default)]
pub(crate) struct Projection {
    attributes: Option<Vec<String>>,
    excluded: Vec<String>,
}

impl Projection {
    /// From `attributes` and `excludedAttributes` (comma-separated lists).
    pub(crate) fn from_params(params: &HashMap<String, String>) -> Projection {
        let list = |name: &str| -> Option<Vec<String>> {
            let value = params.get(name)?;
            Some(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        };
        Projection {
            attributes: list("attributes"),
            excluded: list("excludedAttributes").unwrap_or_default(),
        }
    }

    /// `resource` with only the attributes asked for (`id` and `schemas` always).
    pub(crate) fn apply(&self, mut resource: Resource) -> Resource {
        let always = |key: &str| key == "id" || key == "schemas";
        if let Some(attributes) = &self.attributes {
            resource.retain(|key, value| {
                if always(key) {
                    return true;
                }
                let subs: Vec<&str> = attributes
                    .iter()
                    .filter_map(|a| {
                        let (name, sub) = a.split_once('.').unwrap_or((a, ""));
                        name.eq_ignore_ascii_case(key).then_some(sub)
                    })
                    .collect();
                if subs.is_empty() {
                    return false;
                }
                if !subs.contains(&"") {
                    keep_subs(value, &subs);
                }
                true
            });
        }
        for excluded in &self.excluded {
            match excluded.split_once('.') {
                None => {
                    resource.retain(|key, _| always(key) || !key.eq_ignore_ascii_case(excluded))
                }
                Some((name, sub)) => {
                    if let Some(value) = resource.get_mut(name) {
                        drop_sub(value, sub);
                    }
                }
            }
        }
        resource
    }
}

/// Keeps only `subs` of a complex attribute, or of each of its values.
fn keep_subs(value: &mut Value, subs: &[&str]) {
    match value {
        Value::Object(fields) => {
            fields.retain(|key, _| subs.iter().any(|s| s.eq_ignore_ascii_case(key)));
        }
        Value::Array(items) => items.iter_mut().for_each(|item| keep_subs(item, subs)),
        _ => {}
    }
}

fn drop_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Object(fields) => fields.retain(|key, _| !key.eq_ignore_ascii_case(sub)),
        Value::Array(items) => items.iter_mut().for_each(|item| drop_sub(item, sub)),
        _ => {}
    }
}

/// A list request's query.
#[derive(Debug)]
pub(crate) struct ListQuery {
    filter: Option<Filter>,
    sort_by: Option<String>,
    descending: bool,
    start_index: usize,
    count: usize,
    projection: Projection,
}

impl ListQuery {
    /// Reads the query parameters; a malformed one is a 400 that names it.
    pub(crate) fn from_params(params: &HashMap<String, String>) -> Result<ListQuery, OpError> {
        let number = |name: &str| -> Result<Option<usize>, OpError> {
            params
                .get(name)
                .map(|v| {
                    v.trim().parse().map_err(|_| {
                        OpError::invalid_value(format!("{name} must be a whole number, not {v:?}"))
                    })
                })
                .transpose()
        };
        let filter = params
            .get("filter")
            .map(|f| Filter::parse(f).map_err(|e| OpError::invalid_filter(e.0)))
            .transpose()?;
        let descending = match params.get("sortOrder").map(String::as_str) {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(OpError::invalid_value(format!(
                    "sortOrder must be ascending or descending, not {other:?}"
                )));
            }
        };
        Ok(ListQuery {
            filter,
            sort_by: params.get("sortBy").cloned(),
            descending,
            start_index: number("startIndex")?.unwrap_or(1).max(1),
            count: number("count")?.unwrap_or(DEFAULT_COUNT),
            projection: Projection::from_params(params),
        })
    }

    /// The ListResponse of the resources this query selects from `all`.
    pub(crate) fn page(&self, all: impl Iterator<Item = Resource>) -> Value {
        let mut matching: Vec<Resource> = all
            .map(Value::Object)
            .filter(|value| self.filter.as_ref().is_none_or(|f| f.matches(value)))
            .filter_map(|value| match value {
                Value::Object(resource) => Some(resource),
                _ => None,
            })
            .collect();
        if let Some(sort_by) = &self.sort_by {
            // Resources without the attribute come last, whatever the order.
            let (mut keyed, unkeyed): (Vec<Resource>, Vec<Resource>) = matching
                .into_iter()
                .partition(|r| sort_key(r, sort_by).is_some());
            keyed.sort_by(|a, b| {
                let ordering = compare_sort_keys(sort_key(a, sort_by), sort_key(b, sort_by));
                if self.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
            keyed.extend(unkeyed);
            matching = keyed;
        }
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(self.start_index - 1)
            .take(self.count)
            .map(|r| Value::Object(self.projection.apply(r)))
            .collect();
        self.list_response(total, page)
    }

    /// The ListResponse of the resources this query selects from `stored` (in id order;
    /// `render` shows one as the API does). With neither a filter nor `sortBy` only the page
    /// itself is rendered, so that paging through 100k users costs each request a page's
    /// work, not the whole store's.
    pub(crate) fn page_of<'a>(
        &self,
        stored: impl ExactSizeIterator<Item = &'a Resource>,
        render: impl Fn(&Resource) -> Resource,
    ) -> Value {
        if self.filter.is_some() || self.sort_by.is_some() {
            return self.page(stored.map(render));
        }
        let total = stored.len();
        let page: Vec<Value> = stored
            .skip(self.start_index - 1)
            .take(self.count)
            .map(|r| Value::Object(self.projection.apply(render(r))))
            .collect();
        self.list_response(total, page)
    }

    fn list_response(&self, total: usize, page: Vec<Value>) -> Value {
        json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": total,
            "startIndex": self.start_index,
            "itemsPerPage": page.len(),
            "Resources": page,
        })
    }
}

/// The value a resource sorts by: the attribute (or sub-attribute), the first of a
/// multi-valued one.
fn sort_key<'a>(resource: &'a Resource, path: &str) -> Option<&'a Value> {
    let (name, sub) = match path.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (path, None),
    };
    let value = resource
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)?;
    let value = match value {
        Value::Array(items) => items.first()?,
        value => value,
    };
    match (sub, value) {
        (Some(sub), value) => field(value, sub),
        (None, Value::Object(_)) => field(value, "value"),
        (None, value) => Some(value),
    }
}

/// A total order of sort keys: by type (null, booleans, numbers, text, the rest), then by
/// value (text ignoring case).
fn compare_sort_keys(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(value: Option<&Value>) -> u8 {
        match value {
            None | Some(Value::Null) => 0,
            Some(Value::Bool(_)) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(_) => 4,
        }
    }
    match (a, b) {
        (Some(Value::String(a)), Some(Value::String(b))) => a
            .to_lowercase()
            .cmp(&b.to_lowercase())
            .then_with(|| a.cmp(b)),
        (Some(Value::Number(a)), Some(Value::Number(b))) => {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            a.total_cmp(&b)
        }
        (Some(Value::Bool(a)), Some(Value::Bool(b))) => a.cmp(b),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn users(n: usize) -> Vec<Resource> {
        (0..n)
            .map(|i| {
                let Value::Object(user) = json!({"id": format!("u{i:02}"), "schemas": ["urn:x:User"],
                    "userName": format!("user {}", n - i), "emails": [{"value": format!("{i}@x")}]})
                else {
                    unreachable!()
                };
                user
            })
            .collect()
    }

    #[test]
    fn a_page_is_twenty_unless_asked() {
        let page = ListQuery::from_params(&params(&[]))
            .unwrap()
            .page(users(45).into_iter());
        assert_eq!(page["totalResults"], 45);
        assert_eq!(page["itemsPerPage"], 20);
        assert_eq!(page["startIndex"], 1);
        assert_eq!(page["Resources"].as_array().unwrap().len(), 20);
        let last = ListQuery::from_params(&params(&[("startIndex", "41"), ("count", "10")]))
            .unwrap()
            .page(users(45).into_iter());
        assert_eq!(last["itemsPerPage"], 5);
        assert_eq!(last["Resources"][0]["id"], "u40");
        let counted = ListQuery::from_params(&params(&[("count", "0")]))
            .unwrap()
            .page(users(45).into_iter());
        assert_eq!(
            (
                counted["totalResults"].as_u64(),
                counted["itemsPerPage"].as_u64()
            ),
            (Some(45), Some(0))
        );
    }

    #[test]
    fn rendering_only_the_page_gives_the_same_page() {
        let stored = users(45);
        let rendered = std::cell::Cell::new(0);
        let render = |r: &Resource| {
            rendered.set(rendered.get() + 1);
            r.clone()
        };
        for pairs in [
            vec![],
            vec![
                ("startIndex", "41"),
                ("count", "10"),
                ("attributes", "userName"),
            ],
            vec![("startIndex", "90")],
            vec![
                ("sortBy", "userName"),
                ("sortOrder", "descending"),
                ("count", "7"),
            ],
            vec![("filter", "userName sw \"user1\"")],
        ] {
            let query = ListQuery::from_params(&params(&pairs)).unwrap();
            rendered.set(0);
            let fast = query.page_of(stored.iter(), render);
            assert_eq!(fast, query.page(stored.clone().into_iter()), "{pairs:?}");
            if pairs
                .iter()
                .all(|(name, _)| !matches!(*name, "filter" | "sortBy"))
            {
                assert!(
                    rendered.get() <= 20,
                    "{pairs:?}: {} rendered",
                    rendered.get()
                );
            }
        }
    }

    #[test]
    fn sorting_and_projection() {
        let page = ListQuery::from_params(&params(&[
            ("sortBy", "userName"),
            ("sortOrder", "descending"),
            ("count", "2"),
            ("attributes", "userName,emails.value"),
        ]))
        .unwrap()
        .page(users(3).into_iter());
        assert_eq!(
            page["Resources"],
            json!([
                {"id": "u00", "schemas": ["urn:x:User"], "userName": "user 3", "emails": [{"value": "0@x"}]},
                {"id": "u01", "schemas": ["urn:x:User"], "userName": "user 2", "emails": [{"value": "1@x"}]}
            ])
        );
        let page = ListQuery::from_params(&params(&[("excludedAttributes", "emails,id")]))
            .unwrap()
            .page(users(1).into_iter());
        assert_eq!(
            page["Resources"][0],
            json!({"id": "u00", "schemas": ["urn:x:User"], "userName": "user 1"})
        );
    }

    #[test]
    fn resources_without_the_sort_key_come_last_and_mixed_types_sort() {
        let mut all = users(3);
        all[1].remove("userName");
        all[2].insert("userName".into(), json!(7));
        for order in ["ascending", "descending"] {
            let page =
                ListQuery::from_params(&params(&[("sortBy", "userName"), ("sortOrder", order)]))
                    .unwrap()
                    .page(all.clone().into_iter());
            let ids: Vec<&str> = page["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            let expected = if order == "ascending" {
                ["u02", "u00", "u01"]
            } else {
                ["u00", "u02", "u01"]
            };
            assert_eq!(ids, expected, "{order}");
        }
    }

    #[test]
    fn malformed_parameters_name_themselves() {
        for (name, value, needle) in [
            ("count", "x", "count must be a whole number"),
            ("sortOrder", "up", "sortOrder must be"),
            ("filter", "userName eq", "does not parse"),
        ] {
            let error = ListQuery::from_params(&params(&[(name, value)])).unwrap_err();
            assert!(error.detail.contains(needle), "{name}: {}", error.detail);
            assert_eq!(error.status, 400);
        }
    }
}
