//! One planned request, from its first attempt until every operation in it has settled: each
//! attempt goes through the client pipeline, [`classify`] says what came back, the retry
//! strategy says whether and when to try again, [`resend`](super::resend) says which
//! operations may go with it, and a 413 splits the request in two.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use map_auth::{REQUEST_OBJECT_ROOM, Signer};
use map_client::{
    Answer, Attempt, BulkClient, ExchangeError, GiveUp, RetryDecision, RetryStrategy, Verdict,
    classify,
};
use map_entities::{BulkMethod, MapError};
use tokio::time::Instant;

use super::ledger::{Ledger, resolve_request};
use super::operation::Operation;
use super::pace::Pace;
use super::resend::may_send_again;
use super::stop::JobStop;
use crate::correlate::{Correlation, LeanResponse, SentOperation};
use crate::encode::BodyWriter;
use crate::event::{Event, EventHandler};
use crate::outcome::{Outcome, OutcomeKind, SkipReason, UnknownReason};

/// What the requests of one job share.
pub(crate) struct RequestContext {
    pub(crate) client: BulkClient,
    pub(crate) signer: Arc<Signer>,
    pub(crate) retry: Arc<dyn RetryStrategy>,
    pub(crate) fail_on_errors: Option<u64>,
    pub(crate) events: EventHandler,
    /// The concurrency limit and the job-wide hold after a throttle.
    pub(crate) pace: Pace,
    /// Attempts sent.
    pub(crate) requests_sent: AtomicU64,
    /// Attempts that got an HTTP answer, whatever its status.
    pub(crate) answered: AtomicU64,
    /// Once interrupted, no new attempt starts.
    pub(crate) interrupt: super::interrupt::Interrupt,
}

/// How a planned request settled.
pub(crate) struct Execution {
    pub(crate) request: u64,
    /// One per operation sent.
    pub(crate) outcomes: Vec<Outcome>,
    /// Why the job should stop, if this request says it should.
    pub(crate) stop: Option<JobStop>,
}

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The outcomes of a request (or of one half of it) and why the job should stop, if it should.
type Settled = (Vec<Outcome>, Option<JobStop>);

/// Sends `ops` as planned request `request` until every one of them has settled.
pub(crate) async fn execute(
    context: Arc<RequestContext>,
    request: u64,
    ops: Vec<Operation>,
) -> Execution {
    let (outcomes, stop) = send(context, request, ops, Instant::now()).await;
    Execution {
        request,
        outcomes,
        stop,
    }
}

/// Sends `ops` as one request, retrying what may be retried and splitting it on 413.
/// `started` is when the planned request's first attempt started (a split half goes on
/// counting from there).
fn send(
    context: Arc<RequestContext>,
    request: u64,
    mut ops: Vec<Operation>,
    started: Instant,
) -> Boxed<Settled> {
    Box::pin(async move {
        let mut outcomes = Vec::with_capacity(ops.len());
        let mut number = 0u32;
        loop {
            number += 1;
            let attempting = context.pace.attempt_starts().await;
            let result = context.attempt(request, number, &ops).await;
            let attempt = Attempt {
                number,
                elapsed: started.elapsed(),
            };
            let verdict = match classify(&result) {
                Verdict::Processed => match read_results(&result, &ops, context.fail_on_errors) {
                    Ok(results) => {
                        attempting.ended(ops.len(), &Verdict::Processed);
                        context.retry.settled(attempt);
                        outcomes.extend(ops.into_iter().enumerate().map(|(position, op)| {
                            let kind = results.outcome(position, &op.sent());
                            op.into_outcome(kind)
                        }));
                        return (outcomes, None);
                    }
                    Err(cause) => Verdict::MayHaveBeenApplied { cause },
                },
                verdict => verdict,
            };
            attempting.ended(ops.len(), &verdict);
            if let Verdict::TooLarge { error, detail } = &verdict {
                let (rest, stop) = split(&context, request, ops, started, error, detail).await;
                outcomes.extend(rest);
                return (outcomes, stop);
            }
            ops = match settle_what_cannot_go_again(&context, ops, &verdict, attempt, &mut outcomes)
            {
                Ok(rest) if !rest.is_empty() => rest,
                Ok(_) => return (outcomes, None),
                Err(stop) => return (outcomes, Some(stop)),
            };
            if context.interrupt.is_interrupted() {
                // No new attempt: what was not processed is skipped, what may have been
                // applied is unknown (the engine never guesses).
                let give_up = GiveUp::Interrupted { attempts: number };
                let stop = interrupted(&ops, &verdict, give_up, &mut outcomes);
                return (outcomes, stop);
            }
            match context.retry.retry(&verdict, attempt) {
                RetryDecision::After(delay) => {
                    context.wait(request, number, delay, &verdict).await;
                    if context.interrupt.is_interrupted() {
                        let give_up = GiveUp::Interrupted { attempts: number };
                        let stop = interrupted(&ops, &verdict, give_up, &mut outcomes);
                        return (outcomes, stop);
                    }
                }
                RetryDecision::GiveUp(give_up) => {
                    let stop = give_up_on(&ops, &verdict, give_up, &mut outcomes);
                    return (outcomes, stop);
                }
            }
        }
    })
}

/// After an attempt that did not settle as processed or too large: settles what `verdict`
/// settles (a refusal settles everything; a lost answer, what may not be sent again) and
/// returns what may be tried again, or why the job stops.
fn settle_what_cannot_go_again(
    context: &RequestContext,
    ops: Vec<Operation>,
    verdict: &Verdict,
    attempt: Attempt,
    outcomes: &mut Vec<Outcome>,
) -> Result<Vec<Operation>, JobStop> {
    match verdict {
        Verdict::Refused {
            status,
            error,
            detail,
        } => {
            context.retry.settled(attempt);
            outcomes.extend(refused(&ops, *status, error, detail));
            Ok(Vec::new())
        }
        Verdict::CredentialsRefused { status, detail } => {
            tracing::warn!(status, "credentials refused");
            let stop = JobStop::Authentication {
                status: *status,
                detail: detail.clone(),
            };
            outcomes.extend(skipped(&ops, &stop.skip_reason()));
            Err(stop)
        }
        Verdict::MayHaveBeenApplied { cause } => Ok(hold_back_what_may_have_been_applied(
            ops, verdict, cause, outcomes,
        )),
        _ => Ok(ops),
    }
}

impl RequestContext {
    /// Sends attempt `number` of `ops` and counts it.
    async fn attempt(
        &self,
        request: u64,
        number: u32,
        ops: &[Operation],
    ) -> Result<Answer, ExchangeError> {
        let size = ops.iter().map(Operation::encoded_size_bound).sum();
        let mut writer = BodyWriter::new(REQUEST_OBJECT_ROOM, size);
        for op in ops {
            writer.push(&op.parts());
        }
        let body = writer.finish(self.fail_on_errors);
        let bytes = body.len() - REQUEST_OBJECT_ROOM;
        (self.events)(&Event::RequestSent {
            request,
            attempt: number,
            operations: ops.len(),
            bytes,
        });
        self.requests_sent.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(attempt = number, bytes, "sending");
        let result = self
            .client
            .exchange(body, REQUEST_OBJECT_ROOM, &self.signer)
            .await;
        if result.is_ok() {
            self.answered.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Reports the retry after attempt `number` and waits `delay` for it.
    async fn wait(&self, request: u64, number: u32, delay: std::time::Duration, verdict: &Verdict) {
        let cause = cause(verdict);
        tracing::info!(attempt = number, ?delay, cause, "retrying");
        (self.events)(&Event::RetryScheduled {
            request,
            attempt: number + 1,
            delay,
            cause,
        });
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

/// The results of a processed attempt, matched to the operations sent (`ops`); or why they
/// could not be read (then it may have been applied).
fn read_results<'a>(
    result: &'a Result<Answer, ExchangeError>,
    ops: &[Operation],
    fail_on_errors: Option<u64>,
) -> Result<Correlation<'a>, String> {
    let Ok(answer) = result else {
        return Err("no answer".to_owned());
    };
    // One vectorised UTF-8 check, then serde_json borrows strings without re-checking.
    let response = crate::scan::utf8(&answer.body)
        .map_err(|e| e.to_string())
        .and_then(|text| LeanResponse::read(text, ops.len()).map_err(|e| e.to_string()))
        .map_err(|e| {
            format!(
                "the 200 answer could not be read ({e}); it starts {:?}",
                answer.excerpt()
            )
        })?;
    let sent: Vec<SentOperation<'_>> = ops.iter().map(Operation::sent).collect();
    Ok(Correlation::new(&sent, response, fail_on_errors))
}

/// Every operation of a request the server refused whole: failed, unless an earlier attempt
/// whose answer was lost carried it.
fn refused<'a>(
    ops: &'a [Operation],
    status: Option<u16>,
    error: &'a Option<MapError>,
    detail: &str,
) -> impl Iterator<Item = Outcome> + 'a {
    let message = match status {
        Some(400) => format!("the whole request was refused: {detail}"),
        _ => detail.to_owned(),
    };
    ops.iter().map(move |op| {
        op.outcome(match (op.after_ambiguous, status) {
            // An earlier attempt whose answer was lost may have applied it: the refusal of
            // the retry proves nothing.
            (true, Some(status)) => OutcomeKind::Unknown {
                reason: UnknownReason::RetryInconclusive {
                    status,
                    message: message.clone(),
                },
            },
            (true, None) => OutcomeKind::Unknown {
                reason: UnknownReason::RetryNotProcessed {
                    cause: message.clone(),
                },
            },
            (false, _) => OutcomeKind::Failed {
                status,
                error: error.clone(),
                message: message.clone(),
            },
        })
    })
}

/// Every operation of `ops`, not processed for `reason`: skipped, unless an earlier attempt
/// whose answer was lost carried it (that one may have applied it: unknown).
fn skipped<'a>(ops: &'a [Operation], reason: &'a SkipReason) -> impl Iterator<Item = Outcome> + 'a {
    ops.iter().map(|op| {
        op.outcome(if op.after_ambiguous {
            OutcomeKind::Unknown {
                reason: UnknownReason::RetryNotProcessed {
                    cause: reason.to_string(),
                },
            }
        } else {
            OutcomeKind::Skipped {
                reason: reason.clone(),
            }
        })
    })
}

/// After an attempt that may have been applied: settles as unknown what may not be sent again
/// (and skips what references it), and returns the rest, marked as sent once already.
fn hold_back_what_may_have_been_applied(
    ops: Vec<Operation>,
    verdict: &Verdict,
    cause: &str,
    outcomes: &mut Vec<Outcome>,
) -> Vec<Operation> {
    let mut held_back = Ledger::default();
    let mut may_go = Vec::with_capacity(ops.len());
    for op in ops {
        if may_send_again(op.method, verdict) {
            may_go.push(op);
        } else {
            let reason = UnknownReason::AnswerLost {
                cause: cause.to_owned(),
            };
            let outcome = op.into_outcome(OutcomeKind::Unknown { reason });
            held_back.record_outcome(&outcome);
            outcomes.push(outcome);
        }
    }
    // What references an operation held back, wherever it lies, is skipped.
    let (mut rest, skipped) = resolve_request(&mut held_back, may_go, |_| true, |_| true);
    outcomes.extend(skipped);
    for op in &mut rest {
        op.after_ambiguous = true;
    }
    rest
}

/// Settles what is left of a request the retry strategy gave up on; a server that could not be
/// reached stops the job.
fn give_up_on(
    ops: &[Operation],
    verdict: &Verdict,
    give_up: GiveUp,
    outcomes: &mut Vec<Outcome>,
) -> Option<JobStop> {
    let cause = cause(verdict);
    let detail = format!("{cause}; {give_up}");
    match verdict {
        Verdict::Unreachable { .. } => {
            outcomes.extend(skipped(ops, &SkipReason::ServerUnreachable));
            Some(JobStop::Unreachable { detail })
        }
        Verdict::NotProcessed { .. } => {
            outcomes.extend(skipped(ops, &SkipReason::NotProcessed { detail }));
            None
        }
        _ => {
            let reason = UnknownReason::RetriesGaveUp {
                cause: cause.to_owned(),
                give_up,
            };
            outcomes.extend(ops.iter().map(|op| {
                op.outcome(OutcomeKind::Unknown {
                    reason: reason.clone(),
                })
            }));
            None
        }
    }
}

/// Settles `ops` of a request the job was interrupted while retrying: not sent or not
/// processed is skipped for the interruption; anything else as giving up says.
fn interrupted(
    ops: &[Operation],
    verdict: &Verdict,
    give_up: GiveUp,
    outcomes: &mut Vec<Outcome>,
) -> Option<JobStop> {
    match verdict {
        Verdict::Unreachable { .. } | Verdict::NotProcessed { .. } => {
            outcomes.extend(skipped(ops, &SkipReason::Interrupted));
            None
        }
        _ => give_up_on(ops, verdict, give_up, outcomes),
    }
}

/// What `verdict` says happened, for messages.
fn cause(verdict: &Verdict) -> &str {
    match verdict {
        Verdict::NotProcessed { cause, .. }
        | Verdict::Unreachable { cause }
        | Verdict::MayHaveBeenApplied { cause } => cause,
        Verdict::Refused { detail, .. }
        | Verdict::CredentialsRefused { detail, .. }
        | Verdict::TooLarge { detail, .. } => detail,
        _ => "an answer this engine does not know",
    }
}

/// A request the server found too large: sent again as two halves, the second after the
/// first has settled (with the ids it created), or skipped if the first stopped the job.
async fn split(
    context: &Arc<RequestContext>,
    request: u64,
    mut ops: Vec<Operation>,
    started: Instant,
    error: &Option<MapError>,
    detail: &str,
) -> Settled {
    let Some(middle) = split_point(&ops) else {
        let detail = format!("too large for the server even alone: {detail}");
        return (refused(&ops, Some(413), error, &detail).collect(), None);
    };
    let second = ops.split_off(middle);
    let (mut outcomes, stop) = send(context.clone(), request, ops, started).await;
    if let Some(stop) = stop {
        // The second half was never sent: skipped for why the job stopped.
        outcomes.extend(skipped(&second, &stop.skip_reason()));
        return (outcomes, Some(stop));
    }
    let mut first = Ledger::default();
    for outcome in &outcomes {
        first.record_outcome(outcome);
    }
    let (ready, skipped) = resolve_request(&mut first, second, |_| true, |_| true);
    outcomes.extend(skipped);
    if ready.is_empty() {
        return (outcomes, None);
    }
    let (rest, stop) = send(context.clone(), request, ready, started).await;
    outcomes.extend(rest);
    (outcomes, stop)
}

/// Where to split a request the server found too large: as near the middle as possible
/// without separating an operation from a POST it references later in the request.
fn split_point(ops: &[Operation]) -> Option<usize> {
    if ops.len() < 2 {
        return None;
    }
    let position: std::collections::HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == BulkMethod::Post)
        .filter_map(|(i, op)| Some((op.bulk_id.as_deref()?, i)))
        .collect();
    let valid = |middle: usize| {
        ops[..middle].iter().all(|op| {
            op.local_refs
                .iter()
                .all(|r| position.get(r.as_str()).is_none_or(|&p| p < middle))
        })
    };
    let half = ops.len() / 2;
    (0..ops.len())
        .flat_map(|d| [half + d, half.wrapping_sub(d)])
        .find(|&m| m > 0 && m < ops.len() && valid(m))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use map_transport::TransportError;

    use super::super::test_support::{context, op};
    use super::*;

    fn results(results: &[(&str, &str)]) -> String {
        let operations: Vec<_> = results
            .iter()
            .map(|(method, location)| {
                serde_json::json!({"method": method, "status": "200", "location": location})
            })
            .collect();
        serde_json::json!({"schemas": [map_entities::BULK_RESPONSE_SCHEMA], "Operations": operations})
            .to_string()
    }

    #[tokio::test]
    async fn a_lost_answer_holds_back_posts_and_their_dependents_and_resends_the_rest() {
        let (context, sent) = context(
            vec![
                Ok((502, "bad gateway".into())),
                Ok((
                    200,
                    results(&[("PUT", "https://map.example/api/v2/Users/x")]),
                )),
            ],
            3,
        );
        let ops = vec![
            op(0, BulkMethod::Post, Some("u1"), "/Users", &[]),
            op(1, BulkMethod::Patch, None, "/Groups/g", &["u1"]),
            op(2, BulkMethod::Put, None, "/Users/x", &[]),
        ];
        let execution = execute(context, 7, ops).await;
        assert!(execution.stop.is_none());
        let kinds: Vec<_> = execution
            .outcomes
            .iter()
            .map(|o| (o.index, o.kind.clone()))
            .collect();
        assert!(
            matches!(&kinds[0], (0, OutcomeKind::Unknown { reason: UnknownReason::AnswerLost { cause } })
                if cause.starts_with("502")),
            "{kinds:?}"
        );
        assert_eq!(
            kinds[1],
            (
                1,
                OutcomeKind::Skipped {
                    reason: SkipReason::DependencyUnknown {
                        bulk_id: "u1".into()
                    }
                }
            )
        );
        assert!(
            matches!(&kinds[2], (2, OutcomeKind::Succeeded { status: 200, .. })),
            "{kinds:?}"
        );
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 2);
        assert!(
            sent[1].contains("/Users/x") && !sent[1].contains("\"POST\""),
            "{}",
            sent[1]
        );
    }

    #[tokio::test]
    async fn what_was_not_processed_until_the_strategy_gave_up_is_skipped_saying_why() {
        let busy = || Ok((503, r#"{"detail":"busy"}"#.to_owned()));
        let (context, sent) = context(vec![busy(), busy()], 2);
        let execution = execute(
            context,
            1,
            vec![op(0, BulkMethod::Post, None, "/Users", &[])],
        )
        .await;
        assert!(execution.stop.is_none());
        assert_eq!(
            execution.outcomes[0].kind,
            OutcomeKind::Skipped {
                reason: SkipReason::NotProcessed {
                    detail: "503 Service Unavailable (busy); gave up after 2 attempts".into()
                }
            }
        );
        assert_eq!(sent.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn once_interrupted_a_request_starts_no_new_attempt() {
        let busy = || Ok((503, r#"{"detail":"busy"}"#.to_owned()));
        let (context, sent) = context(vec![busy(), busy()], 2);
        context.interrupt.interrupt();
        let execution = execute(
            context.clone(),
            1,
            vec![op(0, BulkMethod::Post, None, "/Users", &[])],
        )
        .await;
        // The attempt in flight when the signal came is seen through; no retry follows.
        assert_eq!(sent.lock().unwrap().len(), 1);
        assert_eq!(
            execution.outcomes[0].kind,
            OutcomeKind::Skipped {
                reason: SkipReason::Interrupted
            }
        );
        // An answer lost: what may have been applied stays unknown, never skipped.
        let (context, _) =
            super::super::test_support::context(vec![Ok((502, "bad gateway".into()))], 2);
        context.interrupt.interrupt();
        let execution = execute(
            context,
            1,
            vec![op(0, BulkMethod::Put, None, "/Users/x", &[])],
        )
        .await;
        assert!(
            matches!(
                &execution.outcomes[0].kind,
                OutcomeKind::Unknown {
                    reason: UnknownReason::RetriesGaveUp {
                        give_up: GiveUp::Interrupted { attempts: 1 },
                        ..
                    }
                }
            ),
            "{:?}",
            execution.outcomes
        );
    }

    #[tokio::test]
    async fn a_server_that_cannot_be_reached_stops_the_job() {
        let refused = || {
            Err(TransportError::Connect {
                message: "refused".into(),
            })
        };
        let (context, _) = context(vec![refused(), refused()], 2);
        let execution = execute(
            context,
            1,
            vec![op(0, BulkMethod::Delete, None, "/Groups/g", &[])],
        )
        .await;
        assert_eq!(
            execution.outcomes[0].kind,
            OutcomeKind::Skipped {
                reason: SkipReason::ServerUnreachable
            }
        );
        assert!(
            matches!(&execution.stop, Some(JobStop::Unreachable { detail }) if detail.contains("refused; gave up after 2 attempts")),
            "{:?}",
            execution.stop
        );
    }

    #[tokio::test]
    async fn a_413_splits_the_request_and_the_second_half_gets_the_ids_the_first_created() {
        let (context, sent) = context(
            vec![
                Ok((413, r#"{"detail":"too big"}"#.into())),
                Ok((
                    200,
                    serde_json::json!({
                        "schemas": [map_entities::BULK_RESPONSE_SCHEMA],
                        "Operations": [{"method": "POST", "bulkId": "u1", "status": "201",
                                        "location": "https://map.example/api/v2/Users/new-1"}]
                    })
                    .to_string(),
                )),
                Ok((
                    200,
                    results(&[("PATCH", "https://map.example/api/v2/Groups/g")]),
                )),
            ],
            1,
        );
        let mut patch = op(1, BulkMethod::Patch, None, "/Groups/g", &["u1"]);
        patch.data = Some(r#"{"value":"bulkId:u1"}"#.into());
        let ops = vec![op(0, BulkMethod::Post, Some("u1"), "/Users", &[]), patch];
        let execution = execute(context, 1, ops).await;
        assert!(
            execution
                .outcomes
                .iter()
                .all(|o| matches!(o.kind, OutcomeKind::Succeeded { .. }))
        );
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 3, "the whole request, then each half");
        assert!(
            sent[2].contains(r#""value":"new-1""#) && !sent[2].contains("bulkId:u1"),
            "{}",
            sent[2]
        );
    }

    #[test]
    fn a_split_never_separates_an_operation_from_a_post_it_references_later() {
        let ops = vec![
            op(0, BulkMethod::Put, None, "/Users/a", &[]),
            op(1, BulkMethod::Patch, None, "/Groups/g", &["late"]),
            op(2, BulkMethod::Put, None, "/Users/b", &[]),
            op(3, BulkMethod::Post, Some("late"), "/Users", &[]),
        ];
        // The middle (2) would put #1 before the POST it references: the nearest valid split
        // is just before #1.
        assert_eq!(split_point(&ops), Some(1));
        assert_eq!(
            split_point(&ops[..1]),
            None,
            "one operation cannot be split"
        );
    }

    #[tokio::test]
    async fn a_lost_answer_skips_what_references_a_post_later_in_the_request() {
        let (context, sent) = context(vec![Ok((504, String::new()))], 3);
        let ops = vec![
            op(0, BulkMethod::Patch, None, "/Groups/g", &["u1"]),
            op(1, BulkMethod::Post, Some("u1"), "/Users", &[]),
        ];
        let execution = execute(context, 1, ops).await;
        let mut kinds: Vec<_> = execution
            .outcomes
            .iter()
            .map(|o| (o.index, o.kind.name()))
            .collect();
        kinds.sort();
        assert_eq!(kinds, [(0, "skipped"), (1, "unknown")]);
        assert_eq!(
            sent.lock().unwrap().len(),
            1,
            "nothing was left to send again"
        );
    }

    #[tokio::test]
    async fn what_a_lost_answer_may_have_applied_is_unknown_when_the_retry_is_refused() {
        let (context, _) = context(
            vec![
                Ok((502, String::new())),
                Ok((401, r#"{"detail":"expired"}"#.into())),
            ],
            3,
        );
        let execution = execute(
            context,
            1,
            vec![op(0, BulkMethod::Put, None, "/Users/x", &[])],
        )
        .await;
        assert!(
            matches!(
                &execution.outcomes[0].kind,
                OutcomeKind::Unknown {
                    reason: UnknownReason::RetryNotProcessed { .. }
                }
            ),
            "{:?}",
            execution.outcomes[0]
        );
        assert!(matches!(
            execution.stop,
            Some(JobStop::Authentication { status: 401, .. })
        ));
    }

    #[tokio::test]
    async fn what_a_lost_answer_may_have_applied_is_unknown_when_the_retry_fails_whole() {
        for status in [400, 409, 413] {
            let (lost, _) = context(
                vec![
                    Ok((502, String::new())),
                    Ok((status, r#"{"detail":"no"}"#.into())),
                ],
                3,
            );
            let fresh = op(1, BulkMethod::Put, None, "/Users/y", &[]);
            let execution =
                execute(lost, 1, vec![op(0, BulkMethod::Put, None, "/Users/x", &[])]).await;
            assert!(
                matches!(&execution.outcomes[0].kind,
                    OutcomeKind::Unknown { reason: UnknownReason::RetryInconclusive { status: s, .. } } if *s == status),
                "{status}: {:?}",
                execution.outcomes[0]
            );
            // The same refusal of a first attempt is a failure.
            let (first, _) = context(vec![Ok((status, r#"{"detail":"no"}"#.into()))], 3);
            let execution = execute(first, 1, vec![fresh]).await;
            assert_eq!(
                execution.outcomes[0].kind.status(),
                Some(status),
                "{status}"
            );
            assert_eq!(execution.outcomes[0].kind.name(), "failed", "{status}");
        }
    }
}
