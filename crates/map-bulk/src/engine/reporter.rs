//! [`Reporter`]: every settled operation reported once, in input order, counted, and (for a
//! journaled run) recorded in the journal.

use std::collections::BTreeMap;

use map_entities::BulkMethod;

use crate::event::{Event, EventHandler};
use crate::journal::Journal;
use crate::outcome::{Outcome, OutcomeKind, Summary};

/// Reports outcomes in input order, whatever order they settle in.
pub(crate) struct Reporter {
    events: EventHandler,
    /// Settled, waiting for an earlier operation to settle.
    pending: BTreeMap<u64, Outcome>,
    next_to_emit: u64,
    summary: Summary,
    journal: Option<Journal>,
}

impl Reporter {
    /// A reporter to `events`, writing to `journal` if there is one.
    pub(crate) fn new(events: EventHandler, journal: Option<Journal>) -> Self {
        Reporter {
            events,
            pending: BTreeMap::new(),
            next_to_emit: 0,
            summary: Summary::default(),
            journal,
        }
    }

    /// Reports a job-level event.
    pub(crate) fn event(&self, event: &Event<'_>) {
        (self.events)(event);
    }

    /// The counts so far.
    pub(crate) fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Records ahead, in the journal, that `request` is about to send `indices`.
    pub(crate) fn record_sending(
        &mut self,
        request: u64,
        indices: impl Iterator<Item = u64>,
    ) -> std::io::Result<()> {
        match &mut self.journal {
            Some(journal) => journal.record_sending(request, indices),
            None => Ok(()),
        }
    }

    /// Records in the journal how `outcomes` settled (before they are reported).
    pub(crate) fn record_settled<'a>(
        &mut self,
        outcomes: impl Iterator<Item = &'a Outcome>,
    ) -> std::io::Result<()> {
        match &mut self.journal {
            Some(journal) => journal.record_settled(outcomes),
            None => Ok(()),
        }
    }

    /// Settles `outcome`.
    pub(crate) fn settle(&mut self, mut outcome: Outcome) {
        self.settle_in_place(&mut outcome);
    }

    /// Settles `outcome` where it lies: reported at once when it is next in input order (the
    /// usual case: it is not moved), otherwise taken out to wait its turn.
    pub(crate) fn settle_in_place(&mut self, outcome: &mut Outcome) {
        self.summary.count(&outcome.kind);
        if outcome.index == self.next_to_emit && self.pending.is_empty() {
            (self.events)(&Event::OperationSettled(outcome));
            self.next_to_emit += 1;
        } else {
            // What stays in the caller's buffer: never counted or reported.
            let placeholder = Outcome {
                index: outcome.index,
                method: outcome.method,
                path: String::new(),
                bulk_id: None,
                kind: OutcomeKind::Skipped {
                    reason: crate::outcome::SkipReason::JournalUnwritable,
                },
            };
            let waiting = std::mem::replace(outcome, placeholder);
            self.pending.insert(waiting.index, waiting);
        }
    }

    /// Settles an operation that could not be read back for sending.
    pub(crate) fn settle_unread(&mut self, index: u64, message: String) {
        self.settle(Outcome {
            index,
            method: BulkMethod::Post,
            path: String::new(),
            bulk_id: None,
            kind: OutcomeKind::Failed {
                status: None,
                error: None,
                message,
            },
        });
    }

    /// Reports what waited for the operations now settled.
    pub(crate) fn flush(&mut self) {
        while let Some(outcome) = self.pending.remove(&self.next_to_emit) {
            (self.events)(&Event::OperationSettled(&outcome));
            self.next_to_emit += 1;
        }
    }

    /// The summary, once every operation has been reported.
    pub(crate) fn finish(mut self) -> Summary {
        self.flush();
        self.summary
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::outcome::SkipReason;

    fn skipped(index: u64) -> Outcome {
        Outcome {
            index,
            method: BulkMethod::Delete,
            path: format!("/Groups/g{index}"),
            bulk_id: None,
            kind: OutcomeKind::Skipped {
                reason: SkipReason::ErrorBudgetExhausted,
            },
        }
    }

    #[test]
    fn outcomes_are_reported_in_input_order_and_counted_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let events: EventHandler = Arc::new(move |event: &Event<'_>| {
            if let Event::OperationSettled(outcome) = event {
                sink.lock()
                    .unwrap()
                    .push((outcome.index, outcome.path.clone()));
            }
        });
        let mut reporter = Reporter::new(events, None);
        for index in [2, 0, 3, 1] {
            reporter.settle(skipped(index));
            reporter.flush();
        }
        let summary = reporter.finish();
        let seen = seen.lock().unwrap().clone();
        let expected: Vec<_> = (0..4).map(|i| (i, format!("/Groups/g{i}"))).collect();
        assert_eq!(seen, expected);
        assert_eq!(summary.skipped, 4);
        assert_eq!(summary.total, 4);
    }
}
