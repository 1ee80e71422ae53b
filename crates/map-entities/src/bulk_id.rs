//! `bulkId:X` references between operations of one job, and ids from `location` URLs.
//!
//! A POST names the resource it creates with a `bulkId`; later operations refer to it as
//! `bulkId:X` before its id exists, either as a whole segment of their `path`
//! (`/Groups/bulkId:g1`) or as a whole string value anywhere in their `data`
//! (`{"members": [{"value": "bulkId:u1"}]}`).

use serde_json::Value;

/// What a reference starts with.
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// The `X` of a reference `bulkId:X`, or `None` if `text` is not one (or `X` is empty).
///
/// ```
/// assert_eq!(map_entities::parse_bulk_id_reference("bulkId:u1"), Some("u1"));
/// assert_eq!(map_entities::parse_bulk_id_reference("u1"), None);
/// assert_eq!(map_entities::parse_bulk_id_reference("bulkId:"), None);
/// ```
pub fn parse_bulk_id_reference(text: &str) -> Option<&str> {
    text.strip_prefix(BULK_ID_PREFIX)
        .filter(|id| !id.is_empty())
}

/// The resource id at the end of a `location` URL: its last non-empty path segment, without
/// query or fragment.
///
/// ```
/// use map_entities::id_from_location;
///
/// assert_eq!(id_from_location("https://map.example/api/v2/Users/9f2"), Some("9f2"));
/// assert_eq!(id_from_location("https://map.example/api/v2/Groups/lab-a/?x=1"), Some("lab-a"));
/// assert_eq!(id_from_location(""), None);
/// ```
pub fn id_from_location(location: &str) -> Option<&str> {
    // This runs once per operation of every answer: the query or fragment is looked for
    // eight bytes at a time.
    let end = query_or_fragment(location.as_bytes()).unwrap_or(location.len());
    let path = location[..end].trim_end_matches('/');
    // Ids are short: a plain backward walk finds their slash sooner than `rfind` sets up.
    let slash = path.as_bytes().iter().rposition(|&b| b == b'/');
    let id = &path[slash.map_or(0, |slash| slash + 1)..];
    // `https://host` alone has no resource id.
    (!id.is_empty() && !path.ends_with(':') && !path[..path.len() - id.len()].ends_with("//"))
        .then_some(id)
}

/// Where the first `?` or `#` of `bytes` is, looked for eight bytes at a time.
fn query_or_fragment(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = ONES << 7;
    // Whether any byte of `word` is `byte` (exact for the first such byte's word).
    let holds = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGH_BITS != 0
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if holds(word, b'?') || holds(word, b'#') {
            break;
        }
        offset += 8;
    }
    bytes[offset..]
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .map(|at| offset + at)
}

/// Pushes the `X` of every `bulkId:X` segment of `path`.
pub(crate) fn references_in_str<'a>(path: &'a str, found: &mut Vec<&'a str>) {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    found.extend(path[..end].split('/').filter_map(parse_bulk_id_reference));
}

/// Every `bulkId:X` reference of an operation, as the `X`s: those in `path` (whole
/// segments) first, then those in `data` (whole string values, object attributes in
/// sorted order), repeats included.
///
/// ```
/// use map_entities::bulk_id_references;
/// use serde_json::json;
///
/// let data = json!({"members": [{"value": "bulkId:u1"}, {"value": "u2"}]});
/// assert_eq!(bulk_id_references("/Groups/bulkId:g1", Some(&data)), ["g1", "u1"]);
/// ```
pub fn bulk_id_references<'a>(path: &'a str, data: Option<&'a Value>) -> Vec<&'a str> {
    let mut found = Vec::new();
    references_in_str(path, &mut found);
    if let Some(data) = data {
        references_in_value(data, &mut found);
    }
    found
}

/// Pushes the `X` of every string value `bulkId:X` anywhere in `data`.
pub(crate) fn references_in_value<'a>(data: &'a Value, found: &mut Vec<&'a str>) {
    match data {
        Value::String(text) => found.extend(parse_bulk_id_reference(text)),
        Value::Array(items) => items
            .iter()
            .for_each(|item| references_in_value(item, found)),
        Value::Object(fields) => fields
            .values()
            .for_each(|value| references_in_value(value, found)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        #[test]
        fn query_or_fragment_is_the_first_question_mark_or_hash(
            text in "[a-z/?#\u{80}-\u{10ffff}]{0,40}"
        ) {
            let naive = text.bytes().position(|b| b == b'?' || b == b'#');
            proptest::prop_assert_eq!(query_or_fragment(text.as_bytes()), naive);
        }
    }

    #[test]
    fn query_or_fragment_in_every_position() {
        for length in 0..40 {
            for at in 0..length {
                for mark in [b'?', b'#'] {
                    let mut bytes = vec![b'a'; length];
                    bytes[at] = mark;
                    assert_eq!(query_or_fragment(&bytes), Some(at), "{length} {at}");
                }
            }
            assert_eq!(query_or_fragment(&vec![b'a'; length]), None);
        }
    }

    #[test]
    fn finds_references_in_path_segments_and_nested_values() {
        let data = json!({"members": [{"value": "bulkId:u1"}, {"value": "u-7"}],
                          "administrators": [{"value": "bulkId:u2"}],
                          "description": "mentions bulkId:u3 in passing"});
        let mut found = Vec::new();
        references_in_str("/Groups/bulkId:g1", &mut found);
        references_in_value(&data, &mut found);
        found.sort_unstable();
        assert_eq!(found, ["g1", "u1", "u2"]);
    }

    #[test]
    fn locations_without_an_id() {
        assert_eq!(id_from_location("https://map.example"), None);
        assert_eq!(id_from_location("https://map.example/"), None);
        assert_eq!(id_from_location("/Users/abc"), Some("abc"));
        assert_eq!(id_from_location("abc"), Some("abc"));
    }
}
