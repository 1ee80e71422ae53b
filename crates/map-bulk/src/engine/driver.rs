//! [`Driver`]: takes a job's planned requests in order and sees each through: what an earlier
//! run settled is reported from the journal, references are resolved through the
//! [`Ledger`], a request waits for [`Admission`] and for what it depends on, is sent by
//! [`InFlight`], and its outcomes go to the [`Reporter`].

use std::collections::HashSet;
use std::sync::Arc;

use map_entities::BulkMethod;

use super::in_flight::InFlight;
use super::ledger::{Ledger, resolve_request};
use super::operation::{Operation, resource_key};
use super::reporter::Reporter;
use super::request::{Execution, RequestContext};
use super::resend::may_send_again_after_lost_answer;
use super::stop::JobStop;
use crate::event::Event;
use crate::job::second_pass::SecondPass;
use crate::journal::Restored;
use crate::outcome::{Outcome, OutcomeKind, SkipReason, Summary, UnknownReason};
use crate::plan::Plan;
use crate::reference::references;
use crate::validate::JobIndex;

/// Sends a job's requests and settles every operation once.
pub(crate) struct Driver {
    pub(crate) index: JobIndex,
    /// Whether an operation may hold a `bulkId:` reference. Not when the first pass found none
    /// and the second pass reads texts checked to be the ones it validated.
    pub(crate) may_refer: bool,
    pub(crate) context: Arc<RequestContext>,
    /// What referenced POSTs came to.
    pub(crate) ledger: Ledger,
    pub(crate) reporter: Reporter,
    pub(crate) in_flight: InFlight,
    pub(crate) error_budget: Option<u64>,
    pub(crate) stopped: Option<JobStop>,
    /// Once interrupted, nothing more is sent.
    pub(crate) interrupt: super::interrupt::Interrupt,
    /// What an earlier run recorded in the journal.
    pub(crate) restored: Restored,
    /// Operations settled from the journal.
    pub(crate) resumed: u64,
}

impl Driver {
    /// Sends every planned request of `plan`, its operations read from the second pass, and
    /// waits until all have settled.
    pub(crate) async fn send(&mut self, plan: &Plan, operations: &mut SecondPass<'_>) {
        for (number, planned) in plan.requests.iter().enumerate() {
            let mut batch = Vec::with_capacity(planned.count as usize);
            for index in planned.first..planned.end() {
                match operations.next() {
                    Some(Ok(op)) => batch.push(Operation::read(index, op)),
                    Some(Err(message)) => self.reporter.settle_unread(index, message),
                    None => self.reporter.settle_unread(
                        index,
                        "the input ended before it (it changed since it was validated)".to_owned(),
                    ),
                }
            }
            self.launch(number as u64 + 1, batch).await;
        }
        while self.complete_one().await {}
    }

    /// Sends `batch` (operations as read, see [`Operation::read`]) as request `request`.
    pub(crate) async fn launch(&mut self, request: u64, batch: Vec<Operation>) {
        let mut staged = self.restore(batch);
        if staged.is_empty() {
            self.reporter.flush();
            return;
        }
        let local_posts = self.find_references(&mut staged);
        let keys: Vec<String> = staged.iter().filter_map(resource_key).collect();
        self.wait_until_free(&staged, &local_posts, &keys).await;
        if self.stopped.is_none() && self.interrupt.is_interrupted() {
            tracing::warn!("the job was interrupted: no new request is sent");
            self.stopped = Some(JobStop::Interrupted);
        }
        let ready = match local_posts {
            Some(local_posts) => self.resolve_or_skip(staged, |r| local_posts.contains(r)),
            None if self.stopped.is_some() => self.resolve_or_skip(staged, |_| false),
            // Nothing to resolve or skip: the usual case.
            None => staged,
        };
        self.reporter.flush();
        if ready.is_empty() {
            return;
        }
        // Written ahead: if it cannot be, the request is not sent.
        if let Err(error) = self
            .reporter
            .record_sending(request, ready.iter().map(|op| op.index))
        {
            self.stop_for_journal(&error);
            self.skip_all(ready, &SkipReason::JournalUnwritable);
            return;
        }
        let bulk_ids = ready
            .iter()
            .filter(|op| op.method == BulkMethod::Post)
            .filter_map(|op| op.bulk_id.as_deref())
            .filter(|b| self.index.is_referenced(b))
            .map(str::to_owned)
            .collect();
        let context = self.context.clone();
        self.in_flight
            .start(context, request, ready, keys, bulk_ids);
        self.report_in_flight();
    }

    fn report_in_flight(&self) {
        self.reporter.event(&Event::InFlight {
            requests: self.in_flight.len(),
            limit: self.context.pace.limit(),
        });
    }

    /// Finds each operation's references (validation guarantees they are well-formed) and
    /// returns the bulkIds POSTed in the same request, or `None` when nothing refers to any.
    fn find_references(&self, staged: &mut [Operation]) -> Option<HashSet<String>> {
        if !self.may_refer {
            return None;
        }
        let mut any = false;
        for op in staged.iter_mut() {
            op.local_refs = references(&op.path, op.data.as_deref());
            any |= !op.local_refs.is_empty();
        }
        any.then(|| {
            staged
                .iter()
                .filter(|op| op.method == BulkMethod::Post)
                .filter_map(|op| op.bulk_id.clone())
                .collect()
        })
    }

    /// Waits until every POST of another request that `staged` refers to has settled, no
    /// request in flight changes the same resources, and admission lets one more go.
    async fn wait_until_free(
        &mut self,
        staged: &[Operation],
        local_posts: &Option<HashSet<String>>,
        keys: &[String],
    ) {
        let is_local = |r: &String| local_posts.as_ref().is_some_and(|l| l.contains(r));
        loop {
            let waits_on_creator = staged
                .iter()
                .flat_map(|op| &op.local_refs)
                .any(|r| !is_local(r) && self.in_flight.creates(r));
            if self.interrupt.is_interrupted()
                || !waits_on_creator
                    && !self.in_flight.touches(keys)
                    && self.context.pace.admits(self.in_flight.len())
            {
                return;
            }
            if !self.complete_one().await {
                return;
            }
        }
    }

    /// The operations of `staged` that can be sent, their references to earlier requests'
    /// POSTs replaced by the ids created; the others (all, once the job has stopped) settle as
    /// skipped. `in_request` tells the bulkIds POSTed in the same request.
    fn resolve_or_skip(
        &mut self,
        staged: Vec<Operation>,
        in_request: impl Fn(&str) -> bool,
    ) -> Vec<Operation> {
        if let Some(stop) = &self.stopped {
            let reason = stop.skip_reason();
            self.skip_all(staged, &reason);
            return Vec::new();
        }
        let index = &self.index;
        let (ready, skipped) = resolve_request(&mut self.ledger, staged, in_request, |bulk_id| {
            index.is_referenced(bulk_id)
        });
        for outcome in skipped {
            self.reporter.settle(outcome);
        }
        ready
    }

    /// Settles `op` as skipped for `reason`, and so whatever references it.
    fn skip(&mut self, op: Operation, reason: SkipReason) {
        let outcome = op.into_outcome(OutcomeKind::Skipped { reason });
        self.remember_post(&outcome);
        self.reporter.settle(outcome);
    }

    fn skip_all(&mut self, ops: Vec<Operation>, reason: &SkipReason) {
        for op in ops {
            self.skip(op, reason.clone());
        }
        self.reporter.flush();
    }

    /// Waits for one request in flight and settles its operations; false if none is in flight.
    pub(crate) async fn complete_one(&mut self) -> bool {
        let Some(execution) = self.in_flight.next().await else {
            return false;
        };
        self.settle_request(execution);
        self.report_in_flight();
        true
    }

    fn settle_request(&mut self, execution: Execution) {
        if self.stopped.is_none() {
            self.stopped = execution.stop;
        }
        // A request interrupted between its attempts stops the job as well, even when it was
        // the last: the job did not run to its end.
        if self.stopped.is_none() && execution.outcomes.iter().any(interrupted) {
            self.stopped = Some(JobStop::Interrupted);
        }
        if let Err(error) = self.reporter.record_settled(execution.outcomes.iter()) {
            self.stop_for_journal(&error);
        }
        let mut counts = Summary::default();
        let mut outcomes = execution.outcomes;
        for outcome in &mut outcomes {
            counts.count(&outcome.kind);
            self.remember_post(outcome);
            self.reporter.settle_in_place(outcome);
        }
        drop(outcomes);
        self.reporter.event(&Event::RequestSettled {
            request: execution.request,
            succeeded: counts.succeeded,
            failed: counts.failed,
            skipped: counts.skipped,
            unknown: counts.unknown,
        });
        let failed = self.reporter.summary().failed;
        if let (None, Some(budget)) = (&self.stopped, self.error_budget)
            && failed > budget
        {
            self.stopped = Some(JobStop::ErrorBudget { failed, budget });
        }
        self.reporter.flush();
    }

    /// Settles the operations of `batch` that an earlier run recorded in the journal, and
    /// those it left in flight that may not be sent again (`unknown`). Returns the rest, each
    /// marked if an earlier run may have applied it.
    fn restore(&mut self, batch: Vec<Operation>) -> Vec<Operation> {
        if self.restored.settled.is_empty() && self.restored.interrupted.is_empty() {
            // Nothing from an earlier run: the batch as it is, without moving it.
            return batch;
        }
        let mut rest = Vec::with_capacity(batch.len());
        for mut op in batch {
            let index = op.index;
            let earlier = self.restored.settled.take(index).unwrap_or_else(|error| {
                // The journal says it settled: whatever it was, it is not sent again.
                Some(op.outcome(OutcomeKind::Unknown {
                    reason: UnknownReason::JournalUnreadable {
                        detail: error.to_string(),
                    },
                }))
            });
            if let Some(outcome) = earlier {
                self.resumed += 1;
                self.remember_post(&outcome);
                self.reporter.settle(outcome);
            } else if !self.restored.interrupted.remove(&index) {
                rest.push(op);
            } else if may_send_again_after_lost_answer(op.method) {
                op.after_ambiguous = true;
                rest.push(op);
            } else {
                self.settle_interrupted(op.into_outcome(OutcomeKind::Unknown {
                    reason: UnknownReason::Interrupted,
                }));
            }
        }
        self.reporter.flush();
        rest
    }

    /// Settles, and journals, an operation an earlier run left in flight.
    fn settle_interrupted(&mut self, outcome: Outcome) {
        if let Err(error) = self.reporter.record_settled(std::iter::once(&outcome)) {
            self.stop_for_journal(&error);
        }
        self.remember_post(&outcome);
        self.reporter.settle(outcome);
    }

    fn stop_for_journal(&mut self, error: &std::io::Error) {
        tracing::error!(%error, "the journal could not be written; stopping");
        if self.stopped.is_none() {
            self.stopped = Some(JobStop::Journal {
                detail: error.to_string(),
            });
        }
    }

    /// Keeps what a settled POST came to, if any operation references it.
    fn remember_post(&mut self, outcome: &Outcome) {
        if outcome
            .bulk_id
            .as_deref()
            .is_some_and(|bulk_id| self.index.is_referenced(bulk_id))
        {
            self.ledger.record_outcome(outcome);
        }
    }
}

/// Whether `outcome` settled so because the job was interrupted.
fn interrupted(outcome: &Outcome) -> bool {
    match &outcome.kind {
        OutcomeKind::Skipped {
            reason: SkipReason::Interrupted,
        } => true,
        OutcomeKind::Unknown {
            reason: UnknownReason::RetriesGaveUp { give_up, .. },
        } => matches!(give_up, map_client::GiveUp::Interrupted { .. }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use super::super::test_support::{context, op};
    use super::*;
    use crate::event::EventHandler;
    use crate::validate::hash;

    fn driver(
        context: Arc<RequestContext>,
        referenced: &[&str],
    ) -> (Driver, Arc<Mutex<Vec<Outcome>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let events: EventHandler = Arc::new(move |event: &Event<'_>| {
            if let Event::OperationSettled(outcome) = event {
                sink.lock().unwrap().push((*outcome).clone());
            }
        });
        let mut referenced: Vec<u64> = referenced.iter().map(|r| hash(r)).collect();
        referenced.sort_unstable();
        let driver = Driver {
            index: JobIndex {
                referenced,
                text_facts: None,
            },
            may_refer: true,
            context,
            ledger: Ledger::default(),
            reporter: Reporter::new(events, None),
            in_flight: InFlight::default(),
            error_budget: None,
            stopped: None,
            interrupt: Default::default(),
            restored: Restored::default(),
            resumed: 0,
        };
        (driver, seen)
    }

    #[tokio::test]
    async fn a_request_waits_for_the_post_it_references_and_is_sent_with_its_id() {
        let created = serde_json::json!({
            "schemas": [map_entities::BULK_RESPONSE_SCHEMA],
            "Operations": [{"method": "POST", "bulkId": "u1", "status": "201",
                            "location": "https://map.example/api/v2/Users/new-1"}]
        });
        let patched = serde_json::json!({
            "schemas": [map_entities::BULK_RESPONSE_SCHEMA],
            "Operations": [{"method": "PATCH", "status": "200",
                            "location": "https://map.example/api/v2/Groups/g"}]
        });
        let (context, sent) = context(
            vec![
                Ok((200, created.to_string())),
                Ok((200, patched.to_string())),
            ],
            1,
        );
        let (mut driver, seen) = driver(context, &["u1"]);
        let mut patch = op(1, BulkMethod::Patch, None, "/Groups/g", &[]);
        patch.data = Some(r#"{"value":"bulkId:u1"}"#.into());
        driver
            .launch(1, vec![op(0, BulkMethod::Post, Some("u1"), "/Users", &[])])
            .await;
        // Room for two in flight, but the second refers to the first's POST: it waits.
        driver.launch(2, vec![patch]).await;
        while driver.complete_one().await {}
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(
            seen.iter().all(|o| o.kind.name() == "succeeded"),
            "{seen:?}"
        );
        let sent = sent.lock().unwrap();
        assert!(sent[1].contains(r#""value":"new-1""#), "{}", sent[1]);
    }

    #[tokio::test]
    async fn once_interrupted_the_request_in_flight_settles_and_nothing_more_is_sent() {
        let created = serde_json::json!({
            "schemas": [map_entities::BULK_RESPONSE_SCHEMA],
            "Operations": [{"method": "POST", "bulkId": "u1", "status": "201",
                            "location": "https://map.example/api/v2/Users/new-1"}]
        });
        let (context, sent) = context(vec![Ok((200, created.to_string()))], 2);
        let (mut driver, seen) = driver(context, &[]);
        driver
            .launch(1, vec![op(0, BulkMethod::Post, Some("u1"), "/Users", &[])])
            .await;
        driver.interrupt.interrupt();
        driver
            .launch(2, vec![op(1, BulkMethod::Delete, None, "/Groups/g", &[])])
            .await;
        while driver.complete_one().await {}
        assert_eq!(driver.stopped, Some(JobStop::Interrupted));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].kind.name(), "succeeded", "{seen:?}");
        assert_eq!(
            seen[1].kind,
            OutcomeKind::Skipped {
                reason: SkipReason::Interrupted
            }
        );
        assert_eq!(sent.lock().unwrap().len(), 1, "only the request in flight");
    }

    #[tokio::test]
    async fn once_the_job_has_stopped_nothing_more_is_sent() {
        let (context, sent) = context(Vec::new(), 1);
        let (mut driver, seen) = driver(context, &[]);
        driver.stopped = Some(JobStop::ErrorBudget {
            failed: 3,
            budget: 2,
        });
        let batch = vec![
            op(0, BulkMethod::Put, None, "/Users/a", &[]),
            op(1, BulkMethod::Delete, None, "/Groups/g", &[]),
        ];
        driver.launch(1, batch).await;
        assert!(!driver.complete_one().await, "nothing in flight");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|o| o.kind
            == OutcomeKind::Skipped {
                reason: SkipReason::ErrorBudgetExhausted
            }));
        assert!(sent.lock().unwrap().is_empty());
    }
}
