//! Locating an operation's fields in JSON text that the first pass already parsed and checked.
//!
//! The engine's second pass re-reads each NDJSON line to send it. The line was validated by
//! serde_json in the first pass and is checked against that pass's hash before it is used, so
//! here the fields only have to be found, not validated again: the object's keys and string
//! values are located with `memchr`, and `data` is passed through as the exact text it was.
//! Anything unusual — an escape in a key or in a string value, an unknown key, data that is not
//! an object — returns `None`, and the caller parses the line with serde_json instead.

use map_entities::BulkMethod;

/// The fields of one operation, borrowed from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned<'a> {
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<&'a str>,
    pub(crate) path: Option<&'a str>,
    pub(crate) version: Option<&'a str>,
    pub(crate) data: Option<&'a str>,
}

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
    let mut scanned = Scanned {
        method: BulkMethod::Post,
        bulk_id: None,
        path: None,
        version: None,
        data: None,
    };
    if bytes.get(at) != Some(&b'}') {
        loop {
            let (key, after) = plain_string(text, at)?;
            at = skip_space(bytes, after);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            at = skip_space(bytes, at + 1);
            let is_null = bytes[at..].starts_with(b"null");
            match key {
                "method" => {
                    let (value, after) = plain_string(text, at)?;
                    method = Some(value.parse::<BulkMethod>().ok()?);
                    at = after;
                }
                "bulkId" | "path" | "version" => {
                    let value = if is_null {
                        at += 4;
                        None
                    } else {
                        let (value, after) = plain_string(text, at)?;
                        at = after;
                        Some(value)
                    };
                    match key {
                        "bulkId" => scanned.bulk_id = value,
                        "path" => scanned.path = value,
                        _ => scanned.version = value,
                    }
                }
                "data" => {
                    if is_null {
                        at += 4;
                    } else {
                        let end = last_value_end(text, at).or_else(|| object_end(bytes, at))?;
                        scanned.data = Some(&text[at..end]);
                        at = end;
                    }
                }
                _ => return None,
            }
            at = skip_space(bytes, at);
            match bytes.get(at) {
                Some(b',') => at = skip_space(bytes, at + 1),
                Some(b'}') => break,
                _ => return None,
            }
        }
    }
    if skip_space(bytes, at + 1) != bytes.len() {
        return None;
    }
    scanned.method = method?;
    Some(scanned)
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A string without escapes starting at `at` (its opening quote): its contents and the index
/// after its closing quote.
fn plain_string(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    // Keys and these values are short: a plain loop beats memchr's setup.
    let length = bytes[at + 1..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')?;
    let end = at + 1 + length;
    if bytes[end] != b'"' {
        return None;
    }
    Some((text.get(at + 1..end)?, end + 1))
}

/// When `data` is the operation's last field (as it usually is), the index just after it,
/// found from the end of the text without reading the data. The other fields' values are
/// strings or `null` (the first pass refused anything else), so what lies between `at` and
/// the operation's closing brace ends in `}` only if it is the data object alone.
fn last_value_end(text: &str, at: usize) -> Option<usize> {
    let close = text.trim_end().len().checked_sub(1)?;
    let value = text.get(at..close)?.trim_end();
    (value.starts_with('{') && value.ends_with('}')).then_some(at + value.len())
}

/// The index just after the object starting at `at`.
fn object_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = at;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string: to the next quote that is not escaped.
                i += 1;
                loop {
                    let found = memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
                    i += found;
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else {
                        break;
                    }
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::JobOperation;

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
    use crate::source::JobOperation;
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
