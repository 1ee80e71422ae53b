//! The signature rule itself, and checking a signature on the server side.

use std::fmt;

use sha2::{Digest, Sha256};

/// The mAP Core request signature: lowercase hex of SHA-256 over the UTF-8 bytes of
/// `client_secret + access_token + time_stamp`, concatenated in that order with no separator.
///
/// ```
/// assert_eq!(
///     map_auth::compute_signature("s3cr3t", "tok", "0"),
///     "fdf331af8ac290223f4178361694d5417d9823057d6d23042aacbefd0e960419"
/// );
/// ```
pub fn compute_signature(client_secret: &str, access_token: &str, time_stamp: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(client_secret.as_bytes());
    hasher.update(access_token.as_bytes());
    hasher.update(time_stamp.as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether `signature` is the signature of these inputs, compared in constant time.
/// Hex digits are compared case-insensitively.
pub fn verify_signature(
    client_secret: &str,
    access_token: &str,
    time_stamp: &str,
    signature: &str,
) -> bool {
    let expected = compute_signature(client_secret, access_token, time_stamp);
    let given = signature.as_bytes();
    if given.len() != expected.len() {
        return false;
    }
    let difference = expected
        .bytes()
        .zip(given)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()));
    difference == 0
}

/// Why a time stamp was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeStampError {
    /// Not a decimal number of seconds.
    NotANumber(String),
    /// Further from the server's clock than allowed.
    OutOfWindow {
        /// The request's time stamp.
        time_stamp: i64,
        /// The server's time.
        now: i64,
        /// The allowed distance in seconds.
        window_secs: i64,
    },
}

impl fmt::Display for TimeStampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeStampError::NotANumber(text) => {
                write!(
                    f,
                    "time_stamp {text:?} is not Unix seconds as a decimal string"
                )
            }
            TimeStampError::OutOfWindow {
                time_stamp,
                now,
                window_secs,
            } => write!(
                f,
                "time_stamp {time_stamp} is {}s away from the server's clock ({now}); at most {window_secs}s is allowed",
                (time_stamp - now).abs()
            ),
        }
    }
}

impl std::error::Error for TimeStampError {}

/// Checks that `time_stamp` is Unix seconds within `window_secs` of `now` (either side).
pub fn check_time_stamp(
    time_stamp: &str,
    now: i64,
    window_secs: i64,
) -> Result<i64, TimeStampError> {
    let digits = time_stamp.strip_prefix('-').unwrap_or(time_stamp);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimeStampError::NotANumber(
            time_stamp.chars().take(32).collect(),
        ));
    }
    let value: i64 = time_stamp
        .parse()
        .map_err(|_| TimeStampError::NotANumber(time_stamp.chars().take(32).collect()))?;
    if (value - now).abs() > window_secs {
        return Err(TimeStampError::OutOfWindow {
            time_stamp: value,
            now,
            window_secs,
        });
    }
    Ok(value)
}

/// A time stamp and the signature made with it: what one attempt of a request carries.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    /// Unix seconds as a decimal string.
    pub time_stamp: String,
    /// `hex(sha256(client_secret + access_token + time_stamp))`.
    pub signature: String,
}

impl fmt::Debug for Signature {
    /// Shows the time stamp; the signature is a short-lived credential and is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("time_stamp", &self.time_stamp)
            .field("signature", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        assert_eq!(
            compute_signature("s3cr3t", "tok", "0"),
            "fdf331af8ac290223f4178361694d5417d9823057d6d23042aacbefd0e960419"
        );
    }

    #[test]
    fn verify_accepts_the_right_signature_only() {
        let good = compute_signature("s", "t", "1700000000");
        assert!(verify_signature("s", "t", "1700000000", &good));
        assert!(verify_signature(
            "s",
            "t",
            "1700000000",
            &good.to_uppercase()
        ));
        assert!(!verify_signature("s", "t", "1700000001", &good));
        assert!(!verify_signature("s", "t", "1700000000", &good[1..]));
        assert!(!verify_signature("s", "t", "1700000000", ""));
    }

    #[test]
    fn time_stamps_outside_the_window_are_refused() {
        assert_eq!(check_time_stamp("1000", 1200, 300), Ok(1000));
        assert!(matches!(
            check_time_stamp("1000", 1301, 300),
            Err(TimeStampError::OutOfWindow { .. })
        ));
        assert!(matches!(
            check_time_stamp("1e3", 1000, 300),
            Err(TimeStampError::NotANumber(_))
        ));
        assert!(check_time_stamp("", 0, 300).is_err());
        assert!(check_time_stamp("99999999999999999999999", 0, 300).is_err());
    }

    #[test]
    fn debug_hides_the_signature() {
        let signature = Signature {
            time_stamp: "0".into(),
            signature: compute_signature("s3cr3t", "tok", "0"),
        };
        assert!(!format!("{signature:?}").contains("fdf331"));
    }
}
