//! [`SearchRequestParameter`]: filter, paging and sorting of a list request.

use serde::{Deserialize, Serialize};

/// The order of sorted results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

impl SortOrder {
    /// `ascending` or `descending`, as written in a query.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

/// The query of a list request: a SCIM filter, paging, sorting, and which attributes to return.
///
/// ```
/// use map_entities::SearchRequestParameter;
///
/// let search = SearchRequestParameter {
///     filter: Some(r#"userName eq "alice""#.into()),
///     count: Some(10),
///     ..Default::default()
/// };
/// assert_eq!(search.to_query_string(), "filter=userName%20eq%20%22alice%22&count=10");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequestParameter {
    /// A SCIM filter, e.g. `userName eq "alice"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The 1-based index of the first result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// At most this many results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The attribute to sort by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// The sort order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SortOrder>,
    /// Only these attributes of each resource (and its `id`), e.g. `userName`, `emails`.
    /// In a query: one comma-separated list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<String>>,
    /// Every attribute of each resource but these. In a query: one comma-separated list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_attributes: Option<Vec<String>>,
}

impl SearchRequestParameter {
    /// The parameters that are set, as `(name, value)` pairs in a fixed order, not yet encoded.
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(filter) = &self.filter {
            pairs.push(("filter", filter.clone()));
        }
        if let Some(start_index) = self.start_index {
            pairs.push(("startIndex", start_index.to_string()));
        }
        if let Some(count) = self.count {
            pairs.push(("count", count.to_string()));
        }
        if let Some(sort_by) = &self.sort_by {
            pairs.push(("sortBy", sort_by.clone()));
        }
        if let Some(sort_order) = self.sort_order {
            pairs.push(("sortOrder", sort_order.as_str().to_owned()));
        }
        if let Some(attributes) = &self.attributes {
            pairs.push(("attributes", attributes.join(",")));
        }
        if let Some(excluded) = &self.excluded_attributes {
            pairs.push(("excludedAttributes", excluded.join(",")));
        }
        pairs
    }

    /// The parameters as a percent-encoded query string (without the leading `?`).
    pub fn to_query_string(&self) -> String {
        let mut query = String::new();
        for (name, value) in self.to_query_pairs() {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(name);
            query.push('=');
            percent_encode(&value, &mut query);
        }
        query
    }
}

/// Encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_in_order_and_encoded() {
        let search = SearchRequestParameter {
            filter: Some("eduPersonPrincipalNames eq \"a+b@example.ac.jp\"".into()),
            start_index: Some(11),
            count: Some(10),
            sort_by: Some("userName".into()),
            sort_order: Some(SortOrder::Descending),
            attributes: Some(vec!["userName".into(), "emails".into()]),
            excluded_attributes: Some(vec!["groups".into()]),
        };
        assert_eq!(
            search.to_query_string(),
            "filter=eduPersonPrincipalNames%20eq%20%22a%2Bb%40example.ac.jp%22\
             &startIndex=11&count=10&sortBy=userName&sortOrder=descending\
             &attributes=userName%2Cemails&excludedAttributes=groups"
        );
        assert_eq!(SearchRequestParameter::default().to_query_string(), "");
    }

    #[test]
    fn non_ascii_is_encoded_as_utf8() {
        let search = SearchRequestParameter {
            filter: Some("displayName eq \"研究室\"".into()),
            ..Default::default()
        };
        assert!(search.to_query_string().contains("%E7%A0%94"));
    }
}
