//! Locating an operation's fields in its JSON text without serde's struct machinery.
//!
//! [`scan_operation`] checks the operation object's own structure strictly — keys, their
//! string or `null` values, commas, braces — and leaves `data` to the caller. Anything unusual
//! (an escape or control character in a key or a string value, an unknown or repeated key,
//! data that is not an object) returns `None`, and the caller parses the text with serde_json
//! instead, which also words any error. Two uses:
//!
//! - the first pass ([`borrow_operation`]) scans each NDJSON line, then has serde_json
//!   validate the data object alone;
//! - the second pass re-reads each line, already validated and checked against the first
//!   pass's hash, and passes `data` through as the exact text it was.

use std::borrow::Cow;

use map_entities::BulkMethod;
use serde_json::value::RawValue;

use crate::correlate::{LeanResponse, LeanResult, Status, Text};
use crate::json_check::is_json_object;
use crate::source::OperationRef;

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
    let mut seen = [false; 5];
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
            let slot = match key {
                "method" => 0,
                "bulkId" => 1,
                "path" => 2,
                "version" => 3,
                "data" => 4,
                _ => return None,
            };
            if std::mem::replace(&mut seen[slot], true) {
                return None;
            }
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

/// The first pass's reading of one NDJSON line: the operation borrowed from `text`, when
/// [`scan_operation`] finds its fields and serde_json accepts its data; `None` when the line
/// must be parsed whole (which also words the error of an invalid one).
pub(crate) fn borrow_operation(text: &str) -> Option<OperationRef<'_>> {
    let found = scan_operation(text)?;
    if let Some(data) = found.data {
        if !is_json_object(data) {
            return None;
        }
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

/// A BulkResponse document in its usual shape — `schemas` (strings) and `Operations`, each
/// result with `method`, `bulkId`, `location`, `status` (a string) and `response` (an object,
/// checked by serde_json) — read strictly; `None` for anything else, which the caller reads
/// with serde_json (the server's answer is not trusted to be well-formed).
pub(crate) fn scan_response(text: &str) -> Option<LeanResponse<'_>> {
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
            "Operations" if operations.is_none() => {
                let (results, after) = results(text, at)?;
                operations = Some(results);
                at = after;
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
    if skip_space(bytes, at + 1) != bytes.len() {
        return None;
    }
    Some(LeanResponse {
        operations: operations?,
    })
}

/// The index after `:` and the spaces around it.
fn after_colon(bytes: &[u8], at: usize) -> Option<usize> {
    let at = skip_space(bytes, at);
    (bytes.get(at) == Some(&b':')).then(|| skip_space(bytes, at + 1))
}

/// A string without escapes, or `null`.
fn string_or_null(text: &str, at: usize) -> Option<(Option<&str>, usize)> {
    if text.as_bytes()[at..].starts_with(b"null") {
        return Some((None, at + 4));
    }
    let (value, after) = plain_string(text, at)?;
    Some((Some(value), after))
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
        at = skip_space(bytes, after);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b']') => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The results array and the index after it.
fn results(text: &str, at: usize) -> Option<(Vec<LeanResult<'_>>, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    let mut found = Vec::new();
    let mut at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&b']') {
        return Some((found, at + 1));
    }
    loop {
        let (one, after) = result(text, at)?;
        found.push(one);
        at = skip_space(bytes, after);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b']') => return Some((found, at + 1)),
            _ => return None,
        }
    }
}

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
    let mut seen = [false; 5];
    let mut at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return Some((one, at + 1));
    }
    loop {
        let (key, after) = plain_string(text, at)?;
        at = after_colon(bytes, after)?;
        let slot = match key {
            "method" => 0,
            "bulkId" => 1,
            "location" => 2,
            "status" => 3,
            "response" => 4,
            _ => return None,
        };
        if std::mem::replace(&mut seen[slot], true) {
            return None;
        }
        if slot == 4 {
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
                _ => {
                    one.status = match value {
                        Some(status) => Some(Status(status.trim().parse().ok()?)),
                        None => None,
                    }
                }
            }
        }
        at = skip_space(bytes, at);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b'}') => return Some((one, at + 1)),
            _ => return None,
        }
    }
}

#[inline]
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A string without escapes starting at `at` (its opening quote): its contents and the index
/// after its closing quote.
#[inline]
fn plain_string(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    // Escapes and control characters (which JSON forbids raw) are left to serde_json.
    let end = find_quote_or_special(bytes, at + 1)?;
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

/// The index of the first `"`, `\` or control character at or after `from`, eight bytes at a
/// time (the bit trick serde_json's own string scan uses: the lowest flagged byte is exact).
#[inline]
pub(crate) fn find_quote_or_special(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let flagged = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let flagged = flagged & HIGHS;
        if flagged != 0 {
            return Some(at + flagged.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    bytes[at.min(bytes.len())..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|found| at + found)
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
    fn the_first_quote_backslash_or_control_character_is_found() {
        let cases: &[&[u8]] = &[
            b"abc\"",
            b"abcdefgh\"",
            b"abcdefghijklmnop\\x",
            b"\x01",
            b"ab\x1f\"",
            "日本語のテキスト\"".as_bytes(),
            b"abcdefgh",
            b"",
            b"\x7f\x80\xff\"",
        ];
        for bytes in cases {
            for from in 0..bytes.len() {
                let expected = bytes[from..]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                    .map(|i| from + i);
                assert_eq!(
                    find_quote_or_special(bytes, from),
                    expected,
                    "{bytes:?} from {from}"
                );
            }
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
        /// The eight-bytes-at-a-time search finds what a byte-by-byte one finds.
        #[test]
        fn the_word_search_agrees_with_a_byte_search(
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
            from in 0usize..40,
        ) {
            let from = from.min(bytes.len());
            let expected = bytes[from..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map(|i| from + i);
            prop_assert_eq!(find_quote_or_special(&bytes, from), expected);
        }

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
    use crate::source::JobOperation;
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
        let field =
            proptest::sample::select(vec!["method", "bulkId", "path", "version", "data", "extra"])
                .prop_flat_map(move |key| {
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
                        _ => proptest::sample::select(vec![
                            r#""u1""#,
                            r#""/Users""#,
                            r#""é""#,
                            "null",
                        ]),
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

    static ACCEPTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    #[test]
    fn the_fast_first_pass_is_exercised() {
        the_fast_first_pass_accepts_only_what_serde_json_accepts();
        // Not vacuous: a good share of the generated texts take the fast path.
        assert!(ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) > 100);
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
            for (at, inserted) in mutations {
                let boundaries: Vec<usize> = text
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([text.len()])
                    .collect();
                let at = boundaries[at.index(boundaries.len())];
                match inserted {
                    Some(c) => text.insert(at, c),
                    None if at < text.len() => {
                        text.remove(at);
                    }
                    None => {}
                }
            }
            if let Some(op) = borrow_operation(&text) {
                ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let parsed: Result<JobOperation, _> = serde_json::from_str(&text);
                prop_assert!(parsed.is_ok(), "accepted {:?} but serde_json says {:?}", text, parsed.err());
                let parsed = parsed.unwrap_or_else(|_| unreachable!());
                prop_assert_eq!(op.method, parsed.method);
                prop_assert_eq!(op.bulk_id.as_deref(), parsed.bulk_id.as_deref());
                prop_assert_eq!(op.path.as_deref(), parsed.path.as_deref());
                prop_assert_eq!(op.version.as_deref(), parsed.version.as_deref());
                prop_assert_eq!(op.data, parsed.data.as_deref().map(RawValue::get));
            }
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
            "method", "bulkId", "location", "status", "response", "other",
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
                "response" => proptest::sample::select(vec![
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
            for (at, inserted) in mutations {
                let boundaries: Vec<usize> =
                    text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
                let at = boundaries[at.index(boundaries.len())];
                match inserted {
                    Some(c) => text.insert(at, c),
                    None if at < text.len() => {
                        text.remove(at);
                    }
                    None => {}
                }
            }
            if let Some(fast) = scan_response(&text) {
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
