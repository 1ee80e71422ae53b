//! A BulkResponse in its usual shape, read strictly.

use serde_json::value::RawValue;

use super::{
    KnownKey, Next, after_colon, is_json_object, member_key, next_member, object_end,
    only_space_after, plain_string, skip_space, string_or_null,
};
use crate::correlate::{LeanResponse, LeanResult, Status, Text};

/// A BulkResponse document in its usual shape — `schemas` (strings) and `Operations`, each
/// result with `method`, `bulkId`, `location`, `status` (a string) and `response` (an object,
/// checked by serde_json) — read strictly; `None` for anything else, which the caller reads
/// with serde_json (the server's answer is not trusted to be well-formed). Room is made for
/// `expected_results` results up front (the number of operations sent).
pub(crate) fn scan_response(text: &str, expected_results: usize) -> Option<LeanResponse<'_>> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    let mut operations = None;
    let mut schemas = false;
    loop {
        let (key, after) = plain_string(text, at)?;
        at = after_colon(bytes, after)?;
        match key {
            "schemas" if !schemas => {
                schemas = true;
                at = string_array_end(text, at)?;
            }
            // Both spellings occur: mAP Core's own client reads `operations` too.
            "Operations" | "operations" if operations.is_none() => {
                let (results, after) = results(text, at, expected_results)?;
                operations = Some(results);
                at = after;
            }
            _ => return None,
        }
        match next_member(bytes, at, b'}')? {
            Next::Member(next) => at = next,
            Next::Closed(end) => {
                if !only_space_after(bytes, end) {
                    return None;
                }
                break;
            }
        }
    }
    Some(LeanResponse {
        operations: operations?,
    })
}

/// The index after an array of strings without escapes.
fn string_array_end(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    let mut at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&b']') {
        return Some(at + 1);
    }
    loop {
        let (_, after) = plain_string(text, at)?;
        match next_member(bytes, after, b']')? {
            Next::Member(next) => at = next,
            Next::Closed(end) => return Some(end),
        }
    }
}

/// The results array and the index after it.
fn results(text: &str, at: usize, expected: usize) -> Option<(Vec<LeanResult<'_>>, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    // At most one result per 16 bytes: a hint from the server cannot make this allocate much.
    let mut found = Vec::with_capacity(expected.min(text.len() / 16));
    let mut at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&b']') {
        return Some((found, at + 1));
    }
    loop {
        let (one, after) = result(text, at)?;
        found.push(one);
        match next_member(bytes, after, b']')? {
            Next::Member(next) => at = next,
            Next::Closed(end) => return Some((found, end)),
        }
    }
}

/// A result's keys, in the order of its slots. mAP Core also echoes each operation's `path`
/// and `data`, which the engine does not need: they are checked and passed over.
const RESULT_KEYS: [KnownKey; 7] = [
    KnownKey::new(b"\"method\":"),
    KnownKey::new(b"\"bulkId\":"),
    KnownKey::new(b"\"location\":"),
    KnownKey::new(b"\"status\":"),
    KnownKey::new(b"\"response\":"),
    KnownKey::new(b"\"path\":"),
    KnownKey::new(b"\"data\":"),
];

/// One result object and the index after it.
fn result(text: &str, at: usize) -> Option<(LeanResult<'_>, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut one = LeanResult {
        method: None,
        bulk_id: None,
        location: None,
        status: None,
        response: None,
    };
    let mut seen = [false; RESULT_KEYS.len()];
    let mut at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return Some((one, at + 1));
    }
    loop {
        let (slot, after) = member_key(text, at, &RESULT_KEYS)?;
        at = after;
        if std::mem::replace(&mut seen[slot], true) {
            return None;
        }
        if slot == 6 {
            if bytes[at..].starts_with(b"null") {
                at += 4;
            } else {
                let end = object_end(bytes, at)?;
                is_json_object(&text[at..end]).then_some(())?;
                at = end;
            }
        } else if slot == 4 {
            if bytes[at..].starts_with(b"null") {
                at += 4;
            } else {
                let end = object_end(bytes, at)?;
                one.response = Some(serde_json::from_str::<&RawValue>(&text[at..end]).ok()?);
                at = end;
            }
        } else {
            let (value, after) = string_or_null(text, at)?;
            at = after;
            match slot {
                0 => one.method = value.map(Text::Borrowed),
                1 => one.bulk_id = value.map(Text::Borrowed),
                2 => one.location = value.map(Text::Borrowed),
                5 => {}
                _ => {
                    one.status = match value {
                        Some(status) => Some(Status(status.trim().parse().ok()?)),
                        None => None,
                    }
                }
            }
        }
        match next_member(bytes, at, b'}')? {
            Next::Member(next) => at = next,
            Next::Closed(end) => return Some((one, end)),
        }
    }
}

#[cfg(test)]
mod response_properties {
    use super::*;
    use proptest::prelude::*;

    static ACCEPTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    /// Results: mostly fitting values for their keys, sometimes not.
    fn result_text() -> impl Strategy<Value = String> {
        let field = proptest::sample::select(vec![
            "method", "bulkId", "location", "status", "response", "path", "data", "other",
        ])
        .prop_flat_map(|key| {
            let fitting = match key {
                "status" => proptest::sample::select(vec![
                    r#""201""#,
                    r#"" 204 ""#,
                    "404",
                    r#""x""#,
                    "null",
                ]),
                "response" | "data" => proptest::sample::select(vec![
                    r#"{"schemas":["urn:x:Error"],"status":"409","detail":"a \"b\" }"}"#,
                    r#"{"id":"9f2"}"#,
                    "null",
                    r#""text""#,
                ]),
                _ => proptest::sample::select(vec![
                    r#""POST""#,
                    r#""u1""#,
                    r#""https://h/api/v2/Users/9f2""#,
                    "null",
                    "1",
                ]),
            };
            (Just(key), fitting)
        });
        proptest::collection::vec(field, 0..5).prop_map(|fields| {
            let members: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", members.join(","))
        })
    }

    fn response_mutation() -> impl Strategy<Value = (prop::sample::Index, Option<char>)> {
        let inserted = proptest::option::of(proptest::sample::select(vec![
            '{', '}', '[', ']', '"', ',', ':', '\\', ' ', 'n', '1', '\u{1}', 'é',
        ]));
        (any::<prop::sample::Index>(), inserted)
    }

    fn document() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(result_text(), 0..4),
            proptest::sample::select(vec![
                r#""schemas":["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],"#,
                "",
                r#""schemas":[],"#,
                r#""totalResults":2,"#,
            ]),
            proptest::sample::select(vec!["Operations", "operations"]),
        )
            .prop_map(|(results, schemas, key)| {
                format!("{{{schemas}\"{key}\":[{}]}}", results.join(","))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// What the fast reading of an answer accepts, serde_json accepts and reads alike.
        #[test]
        fn the_fast_response_reading_accepts_only_what_serde_json_accepts(
            text in document(),
            mutations in proptest::collection::vec(response_mutation(), 0..3),
        ) {
            let mut text = text;
            super::super::mutate(&mut text, mutations);
            if let Some(fast) = scan_response(&text, 0) {
                ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let slow: Result<LeanResponse<'_>, _> = serde_json::from_str(&text);
                prop_assert!(slow.is_ok(), "accepted {:?} but serde_json says {:?}", text, slow.err());
                let slow = slow.unwrap_or_else(|_| unreachable!());
                prop_assert_eq!(fast.operations.len(), slow.operations.len());
                for (a, b) in fast.operations.iter().zip(&slow.operations) {
                    prop_assert_eq!(a.method.as_deref(), b.method.as_deref());
                    prop_assert_eq!(a.bulk_id.as_deref(), b.bulk_id.as_deref());
                    prop_assert_eq!(a.location.as_deref(), b.location.as_deref());
                    prop_assert_eq!(a.status.as_ref().map(|s| s.0), b.status.as_ref().map(|s| s.0));
                    prop_assert_eq!(a.response.map(RawValue::get), b.response.map(RawValue::get));
                }
            }
        }
    }

    #[test]
    fn the_fast_response_reading_is_exercised() {
        the_fast_response_reading_accepts_only_what_serde_json_accepts();
        assert!(ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) > 100);
    }
}
