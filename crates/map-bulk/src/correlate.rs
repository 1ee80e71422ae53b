//! Matching a bulk response's results to the operations sent: by `bulkId` where there is one,
//! by position otherwise, noticing short and mismatched responses.

use std::collections::HashMap;
use std::fmt;

use map_entities::{BulkMethod, MapError, id_from_location};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::outcome::{OutcomeKind, SkipReason, UnknownReason};
use crate::scan::scan_response;

/// The parts of a BulkResponse the engine needs, borrowed from the body.
#[derive(Deserialize)]
pub(crate) struct LeanResponse<'a> {
    #[serde(rename = "Operations", alias = "operations", borrow)]
    pub(crate) operations: Vec<LeanResult<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct LeanResult<'a> {
    #[serde(borrow, default)]
    pub(crate) method: Option<Text<'a>>,
    #[serde(rename = "bulkId", borrow, default)]
    pub(crate) bulk_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(crate) location: Option<Text<'a>>,
    #[serde(default)]
    pub(crate) status: Option<Status>,
    #[serde(borrow, default)]
    pub(crate) response: Option<&'a RawValue>,
}

impl<'a> LeanResponse<'a> {
    /// Reads a 200 answer's body to a request of `sent` operations: in its usual shape by
    /// [`scan_response`], otherwise (and to word any error) by serde_json.
    pub(crate) fn read(text: &'a str, sent: usize) -> Result<Self, serde_json::Error> {
        match scan_response(text, sent) {
            Some(response) => Ok(response),
            None => serde_json::from_str(text),
        }
    }
}

/// A string borrowed from the body, or owned when it had escapes. Faster to read than a
/// `Cow<str>` (serde reads that through `deserialize_string`).
pub(crate) enum Text<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Text::Borrowed(text) => text,
            Text::Owned(text) => text,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text::Borrowed(text))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text::Owned(text.to_owned()))
            }
        }
        Ok(match deserializer.deserialize_str(TextVisitor)? {
            Text::Borrowed(text) => Text::Borrowed(text),
            Text::Owned(text) => Text::Owned(text),
        })
    }
}

/// A result's `status`: a string such as `"201"` (RFC 7644), or a number from lenient servers.
pub(crate) struct Status(pub(crate) u16);

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;
        impl Visitor<'_> for StatusVisitor {
            type Value = Status;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HTTP status such as \"201\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Status, E> {
                text.trim()
                    .parse()
                    .map(Status)
                    .map_err(|_| E::custom(format!("status {text:?} is not a number")))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Status, E> {
                u16::try_from(number)
                    .map(Status)
                    .map_err(|_| E::custom("status out of range"))
            }
        }
        deserializer.deserialize_any(StatusVisitor)
    }
}

/// What the engine knows of an operation it sent.
pub(crate) struct SentOperation<'a> {
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<&'a str>,
    /// An earlier attempt of this operation may have been applied.
    pub(crate) after_ambiguous_attempt: bool,
}

/// A response's results matched to the operations sent: each operation's outcome is made
/// when it is asked for, straight into the operation's [`Outcome`](crate::Outcome).
pub(crate) struct Correlation<'a> {
    response: LeanResponse<'a>,
    /// For each operation sent, the position of its result in the response.
    assigned: Vec<Option<u32>>,
    /// Results that matched no operation sent.
    mismatched: usize,
    /// Whether the server stopped early under failOnErrors.
    stopped_early: bool,
}

impl<'a> Correlation<'a> {
    /// Matches the results of `response` to `sent`: by bulkId where a result has one, else by
    /// position.
    pub(crate) fn new(
        sent: &[SentOperation<'_>],
        response: LeanResponse<'a>,
        fail_on_errors: Option<u64>,
    ) -> Self {
        // Built only if a result's bulkId is not the one at its own position.
        let mut by_bulk_id: Option<HashMap<&str, usize>> = None;
        let mut assigned: Vec<Option<u32>> = vec![None; sent.len()];
        let mut mismatched = 0usize;
        for (position, result) in response.operations.iter().enumerate() {
            let target = match result.bulk_id.as_deref() {
                Some(bulk_id) if sent.get(position).and_then(|op| op.bulk_id) == Some(bulk_id) => {
                    Some(position)
                }
                Some(bulk_id) => by_bulk_id
                    .get_or_insert_with(|| {
                        sent.iter()
                            .enumerate()
                            .filter_map(|(position, op)| Some((op.bulk_id?, position)))
                            .collect()
                    })
                    .get(bulk_id)
                    .copied(),
                None => (position < sent.len()).then_some(position),
            };
            let method_matches = |target: usize| {
                result
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(sent[target].method.as_str()))
            };
            match (target, u32::try_from(position)) {
                (Some(target), Ok(position))
                    if assigned[target].is_none() && method_matches(target) =>
                {
                    assigned[target] = Some(position)
                }
                _ => mismatched += 1,
            }
        }
        let errors = response
            .operations
            .iter()
            .filter(|r| r.status.as_ref().is_some_and(|s| s.0 >= 400))
            .count() as u64;
        let stopped_early = fail_on_errors.is_some_and(|limit| limit > 0 && errors >= limit);
        Correlation {
            response,
            assigned,
            mismatched,
            stopped_early,
        }
    }

    /// The outcome of `op`, the operation sent at `position`.
    pub(crate) fn outcome(&self, position: usize, op: &SentOperation<'_>) -> OutcomeKind {
        let result = self.assigned.get(position).copied().flatten();
        match result.and_then(|at| self.response.operations.get(at as usize)) {
            Some(result) => settle(op, result),
            // Not processed; but an earlier attempt whose answer was lost may have applied it.
            None if self.stopped_early && self.mismatched == 0 && op.after_ambiguous_attempt => {
                OutcomeKind::Unknown {
                    reason: UnknownReason::RetryNotProcessed {
                        cause: SkipReason::StoppedByFailOnErrors.to_string(),
                    },
                }
            }
            None if self.stopped_early && self.mismatched == 0 => OutcomeKind::Skipped {
                reason: SkipReason::StoppedByFailOnErrors,
            },
            None => OutcomeKind::Unknown {
                reason: if self.mismatched > 0 {
                    UnknownReason::ResultsMismatched {
                        unmatched: self.mismatched,
                    }
                } else {
                    UnknownReason::ResultMissing {
                        results: self.response.operations.len(),
                        operations: self.assigned.len(),
                    }
                },
            },
        }
    }
}

fn settle(op: &SentOperation<'_>, result: &LeanResult<'_>) -> OutcomeKind {
    let Some(Status(status)) = result.status else {
        return OutcomeKind::Unknown {
            reason: UnknownReason::ResultWithoutStatus,
        };
    };
    let location = result.location.as_deref().map(str::to_owned);
    match status {
        200..=299 => {
            let id = location
                .as_deref()
                .and_then(id_from_location)
                .map(str::to_owned)
                .or_else(|| response_id(result.response));
            OutcomeKind::Succeeded {
                status,
                location,
                id,
                note: None,
            }
        }
        404 | 400
            if op.method == BulkMethod::Delete
                && op.after_ambiguous_attempt
                && says_not_found(status, result.response) =>
        {
            OutcomeKind::Succeeded {
                status,
                location,
                id: None,
                note: Some(
                    "already deleted: an earlier attempt whose answer was lost deleted it"
                        .to_owned(),
                ),
            }
        }
        _ => {
            let error = result
                .response
                .and_then(|raw| serde_json::from_str::<MapError>(raw.get()).ok());
            let message = error
                .as_ref()
                .and_then(|e| e.detail.clone())
                .unwrap_or_else(|| format!("status {status}"));
            if op.after_ambiguous_attempt {
                // The lost attempt may have applied it (and later operations of that attempt
                // may have changed what this retry found): the failure proves nothing.
                return OutcomeKind::Unknown {
                    reason: UnknownReason::RetryInconclusive { status, message },
                };
            }
            OutcomeKind::Failed {
                status: Some(status),
                error,
                message,
            }
        }
    }
}

/// Whether a result says its resource does not exist: RFC 7644's 404, or mAP Core's 400
/// whose detail is `'X' Not Found`.
fn says_not_found(status: u16, response: Option<&RawValue>) -> bool {
    status == 404
        || response
            .and_then(|raw| serde_json::from_str::<MapError>(raw.get()).ok())
            .is_some_and(|error| error.is_not_found())
}

fn response_id(response: Option<&RawValue>) -> Option<String> {
    #[derive(Deserialize)]
    struct WithId {
        id: Option<String>,
    }
    serde_json::from_str::<WithId>(response?.get()).ok()?.id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(ops: &[(BulkMethod, Option<&'static str>)]) -> Vec<SentOperation<'static>> {
        ops.iter()
            .map(|&(method, bulk_id)| SentOperation {
                method,
                bulk_id,
                after_ambiguous_attempt: false,
            })
            .collect()
    }

    fn outcomes(
        ops: &[SentOperation<'_>],
        body: &str,
        fail_on_errors: Option<u64>,
    ) -> Vec<OutcomeKind> {
        let response: LeanResponse<'_> = serde_json::from_str(body).unwrap();
        let correlation = Correlation::new(ops, response, fail_on_errors);
        ops.iter()
            .enumerate()
            .map(|(position, op)| correlation.outcome(position, op))
            .collect()
    }

    #[test]
    fn results_match_by_bulk_id_in_any_order_and_by_position_otherwise() {
        let ops = sent(&[
            (BulkMethod::Post, Some("u1")),
            (BulkMethod::Post, Some("u2")),
            (BulkMethod::Delete, None),
        ]);
        let body = r#"{"operations":[
            {"method":"POST","bulkId":"u2","status":"201","location":"https://m/api/v2/Users/b"},
            {"method":"POST","bulkId":"u1","status":201,"response":{"id":"a"}},
            {"method":"DELETE","status":"404","response":{"schemas":["urn:x:Error"],"status":"404","detail":"'x' Not Found"}}]}"#;
        let kinds = outcomes(&ops, body, None);
        assert!(matches!(&kinds[0], OutcomeKind::Succeeded { id: Some(id), .. } if id == "a"));
        assert!(matches!(&kinds[1], OutcomeKind::Succeeded { id: Some(id), .. } if id == "b"));
        assert!(
            matches!(&kinds[2], OutcomeKind::Failed { status: Some(404), message, .. } if message == "'x' Not Found")
        );
    }

    #[test]
    fn short_responses_are_noticed() {
        let ops = sent(&[
            (BulkMethod::Delete, None),
            (BulkMethod::Delete, None),
            (BulkMethod::Delete, None),
        ]);
        let body = r#"{"Operations":[{"method":"DELETE","status":"404"},{"method":"DELETE","status":"404"}]}"#;
        let stopped = outcomes(&ops, body, Some(2));
        assert_eq!(
            stopped[2],
            OutcomeKind::Skipped {
                reason: SkipReason::StoppedByFailOnErrors
            }
        );
        let short = outcomes(&ops, body, None);
        assert!(
            matches!(&short[2], OutcomeKind::Unknown { reason } if reason.to_string().contains("2 results for 3"))
        );
    }

    #[test]
    fn mismatched_results_leave_operations_unknown() {
        let ops = sent(&[(BulkMethod::Post, Some("u1")), (BulkMethod::Put, None)]);
        let body = r#"{"Operations":[{"method":"POST","bulkId":"zz","status":"201"},{"method":"DELETE","status":"204"}]}"#;
        let kinds = outcomes(&ops, body, None);
        assert!(
            kinds
                .iter()
                .all(|k| matches!(k, OutcomeKind::Unknown { .. })),
            "{kinds:?}"
        );
    }

    #[test]
    fn a_failure_after_a_lost_answer_proves_nothing() {
        let mut ops = sent(&[(BulkMethod::Put, None)]);
        ops[0].after_ambiguous_attempt = true;
        let kinds = outcomes(
            &ops,
            r#"{"Operations":[{"method":"PUT","status":"404"}]}"#,
            None,
        );
        assert!(
            matches!(&kinds[0], OutcomeKind::Unknown { reason } if reason.to_string().contains("404")),
            "{kinds:?}"
        );
    }

    #[test]
    fn a_delete_retried_after_a_lost_answer_that_finds_nothing_succeeded() {
        let mut ops = sent(&[(BulkMethod::Delete, None)]);
        ops[0].after_ambiguous_attempt = true;
        let kinds = outcomes(
            &ops,
            r#"{"Operations":[{"method":"DELETE","status":"404"}]}"#,
            None,
        );
        assert!(matches!(
            &kinds[0],
            OutcomeKind::Succeeded {
                status: 404,
                note: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn map_s_400_not_found_settles_a_retried_delete_too() {
        let mut ops = sent(&[(BulkMethod::Delete, None), (BulkMethod::Delete, None)]);
        ops[0].after_ambiguous_attempt = true;
        ops[1].after_ambiguous_attempt = true;
        let not_found = r#"{"schemas":["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"'g1' Not Found"}"#;
        let other = r#"{"schemas":["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"No update rights for 'g2'"}"#;
        let body = format!(
            r#"{{"Operations":[{{"method":"DELETE","path":"Groups/g1","status":"400","response":{not_found}}},{{"method":"DELETE","path":"Groups/g2","status":"400","response":{other}}}]}}"#
        );
        let kinds = outcomes(&ops, &body, None);
        assert!(
            matches!(
                &kinds[0],
                OutcomeKind::Succeeded {
                    status: 400,
                    note: Some(_),
                    ..
                }
            ),
            "{kinds:?}"
        );
        // Any other 400 after a lost answer proves nothing.
        assert!(
            matches!(&kinds[1], OutcomeKind::Unknown { .. }),
            "{kinds:?}"
        );
    }
}
