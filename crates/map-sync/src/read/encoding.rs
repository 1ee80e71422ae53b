//! [`Encoding`]: how a desired file's bytes become text. Windows tools write tables in more
//! than UTF-8: Excel's "CSV" on Japanese Windows is CP932 (Shift_JIS as Windows writes it),
//! its "Unicode text" UTF-16 with a BOM. [`decode`] never guesses silently: a BOM decides,
//! else valid UTF-8 is UTF-8, else CP932 when the whole file decodes without a replacement
//! (said in a notice), else an error naming the first line that is not text.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use encoding_rs::{SHIFT_JIS, UTF_16BE, UTF_16LE};

use super::ReadError;

/// The text encoding of a desired file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// A BOM decides; else UTF-8 if the bytes are valid UTF-8; else CP932 if they decode
    /// as CP932 without a replacement character; else an error.
    #[default]
    Auto,
    /// UTF-8 (a BOM is skipped).
    Utf8,
    /// UTF-16: little-endian unless a BOM says big-endian.
    Utf16,
    /// CP932, Windows' Shift_JIS (`encoding_rs`'s `Shift_JIS`, which is that variant).
    Cp932,
}

impl Encoding {
    /// The name `--encoding` takes: `auto`, `utf-8`, `utf-16`, `cp932`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
            Encoding::Cp932 => "cp932",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an encoding `--encoding` knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an encoding (expected auto, utf-8, utf-16 or cp932)")]
pub struct UnknownEncoding(String);

impl FromStr for Encoding {
    type Err = UnknownEncoding;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Ok(Encoding::Auto),
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "utf-16" | "utf16" => Ok(Encoding::Utf16),
            "cp932" | "shift-jis" | "sjis" | "windows-31j" => Ok(Encoding::Cp932),
            _ => Err(UnknownEncoding(name.to_owned())),
        }
    }
}

/// The text of the file `name` read as `encoding`, with a notice when `auto` took it for
/// CP932.
pub(crate) fn decode<'b>(
    name: &str,
    bytes: &'b [u8],
    encoding: Encoding,
) -> Result<(Cow<'b, str>, Option<String>), ReadError> {
    const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";
    let utf16 = |bytes: &'b [u8]| -> Result<Cow<'b, str>, ReadError> {
        let (codec, body) = match bytes {
            [0xfe, 0xff, rest @ ..] => (UTF_16BE, rest),
            [0xff, 0xfe, rest @ ..] => (UTF_16LE, rest),
            _ => (UTF_16LE, bytes),
        };
        codec
            .decode_without_bom_handling_and_without_replacement(body)
            .ok_or_else(|| not_text(name, "UTF-16", first_bad_utf16_line(body, codec)))
    };
    let has_utf16_bom = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
    match encoding {
        Encoding::Utf16 => Ok((utf16(bytes)?, None)),
        Encoding::Auto if has_utf16_bom => Ok((utf16(bytes)?, None)),
        Encoding::Cp932 => SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|text| (text, None))
            .ok_or_else(|| not_text(name, "CP932", first_bad_cp932_line(bytes))),
        Encoding::Utf8 | Encoding::Auto => {
            let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
            match std::str::from_utf8(body) {
                Ok(text) => Ok((Cow::Borrowed(text), None)),
                Err(error) if encoding == Encoding::Utf8 || bytes.starts_with(UTF8_BOM) => {
                    Err(not_text(name, "UTF-8", line_at(body, error.valid_up_to())))
                }
                Err(error) => {
                    match SHIFT_JIS.decode_without_bom_handling_and_without_replacement(body) {
                        Some(text) => Ok((
                            text,
                            Some(format!(
                                "{name}: not UTF-8 text; read as CP932 (Shift_JIS as Windows writes it), which decodes it whole (say --encoding to choose)"
                            )),
                        )),
                        None => Err(ReadError::one(format!(
                            "{name}:{}: not UTF-8 text, nor CP932; say which encoding it is with --encoding utf-8|utf-16|cp932",
                            line_at(body, error.valid_up_to())
                        ))),
                    }
                }
            }
        }
    }
}

fn not_text(name: &str, encoding: &str, line: u64) -> ReadError {
    ReadError::one(format!(
        "{name}:{line}: not {encoding} text; say which encoding it is with --encoding utf-8|utf-16|cp932"
    ))
}

/// The 1-based line holding byte `offset` of a text whose line breaks are `\n` (`\r\n`
/// counts once; a lone `\r` is no line break in the readers either).
pub(crate) fn line_at(bytes: &[u8], offset: usize) -> u64 {
    let end = offset.min(bytes.len());
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count() as u64
}

fn first_bad_cp932_line(bytes: &[u8]) -> u64 {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    first_bad(&mut decoder, bytes, |b: &[u8], n| line_at(b, n))
}

fn first_bad_utf16_line(bytes: &[u8], codec: &'static encoding_rs::Encoding) -> u64 {
    let mut decoder = codec.new_decoder_without_bom_handling();
    let newline: &[u8] = if codec == UTF_16BE {
        &[0, b'\n']
    } else {
        &[b'\n', 0]
    };
    first_bad(&mut decoder, bytes, |b: &[u8], n| {
        1 + b[..n.min(b.len())]
            .chunks_exact(2)
            .filter(|unit| *unit == newline)
            .count() as u64
    })
}

/// The line of the first byte `decoder` finds malformed, by `line_of(bytes, offset)`.
fn first_bad(
    decoder: &mut encoding_rs::Decoder,
    bytes: &[u8],
    line_of: impl Fn(&[u8], usize) -> u64,
) -> u64 {
    let mut out = String::with_capacity(bytes.len() * 3 + 16);
    let mut read = 0;
    loop {
        let (result, n) =
            decoder.decode_to_string_without_replacement(&bytes[read..], &mut out, true);
        read += n;
        match result {
            encoding_rs::DecoderResult::Malformed(..) => return line_of(bytes, read),
            encoding_rs::DecoderResult::InputEmpty => return line_of(bytes, bytes.len()),
            encoding_rs::DecoderResult::OutputFull => {
                out.reserve(bytes.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn utf8_with_or_without_bom_is_read_as_it_is() {
        for bytes in [&b"a,b\n"[..], b"\xef\xbb\xbfa,b\n"] {
            let (text, notice) = decode("f.csv", bytes, Encoding::Auto).unwrap();
            assert_eq!((text.as_ref(), notice), ("a,b\n", None));
        }
    }

    #[test]
    fn utf16_with_a_bom_is_told_by_it() {
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("名前\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain("名前\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for bytes in [le, be] {
            assert_eq!(decode("f.txt", &bytes, Encoding::Auto).unwrap().0, "名前\n");
        }
    }

    #[test]
    fn cp932_is_taken_when_the_whole_file_decodes_and_is_said() {
        let (bytes, _, _) = SHIFT_JIS.encode("userName\n山田 太郎\n");
        let (text, notice) = decode("f.csv", &bytes, Encoding::Auto).unwrap();
        assert_eq!(text, "userName\n山田 太郎\n");
        assert!(notice.unwrap().contains("CP932"));
        assert_eq!(
            decode("f.csv", &bytes, Encoding::Cp932).unwrap(),
            (Cow::Owned("userName\n山田 太郎\n".to_owned()), None)
        );
    }

    #[test]
    fn bytes_that_are_no_text_name_their_line_and_the_flag() {
        // Line 3 holds 0x82 followed by a byte no CP932 lead byte takes.
        let bytes = b"a\nb\n\x82\x20\n";
        let error = decode("f.csv", bytes, Encoding::Auto).unwrap_err();
        assert!(
            error.problems[0].starts_with("f.csv:3: not UTF-8 text, nor CP932"),
            "{error}"
        );
        assert!(error.problems[0].contains("--encoding"), "{error}");
        let error = decode("f.csv", bytes, Encoding::Utf8).unwrap_err();
        assert!(
            error.problems[0].starts_with("f.csv:3: not UTF-8 text"),
            "{error}"
        );
        let error = decode("f.csv", bytes, Encoding::Cp932).unwrap_err();
        assert!(
            error.problems[0].starts_with("f.csv:3: not CP932 text"),
            "{error}"
        );
    }

    #[test]
    fn names_parse_as_the_flag_takes_them() {
        assert_eq!("UTF-8".parse(), Ok(Encoding::Utf8));
        assert_eq!("shift_jis".parse(), Ok(Encoding::Cp932));
        assert!("latin1".parse::<Encoding>().is_err());
    }
}
