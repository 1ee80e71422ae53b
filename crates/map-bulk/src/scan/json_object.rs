//! [`is_json_object`]: whether a text is exactly one JSON object (RFC 8259), checked without
//! building or visiting anything — the first pass's check of each operation's `data`.
//!
//! Strings are crossed 16 bytes at a time ([`find_quote_or_special`]). Anything this check
//! refuses goes to serde_json (which then words the error, or accepts what this check was too
//! strict for: containers nested more than 64 deep, which the first pass then refuses
//! anyway); a differential property test holds it to serde_json's verdict.

use super::{find_quote_or_special, skip_space};

/// Containers nested deeper than this are left to serde_json.
const MAX_DEPTH: u32 = 64;

/// Whether `text` is one JSON object, with nothing but whitespace around it.
pub(crate) fn is_json_object(text: &str) -> bool {
    let bytes = text.as_bytes();
    let at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return false;
    }
    object_rest(bytes, at + 1, 1).is_some_and(|end| skip_space(bytes, end) == bytes.len())
}

// A recursive descent: each place in the grammar is its own code, so each of its branches
// is predicted on its own (about 15% faster than one loop driven by a state variable).
// Recursion is at most `MAX_DEPTH` deep.

/// Spaces from `at`, the common case (none) first.
#[inline]
fn space(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b' ' | b'\t' | b'\n' | b'\r') => skip_space(bytes, at + 1),
        _ => at,
    }
}

/// After an object's `{` (the object at `depth`): the index after its `}`.
fn object_rest(bytes: &[u8], at: usize, depth: u32) -> Option<usize> {
    let mut at = space(bytes, at);
    if *bytes.get(at)? == b'}' {
        return Some(at + 1);
    }
    loop {
        at = space(bytes, string_end(bytes, at)?);
        if *bytes.get(at)? != b':' {
            return None;
        }
        at = space(bytes, value_end(bytes, space(bytes, at + 1), depth)?);
        match *bytes.get(at)? {
            b',' => at = space(bytes, at + 1),
            b'}' => return Some(at + 1),
            _ => return None,
        }
    }
}

/// After an array's `[` (the array at `depth`): the index after its `]`.
fn array_rest(bytes: &[u8], at: usize, depth: u32) -> Option<usize> {
    let mut at = space(bytes, at);
    if *bytes.get(at)? == b']' {
        return Some(at + 1);
    }
    loop {
        at = space(bytes, value_end(bytes, at, depth)?);
        match *bytes.get(at)? {
            b',' => at = space(bytes, at + 1),
            b']' => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The index after the value starting at `at`, inside a container at `depth`.
#[inline]
fn value_end(bytes: &[u8], at: usize, depth: u32) -> Option<usize> {
    let literal = |word: &[u8]| bytes[at..].starts_with(word).then_some(at + word.len());
    match *bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' if depth < MAX_DEPTH => object_rest(bytes, at + 1, depth + 1),
        b'[' if depth < MAX_DEPTH => array_rest(bytes, at + 1, depth + 1),
        b't' => literal(b"true"),
        b'f' => literal(b"false"),
        b'n' => literal(b"null"),
        b'-' | b'0'..=b'9' => number_end(bytes, at),
        _ => None,
    }
}

/// The index after the string starting at `at` (its opening quote), if it is a valid one.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut at = at + 1;
    loop {
        at = find_quote_or_special(bytes, at)?;
        match bytes[at] {
            b'"' => return Some(at + 1),
            b'\\' => match bytes.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                b'u' => {
                    let hex = bytes.get(at + 2..at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    at += 6;
                }
                _ => return None,
            },
            // A raw control character.
            _ => return None,
        }
    }
}

/// The index after the number starting at `at`, if it is a valid one.
fn number_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    let digits = |at: usize| {
        bytes[at.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at += digits(at),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        let fraction = digits(at + 1);
        if fraction == 0 {
            return None;
        }
        at += 1 + fraction;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return None;
        }
        at += exponent;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    fn serde_says(text: &str) -> bool {
        serde_json::from_str::<&RawValue>(text)
            .is_ok_and(|raw| raw.get().trim_start().starts_with('{'))
    }

    #[test]
    fn containers_nested_64_deep_are_checked_and_deeper_ones_left_to_serde_json() {
        let nested = |levels: usize| {
            format!(
                r#"{{"a":{}1{}}}"#,
                "[".repeat(levels - 1),
                "]".repeat(levels - 1)
            )
        };
        assert!(is_json_object(&nested(64)));
        assert!(!is_json_object(&nested(65)));
        assert!(serde_says(&nested(65)));
    }

    #[test]
    fn agrees_with_serde_json_on_examples() {
        for text in [
            "{}",
            " { } ",
            r#"{"a":1}"#,
            r#"{"a":[1,-0.5e+10,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]}"#,
            r#"{"a":{"b":{"c":[[],{}]}}}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e}"#,
            r#"{"a":.5}"#,
            r#"{"a":tru}"#,
            r#"{"a":nul}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":1,}"#,
            r#"{,}"#,
            r#"{"a"}"#,
            r#"{"a":1 "b":2}"#,
            r#"[1]"#,
            r#"{"a":1}x"#,
            r#"{"a":[1,]}"#,
            r#"{"a":[,1]}"#,
            r#"{"a":"é日本"}"#,
            "{\"a\":1}\n",
            r#"{"a":+1}"#,
            r#"{"a":1E5,"b":-0}"#,
            r#"{1:2}"#,
            r#"{"a":[}"#,
            r#"{"a":{]}"#,
            r#"{"\ud800":1}"#,
            "",
            r#"{"a":[1}}"#,
            r#"{"a":{"b":1]}"#,
            r#"{"a":[1]]"#,
        ] {
            assert_eq!(is_json_object(text), serde_says(text), "{text}");
        }
    }

    fn json_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                "\"a\"",
                "\"\\u00e9\"",
                "\"\\n\"",
                "1",
                "-2.5e3",
                "0",
                "true",
                "null",
                " ",
                "\"k\":",
                "{\"a\":",
                "\\",
                "\"",
                "e",
                ".",
            ]),
            1..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Fragments glued at random: the verdict is serde_json's, whenever this check says yes.
        #[test]
        fn accepts_only_what_serde_json_accepts(text in json_like()) {
            if is_json_object(&text) {
                prop_assert!(serde_says(&text), "accepted {:?}", text);
            }
        }

        /// Valid objects with one character replaced, inserted or removed.
        #[test]
        fn near_misses_are_judged_as_serde_json_judges_them(
            at in any::<prop::sample::Index>(),
            edit in proptest::option::of(proptest::sample::select(vec![
                '{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '-', '.', 'e', 'u', 'n', '\u{1}',
            ])),
            replace in any::<bool>(),
        ) {
            let mut text = r#"{"a":[1,-2.5e3,{"b":null,"c":"x\"y\u00e9"}],"d":{"e":[true,false,[]]},"f":0}"#.to_owned();
            let at = at.index(text.len());
            match edit {
                Some(c) => {
                    if replace {
                        text.remove(at);
                    }
                    text.insert(at, c);
                }
                None => {
                    text.remove(at);
                }
            }
            prop_assert_eq!(is_json_object(&text), serde_says(&text), "{}", text);
        }

        /// Real JSON objects are accepted (unless too deep).
        #[test]
        fn accepts_what_serde_json_writes(value in proptest::collection::btree_map(
            "[a-z\"\\\\\u{e9}\n]{0,6}",
            prop_oneof![
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
                "[ -~\u{e9}\u{1}\n]{0,8}".prop_map(serde_json::Value::from),
                Just(serde_json::json!([1, {"x": [null, true]}])),
            ],
            0..5,
        ), pretty in any::<bool>()) {
            let value = serde_json::Value::Object(value.into_iter().collect());
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            prop_assert!(is_json_object(&text), "refused {:?}", text);
        }
    }
}
