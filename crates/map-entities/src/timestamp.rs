//! [`Timestamp`]: a point in time that writes back exactly as it was read.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant from a `meta` attribute (`created`, `lastModified`), keeping its original text.
///
/// mAP Core writes RFC 3339 date-times such as `2024-04-01T09:30:00Z` or
/// `2024-04-01T18:30:00.123456+09:00`. The value is available as a [`chrono::DateTime<Utc>`];
/// the text it was read from is what gets written back, so `Z`, offsets and fractional seconds
/// survive a round trip unchanged. A date-time without an offset is read as UTC.
///
/// ```
/// use map_entities::Timestamp;
///
/// let t: Timestamp = "2024-04-01T18:30:00.120+09:00".parse()?;
/// assert_eq!(t.utc().to_rfc3339(), "2024-04-01T09:30:00.120+00:00");
/// assert_eq!(t.as_str(), "2024-04-01T18:30:00.120+09:00");
/// # Ok::<(), map_entities::TimestampError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    utc: DateTime<Utc>,
    text: String,
}

impl Timestamp {
    /// The instant in UTC.
    pub fn utc(&self) -> DateTime<Utc> {
        self.utc
    }

    /// The text this timestamp is written as.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<DateTime<Utc>> for Timestamp {
    /// Renders as RFC 3339 with `Z` and as many fractional digits (0, 3, 6 or 9) as needed.
    fn from(utc: DateTime<Utc>) -> Self {
        Timestamp {
            utc,
            text: utc.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }
}

/// A string that is not an RFC 3339 (or offset-less ISO 8601) date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    text: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected an RFC 3339 date-time such as 2024-04-01T09:30:00Z, found {:?}",
            self.text
        )
    }
}

impl std::error::Error for TimestampError {}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, TimestampError> {
        let utc = DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
            })
            .map_err(|_| TimestampError {
                // Long garbage is cut so that the error stays readable.
                text: text.chars().take(64).collect(),
            })?;
        Ok(Timestamp {
            utc,
            text: text.to_owned(),
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_zulu_and_fraction_as_written() {
        for text in [
            "2024-04-01T09:30:00Z",
            "2024-04-01T09:30:00.1Z",
            "2024-04-01T09:30:00.123456789Z",
            "2024-04-01T18:30:00+09:00",
            "2024-04-01T09:30:00",
        ] {
            let json = format!("\"{text}\"");
            let t: Timestamp = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_string(&t).unwrap(), json);
        }
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t: Timestamp = "2024-04-01T18:30:00+09:00".parse().unwrap();
        let z: Timestamp = "2024-04-01T09:30:00Z".parse().unwrap();
        assert_eq!(t.utc(), z.utc());
        assert_ne!(t, z, "different texts are different documents");
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        let err = serde_json::from_str::<Timestamp>("\"yesterday\"").unwrap_err();
        assert!(err.to_string().contains("RFC 3339"), "{err}");
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }

    #[test]
    fn from_chrono_writes_z() {
        let utc = DateTime::from_timestamp(1_700_000_000, 5_000_000).unwrap();
        assert_eq!(Timestamp::from(utc).as_str(), "2023-11-14T22:13:20.005Z");
    }
}
