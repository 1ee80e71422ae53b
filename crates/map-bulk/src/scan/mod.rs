//! Reading JSON this crate knows the shape of, without serde's struct machinery: the hot
//! path of every job. Each reader checks strictly and declines (`None`) whatever it cannot
//! vouch for — escapes or control characters where it expects plain strings, unknown or
//! repeated keys, unexpected value types — and the caller then parses with serde_json, which
//! also words any error. Property tests hold every reader to serde_json's verdict on mutated
//! inputs, and `cargo fuzz run fast_readers` does the same on any bytes.
//!
//! - [`operation`]: a job line's own fields (both passes);
//! - [`json_object`]: whether an operation's `data` is one JSON object (first pass);
//! - [`response`]: a BulkResponse in its usual shape.

mod json_object;
mod operation;
mod response;

pub(crate) use json_object::is_json_object;
pub(crate) use operation::{borrow_operation, scan_operation};
pub(crate) use response::scan_response;

/// `bytes` as UTF-8 text, checked with SIMD (simdutf8) where the CPU has it; an error is
/// worded by std's own check, which says where the text stops being valid.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => std::str::from_utf8(bytes),
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

/// The index of the first `"`, `\` or control character at or after `from`: sixteen bytes at
/// a time with SSE2 on x86_64, eight at a time elsewhere (the bit trick serde_json's own
/// string scan uses: the lowest flagged byte is exact).
#[inline]
pub(crate) fn find_quote_or_special(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = bytes.get(at..at + 16) {
        let flagged = sse2::special_bytes(chunk);
        if flagged != 0 {
            return Some(at + flagged.trailing_zeros() as usize);
        }
        at += 16;
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
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

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };

    /// One bit per byte of `chunk` (16 bytes), set for `"`, `\` and control characters.
    #[inline]
    pub(super) fn special_bytes(chunk: &[u8]) -> u32 {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(chunk);
        let v = m128i::from(bytes);
        let quote = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'"' as i8));
        let backslash = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'\\' as i8));
        // Below 0x20 (unsigned): the smaller of it and 0x1f is itself.
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, set_splat_i8_m128i(0x1f)), v);
        move_mask_i8_m128i(quote | backslash | control) as u32
    }
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

/// A key as nearly every key is written, `"name":` (no escapes, no space before the colon),
/// kept as a masked 16-byte word: a member is recognised by one comparison of words.
pub(super) struct KnownKey {
    /// The key as written, `"name":`.
    text: &'static [u8],
    word: u128,
    mask: u128,
    len: usize,
    first_letter: u8,
}

impl KnownKey {
    /// `text` is the key written `"name":`, at most 16 bytes.
    pub(super) const fn new(text: &'static [u8]) -> Self {
        assert!(
            text.len() >= 4 && text.len() <= 16,
            "a known key is 4 to 16 bytes"
        );
        let (mut word, mut mask) = (0u128, 0u128);
        let mut at = 0;
        while at < text.len() {
            word |= (text[at] as u128) << (8 * at);
            mask |= 0xff << (8 * at);
            at += 1;
        }
        KnownKey {
            text,
            word,
            mask,
            len: text.len(),
            first_letter: text[1],
        }
    }

    /// The key's name, without quotes and colon.
    fn name(&self) -> &[u8] {
        &self.text[1..self.text.len() - 2]
    }
}

/// Which of `keys` the member at `at` has, and the index after its colon and the spaces
/// around it: by one comparison when it is written as a known key is, else by reading the
/// key as a plain string. `None` for a key that is not one of them (or has escapes), or no
/// colon after it.
#[inline]
fn member_key(text: &str, at: usize, keys: &[KnownKey]) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    if let Some(found) = known_key(bytes, at, keys) {
        return Some(found);
    }
    let (key, after) = plain_string(text, at)?;
    let slot = keys
        .iter()
        .position(|known| known.name() == key.as_bytes())?;
    Some((slot, after_colon(bytes, after)?))
}

/// Which of `keys` (no two starting with the same letter) the member at `at` starts with,
/// and the index after its colon and the spaces that follow; `None` when it is none of them
/// written so, or too near the end of the text to compare a whole word (the caller then
/// reads the key in full, which also refuses it if it is unknown).
#[inline]
fn known_key(bytes: &[u8], at: usize, keys: &[KnownKey]) -> Option<(usize, usize)> {
    let mut window = [0u8; 16];
    window.copy_from_slice(bytes.get(at..at + 16)?);
    let word = u128::from_le_bytes(window);
    // The key's first letter picks the one candidate.
    let slot = keys.iter().position(|key| key.first_letter == window[1])?;
    let key = &keys[slot];
    (word & key.mask == key.word).then(|| (slot, skip_space(bytes, at + key.len)))
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

/// Where a scan goes after a member of an object or an element of an array.
pub(super) enum Next {
    /// A comma: the next member starts here.
    Member(usize),
    /// The container closed; it ends here.
    Closed(usize),
}

/// After a member (at `at`, spaces allowed): a comma, or `close`; `None` for anything else.
#[inline]
pub(super) fn next_member(bytes: &[u8], at: usize, close: u8) -> Option<Next> {
    let at = skip_space(bytes, at);
    match *bytes.get(at)? {
        b',' => Some(Next::Member(skip_space(bytes, at + 1))),
        byte if byte == close => Some(Next::Closed(at + 1)),
        _ => None,
    }
}

/// Whether only spaces follow `at`.
pub(super) fn only_space_after(bytes: &[u8], at: usize) -> bool {
    skip_space(bytes, at) == bytes.len()
}

/// Applies `mutations` to `text` (property tests): insert the character at the chosen
/// character boundary, or remove the character there.
#[cfg(test)]
pub(super) fn mutate(text: &mut String, mutations: Vec<(proptest::sample::Index, Option<char>)>) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    }
}
