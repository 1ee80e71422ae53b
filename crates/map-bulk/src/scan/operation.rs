//! A job line's own fields: [`scan_operation`] finds them (the second pass reads nothing
//! more), [`borrow_operation`] also checks the data (the first pass).

use std::borrow::Cow;

use map_entities::BulkMethod;

use super::{
    KnownKey, Next, is_json_object, member_key, next_member, object_end, only_space_after,
    plain_string, skip_space,
};
use crate::job::source::OperationRef;

/// The fields of one operation, borrowed from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned<'a> {
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<&'a str>,
    pub(crate) path: Option<&'a str>,
    pub(crate) version: Option<&'a str>,
    pub(crate) data: Option<&'a str>,
}

/// An operation's keys, in the order of its slots. The last three are a result's fields,
/// which mAP Core's own client writes as `null` in every operation it sends; a job may only
/// leave them `null` (anything else is worded by serde_json's slower parse).
const OPERATION_KEYS: [KnownKey; 8] = [
    KnownKey::new(b"\"method\":"),
    KnownKey::new(b"\"bulkId\":"),
    KnownKey::new(b"\"path\":"),
    KnownKey::new(b"\"version\":"),
    KnownKey::new(b"\"data\":"),
    KnownKey::new(b"\"location\":"),
    KnownKey::new(b"\"response\":"),
    KnownKey::new(b"\"status\":"),
];

/// Finds the fields of the operation object in `text`, which must be JSON that serde_json
/// accepted as an operation; `None` when a slower, exact parse is needed.
pub(crate) fn scan_operation(text: &str) -> Option<Scanned<'_>> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    let mut method = None;
    let mut seen = [false; OPERATION_KEYS.len()];
    let mut scanned = Scanned {
        method: BulkMethod::Post,
        bulk_id: None,
        path: None,
        version: None,
        data: None,
    };
    if bytes.get(at) != Some(&b'}') {
        loop {
            let (slot, after) = member_key(text, at, &OPERATION_KEYS)?;
            at = after;
            let is_null = bytes.get(at..)?.starts_with(b"null");
            if std::mem::replace(&mut seen[slot], true) {
                return None;
            }
            match slot {
                0 => {
                    let (value, after) = plain_string(text, at)?;
                    method = Some(value.parse::<BulkMethod>().ok()?);
                    at = after;
                }
                1..=3 => {
                    let value = if is_null {
                        at += 4;
                        None
                    } else {
                        let (value, after) = plain_string(text, at)?;
                        at = after;
                        Some(value)
                    };
                    match slot {
                        1 => scanned.bulk_id = value,
                        2 => scanned.path = value,
                        _ => scanned.version = value,
                    }
                }
                5.. if is_null => at += 4,
                5.. => return None,
                _ => {
                    if is_null {
                        at += 4;
                    } else {
                        let end = last_value_end(text, at).or_else(|| object_end(bytes, at))?;
                        scanned.data = Some(&text[at..end]);
                        at = end;
                    }
                }
            }
            match next_member(bytes, at, b'}')? {
                Next::Member(next) => at = next,
                Next::Closed(end) => {
                    at = end;
                    break;
                }
            }
        }
    } else {
        at += 1;
    }
    if !only_space_after(bytes, at) {
        return None;
    }
    scanned.method = method?;
    Some(scanned)
}

/// The first pass's reading of one NDJSON line: the operation borrowed from `text`, when
/// [`scan_operation`] finds its fields and serde_json accepts its data; `None` when the line
/// must be parsed whole (which also words the error of an invalid one).
pub(crate) fn borrow_operation(text: &str) -> Option<OperationRef<'_>> {
    let found = scan_operation(text)?;
    if let Some(data) = found.data
        && !is_json_object(data)
    {
        return None;
    }
    let data = found.data;
    Some(OperationRef {
        method: found.method,
        bulk_id: found.bulk_id.map(Cow::Borrowed),
        path: found.path.map(Cow::Borrowed),
        version: found.version.map(Cow::Borrowed),
        data,
        text: Some(text),
    })
}

/// When `data` is the operation's last field (as it usually is), the index just after it,
/// found from the end of the text without reading the data. The other fields' values are
/// strings or `null` (the first pass refused anything else), so what lies between `at` and
/// the operation's closing brace ends in `}` only if it is the data object alone — or, in a
/// text the first pass refuses, data followed by a `response` object: the span found then is
/// no JSON object, so `borrow_operation` defers to serde_json, which refuses the response.
fn last_value_end(text: &str, at: usize) -> Option<usize> {
    let close = text.trim_end().len().checked_sub(1)?;
    let value = text.get(at..close)?.trim_end();
    (value.starts_with('{') && value.ends_with('}')).then_some(at + value.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::source::JobOperation;

    fn agrees(text: &str) {
        let parsed: JobOperation = serde_json::from_str(text).unwrap();
        if let Some(scanned) = scan_operation(text) {
            assert_eq!(scanned.method, parsed.method, "{text}");
            assert_eq!(scanned.bulk_id, parsed.bulk_id.as_deref(), "{text}");
            assert_eq!(scanned.path, parsed.path.as_deref(), "{text}");
            assert_eq!(scanned.version, parsed.version.as_deref(), "{text}");
            assert_eq!(
                scanned.data,
                parsed.data.as_deref().map(|d| d.get()),
                "{text}"
            );
        }
    }

    #[test]
    fn finds_what_serde_json_finds() {
        let text = r#"{"method":"POST","bulkId":"u1","path":"/Users","data":{"userName":"a\"}{b","x":[{"y":"\\"}],"z":{}}}"#;
        let scanned = scan_operation(text).unwrap();
        assert_eq!(
            scanned.data,
            Some(r#"{"userName":"a\"}{b","x":[{"y":"\\"}],"z":{}}"#)
        );
        agrees(text);
        agrees(
            " { \"data\" : {\"a\":1} , \"path\":\"/Users/1\",\"method\":\"PUT\",\"version\":\"W/1\" }\n",
        );
        agrees(r#"{"method":"DELETE","path":"/Users/1","bulkId":null,"data":null}"#);
        agrees("{\"method\":\"DELETE\",\"path\":\"/Users/1\"}\r\n");
        // mAP Core's own client writes a result's fields as null in every operation.
        let public_client = r#"{"method":"POST","bulkId":null,"path":"/Users","data":{"userName":"a","id":null},"location":null,"response":null,"status":null}"#;
        assert!(scan_operation(public_client).is_some());
        agrees(public_client);
    }

    #[test]
    fn a_result_field_that_is_set_goes_to_serde_json_which_refuses_it() {
        for text in [
            r#"{"method":"DELETE","path":"/Users/1","status":"204"}"#,
            r#"{"method":"DELETE","path":"/Users/1","location":"https://h/api/v2/Users/1"}"#,
            r#"{"method":"DELETE","path":"/Users/1","response":{}}"#,
        ] {
            assert_eq!(scan_operation(text), None, "{text}");
            let error = serde_json::from_str::<JobOperation>(text).unwrap_err();
            assert!(
                error.to_string().contains("a job leaves them out or null"),
                "{error}"
            );
        }
    }

    #[test]
    fn leaves_the_unusual_to_serde_json() {
        // Escapes in keys or values, and data that is not an object.
        for text in [
            r#"{"\u006dethod":"POST","bulkId":"u1","path":"/Users","data":{}}"#,
            r#"{"method":"POST","bulkId":"u\"1","path":"/Users","data":{}}"#,
            r#"{"method":"POST","bulkId":"u1","path":"/Users","data":[1]}"#,
        ] {
            assert_eq!(scan_operation(text), None, "{text}");
        }
        assert_eq!(scan_operation(r#"{"method":"PUTCH","path":"/x"}"#), None);
        assert_eq!(scan_operation(r#"{"method":"POST"} x"#), None);
        assert_eq!(scan_operation(r#"{"method":"POST","data":{"a":"#), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::job::source::JobOperation;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-z0-9/\"\\\\{}\\[\\]:, \u{e9}\u{3042}\\n]{0,12}").unwrap()
    }

    fn data() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            text().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            Just(Value::Null),
        ];
        let value = leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        proptest::collection::btree_map(text(), value, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        /// Whatever serde_json reads from an operation, the scanner finds the same or defers.
        #[test]
        fn the_scanner_agrees_with_serde_json(
            method in prop_oneof![Just("POST"), Just("PUT"), Just("PATCH"), Just("DELETE")],
            bulk_id in proptest::option::of(text()),
            path in proptest::option::of(text()),
            version in proptest::option::of(text()),
            data in proptest::option::of(data()),
            order in Just(vec![0usize, 1, 2, 3, 4]).prop_shuffle(),
            spaced in any::<bool>(),
        ) {
            // Fields in any order (data last or not), compact or spaced out.
            let fields: Vec<(&str, Option<Value>)> = vec![
                ("method", Some(json!(method))),
                ("bulkId", bulk_id.map(Value::from)),
                ("path", path.map(Value::from)),
                ("version", version.map(Value::from)),
                ("data", data),
            ];
            let (space, encode): (&str, fn(&Value) -> String) = if spaced {
                (" \n ", |v| serde_json::to_string_pretty(v).unwrap())
            } else {
                ("", |v| serde_json::to_string(v).unwrap())
            };
            let members: Vec<String> = order
                .iter()
                .filter_map(|&i| {
                    let (key, value) = &fields[i];
                    Some(format!("{space}\"{key}\"{space}:{space}{}", encode(value.as_ref()?)))
                })
                .collect();
            let text = format!("{{{}{space}}}{space}", members.join(","));
            let parsed: JobOperation = serde_json::from_str(&text).unwrap();
            // Without escapes in the fields the scanner reads, it must not defer.
            let plain = [&parsed.bulk_id, &parsed.path, &parsed.version]
                .iter()
                .all(|v| v.as_deref().is_none_or(|t| !t.contains(['"', '\\', '\n'])));
            prop_assert!(!plain || scan_operation(&text).is_some(), "{}", text);
            if let Some(scanned) = scan_operation(&text) {
                prop_assert_eq!(scanned.method, parsed.method);
                prop_assert_eq!(scanned.bulk_id, parsed.bulk_id.as_deref());
                prop_assert_eq!(scanned.path, parsed.path.as_deref());
                prop_assert_eq!(scanned.version, parsed.version.as_deref());
                prop_assert_eq!(scanned.data, parsed.data.as_deref().map(|d| d.get()));
            }
        }
    }
}

#[cfg(test)]
mod first_pass_properties {
    use super::*;
    use crate::job::source::JobOperation;
    use proptest::prelude::*;

    /// Operation-like texts: valid ones with fields in any order, and near misses.
    fn operation_text() -> impl Strategy<Value = String> {
        let any_value = || {
            proptest::sample::select(vec![
                r#""POST""#,
                r#""DELETE""#,
                r#""/Users""#,
                r#""u1""#,
                "null",
                r#"{"userName":"a","emails":[{"value":"x"}],"n":[1,2.5e3,true,null]}"#,
                r#"{"s":"\"}\\"}"#,
                "{}",
                "[1]",
                "7",
            ])
        };
        // Mostly a value that fits the key, so that many texts are valid operations.
        // A result's fields are rarer, so that many texts are still valid operations.
        let key = prop_oneof![
            6 => proptest::sample::select(vec!["method", "bulkId", "path", "version", "data", "extra"]),
            1 => proptest::sample::select(vec!["location", "response", "status"]),
        ];
        let field = key.prop_flat_map(move |key| {
            let fitting = match key {
                "method" => {
                    proptest::sample::select(vec![r#""POST""#, r#""PATCH""#, r#""DELETE""#])
                }
                "data" => proptest::sample::select(vec![
                    r#"{"a":[1,{"b":"c"}]}"#,
                    "{}",
                    r#"{"s":"\"}\\"}"#,
                    "null",
                ]),
                // A result's fields: null as mAP Core's client writes them, or set.
                "location" | "response" | "status" => {
                    proptest::sample::select(vec!["null", "null", r#"{"b":2}"#, r#""201""#])
                }
                _ => proptest::sample::select(vec![r#""u1""#, r#""/Users""#, r#""é""#, "null"]),
            };
            (Just(key), prop_oneof![4 => fitting, 1 => any_value()])
        });
        proptest::collection::vec(field, 1..6).prop_map(|fields| {
            let members: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("\"{key}\":{value}"))
                .collect();
            format!("{{{}}}", members.join(","))
        })
    }

    fn mutation() -> impl Strategy<Value = (prop::sample::Index, Option<char>)> {
        let inserted = prop_oneof![
            Just(None),
            proptest::sample::select(vec![
                '{', '}', '[', ']', '"', ',', ':', '\\', ' ', '\t', '\n', 'n', 'u', '0', 'x',
                '\u{1}', 'é',
            ])
            .prop_map(Some),
        ];
        (any::<prop::sample::Index>(), inserted)
    }

    #[test]
    fn the_fast_first_pass_is_exercised() {
        // Not vacuous: a good share of the generated texts take the fast path (counted over
        // a fixed sample, so the test is deterministic).
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let texts = operation_text();
        let accepted = (0..2000)
            .filter(|_| {
                let text = texts
                    .new_tree(&mut runner)
                    .map(|t| t.current())
                    .unwrap_or_default();
                borrow_operation(&text).is_some()
            })
            .count();
        assert!(accepted > 100, "{accepted} of 2000 took the fast path");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the first pass's fast reading accepts, serde_json accepts and reads alike;
        /// everything else goes to serde_json, which words the error.
        #[test]
        fn the_fast_first_pass_accepts_only_what_serde_json_accepts(
            text in operation_text(),
            mutations in proptest::collection::vec(mutation(), 0..3),
        ) {
            let mut text = text;
            super::super::mutate(&mut text, mutations);
            if let Some(op) = borrow_operation(&text) {
                let parsed: Result<JobOperation, _> = serde_json::from_str(&text);
                prop_assert!(parsed.is_ok(), "accepted {:?} but serde_json says {:?}", text, parsed.err());
                let parsed = parsed.unwrap_or_else(|_| unreachable!());
                prop_assert_eq!(op.method, parsed.method);
                prop_assert_eq!(op.bulk_id.as_deref(), parsed.bulk_id.as_deref());
                prop_assert_eq!(op.path.as_deref(), parsed.path.as_deref());
                prop_assert_eq!(op.version.as_deref(), parsed.version.as_deref());
                prop_assert_eq!(op.data, parsed.data.as_deref().map(serde_json::value::RawValue::get));
            }
        }
    }
}
