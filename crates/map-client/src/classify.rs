//! [`classify`]: what one attempt's answer (or its failure) means for the request — the one
//! table of mAP Core's status semantics that clients and the job engine share.

use std::time::Duration;

use http::HeaderMap;
use http::header::RETRY_AFTER;
use map_entities::MapError;

use crate::pipeline::{Answer, ExchangeError, excerpt};

/// What one attempt came to, as far as the request is concerned.
///
/// ```
/// use map_client::{Answer, Verdict, classify};
///
/// let busy = Answer {
///     status: http::StatusCode::TOO_MANY_REQUESTS,
///     headers: [(http::header::RETRY_AFTER, "3".parse().unwrap())].into_iter().collect(),
///     body: bytes::Bytes::new(),
///     url: None,
/// };
/// match classify(&Ok(busy)) {
///     Verdict::NotProcessed { retry_after, throttled, .. } => {
///         assert_eq!(retry_after, Some(std::time::Duration::from_secs(3)));
///         assert!(throttled);
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// 2xx: the server processed the request; its body (if any) holds the results — for
    /// Bulk always 200, for the resource endpoints also 201 (created) and 204 (deleted).
    Processed,
    /// The request settles as failed, and is not sent again: 400 (mAP's whole-request
    /// refusal, nothing applied), or any status not classified otherwise (404, 409, 501, a
    /// 3xx, …), taken as applying nothing; `status` is `None` when the request could not even
    /// be built or signed (nothing was sent).
    Refused {
        /// The status, when one came back.
        status: Option<u16>,
        /// The error document, when the body was one.
        error: Option<MapError>,
        /// What the server said, or the status and the start of the body.
        detail: String,
    },
    /// 401 or 403: the credentials were refused; nothing more should be sent with them.
    CredentialsRefused {
        /// The status.
        status: u16,
        /// What the server said.
        detail: String,
    },
    /// 413: too large; nothing was applied, and a smaller request may pass.
    TooLarge {
        /// The error document, when the body was one.
        error: Option<MapError>,
        /// What the server said.
        detail: String,
    },
    /// 429 or 503: not processed, safe to send again.
    NotProcessed {
        /// The status and what the server said.
        cause: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// Whether the server said it was busy (429, 503), which a job should slow down for.
        throttled: bool,
    },
    /// No connection could be made: not sent, safe to send again.
    Unreachable {
        /// The transport's failure.
        cause: String,
    },
    /// It may have been applied and no usable answer came: a timeout, a reset or truncated
    /// answer, 500, 502 or 504. Only what is safe to apply twice may be sent again.
    MayHaveBeenApplied {
        /// What happened to the answer.
        cause: String,
    },
}

impl Verdict {
    /// Whether sending the same request again cannot apply anything twice, because nothing of
    /// it was applied.
    pub fn nothing_applied(&self) -> bool {
        !matches!(
            self,
            Verdict::Processed | Verdict::MayHaveBeenApplied { .. }
        )
    }
}

/// The verdict on one attempt: an answer of any status, or the failure to get one.
///
/// A function of what came back (and of the clock, for a `Retry-After` date), without side
/// effects; reading the body of a [`Verdict::Processed`] answer is
/// the caller's next step (a 200 whose body cannot be read may have been applied).
pub fn classify(result: &Result<Answer, ExchangeError>) -> Verdict {
    let answer = match result {
        Ok(answer) => answer,
        Err(ExchangeError::Transport(error)) if error.delivery().was_not_sent() => {
            return Verdict::Unreachable {
                cause: error.to_string(),
            };
        }
        Err(ExchangeError::Transport(error)) => {
            return Verdict::MayHaveBeenApplied {
                cause: error.to_string(),
            };
        }
        Err(error) => {
            return Verdict::Refused {
                status: None,
                error: None,
                detail: error.to_string(),
            };
        }
    };
    let status = answer.status.as_u16();
    if answer.status.is_success() {
        // The body is the caller's to read (it may be large): not parsed here.
        return Verdict::Processed;
    }
    let error = serde_json::from_slice::<MapError>(&answer.body).ok();
    let detail = match (error.as_ref().and_then(|e| e.detail.clone()), &answer.url) {
        (Some(detail), _) => detail,
        // No mAP document: not mAP's "no such resource" but no such endpoint, most often a
        // base URL that already ends in /api/v2.
        (None, Some(url)) if status == 404 => format!(
            "{} from {url}: no such endpoint; is the base URL right? (mAP Core's is the part before /api/v2)",
            answer.status
        ),
        (None, _) => format!("{} {}", answer.status, excerpt(&answer.body))
            .trim_end()
            .to_owned(),
    };
    match status {
        401 | 403 => Verdict::CredentialsRefused { status, detail },
        413 => Verdict::TooLarge { error, detail },
        429 | 503 => Verdict::NotProcessed {
            cause: format!("{} ({detail})", answer.status),
            retry_after: retry_after(&answer.headers),
            throttled: true,
        },
        500 | 502 | 504 => Verdict::MayHaveBeenApplied {
            cause: format!("{} ({detail})", answer.status),
        },
        _ => Verdict::Refused {
            status: Some(status),
            error,
            detail,
        },
    }
}

/// `Retry-After` as seconds or an HTTP date (a date in the past is no wait).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::Bytes;
    use http::StatusCode;
    use map_transport::TransportError;

    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<Answer, ExchangeError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        Ok(Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_owned()),
            url: None,
        })
    }

    const ERROR: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","detail":"bad"}"#;

    #[test]
    fn every_status_has_one_meaning() {
        assert_eq!(classify(&answer(200, &[], "{}")), Verdict::Processed);
        assert_eq!(classify(&answer(201, &[], "{}")), Verdict::Processed);
        assert_eq!(classify(&answer(204, &[], "")), Verdict::Processed);
        match classify(&answer(400, &[], ERROR)) {
            Verdict::Refused {
                status: Some(400),
                error: Some(error),
                detail,
            } => {
                assert_eq!(detail, "bad");
                assert_eq!(error.detail.as_deref(), Some("bad"));
            }
            other => panic!("{other:?}"),
        }
        for status in [401, 403] {
            assert!(matches!(
                classify(&answer(status, &[], "")),
                Verdict::CredentialsRefused { status: s, .. } if s == status
            ));
        }
        assert!(matches!(
            classify(&answer(413, &[], ERROR)),
            Verdict::TooLarge { error: Some(_), .. }
        ));
        for status in [429, 503] {
            assert!(matches!(
                classify(&answer(status, &[("retry-after", "2")], "")),
                Verdict::NotProcessed { retry_after: Some(d), throttled: true, .. } if d == Duration::from_secs(2)
            ));
        }
        for status in [500, 502, 504] {
            let verdict = classify(&answer(status, &[], "oops"));
            assert!(
                matches!(&verdict, Verdict::MayHaveBeenApplied { cause } if cause.contains("oops")),
                "{verdict:?}"
            );
            assert!(!verdict.nothing_applied());
        }
        assert!(matches!(
            classify(&answer(404, &[], "gone")),
            Verdict::Refused { status: Some(404), error: None, detail } if detail == "404 Not Found gone"
        ));
    }

    #[test]
    fn a_failure_to_connect_is_unreachable_and_a_lost_answer_may_have_been_applied() {
        let refused = Err(ExchangeError::Transport(TransportError::Connect {
            message: "refused".into(),
        }));
        assert!(matches!(classify(&refused), Verdict::Unreachable { .. }));
        assert!(classify(&refused).nothing_applied());
        let lost = Err(ExchangeError::Transport(TransportError::Timeout {
            after: Duration::from_secs(1),
        }));
        assert!(matches!(
            classify(&lost),
            Verdict::MayHaveBeenApplied { .. }
        ));
        let unsigned = Err(ExchangeError::Build("no".into()));
        assert!(matches!(
            classify(&unsigned),
            Verdict::Refused { status: None, .. }
        ));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, " 7 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a past date is no wait"
        );
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
