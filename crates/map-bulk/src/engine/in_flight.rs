//! [`InFlight`]: the requests being sent, what each of them holds (the resources it changes,
//! the referenced bulkIds it POSTs), and their operations, so that each settles even if its
//! task dies.

use std::collections::HashMap;
use std::sync::Arc;

use map_entities::BulkMethod;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::operation::Operation;
use super::request::{Execution, RequestContext, execute};
use crate::outcome::{Outcome, OutcomeKind, UnknownReason};

/// A request in flight, remembered so its operations settle even if its task dies.
struct Active {
    operations: Sent,
    bulk_ids: Vec<String>,
    keys: Vec<String>,
}

/// The operations of a request in flight, kept compactly (one buffer for all their paths and
/// bulkIds, not two strings each: this is on every request's path, and a dead task is rare).
#[derive(Default)]
struct Sent {
    operations: Vec<SentOperation>,
    text: String,
}

struct SentOperation {
    index: u64,
    method: BulkMethod,
    /// Where its path ends in `text` (it starts where the one before ends).
    path_end: usize,
    /// Where its bulkId ends in `text`, if it has one (it starts at `path_end`).
    bulk_id_end: Option<usize>,
}

impl Sent {
    fn of(ops: &[Operation]) -> Self {
        let mut sent = Sent {
            operations: Vec::with_capacity(ops.len()),
            text: String::with_capacity(ops.iter().map(|op| op.path.len() + 8).sum()),
        };
        for op in ops {
            sent.text.push_str(&op.path);
            let path_end = sent.text.len();
            let bulk_id_end = op.bulk_id.as_deref().map(|bulk_id| {
                sent.text.push_str(bulk_id);
                sent.text.len()
            });
            sent.operations.push(SentOperation {
                index: op.index,
                method: op.method,
                path_end,
                bulk_id_end,
            });
        }
        sent
    }

    /// Each operation, settled as `kind`.
    fn settle(&self, kind: &OutcomeKind) -> Vec<Outcome> {
        let mut start = 0;
        let mut outcomes = Vec::with_capacity(self.operations.len());
        for op in &self.operations {
            let end = op.bulk_id_end.unwrap_or(op.path_end);
            outcomes.push(Outcome {
                index: op.index,
                method: op.method,
                path: self.text[start..op.path_end].to_owned(),
                bulk_id: op
                    .bulk_id_end
                    .map(|_| self.text[op.path_end..end].to_owned()),
                kind: kind.clone(),
            });
            start = end;
        }
        outcomes
    }
}

/// The requests in flight.
#[derive(Default)]
pub(crate) struct InFlight {
    tasks: JoinSet<Execution>,
    active: HashMap<u64, Active>,
    /// Which request each task sends.
    requests: HashMap<tokio::task::Id, u64>,
    /// Referenced bulkIds POSTed by requests in flight.
    busy_bulk_ids: HashMap<String, u64>,
    /// Resources changed by requests in flight.
    busy_keys: HashMap<String, u64>,
}

impl InFlight {
    /// How many requests are in flight.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether a request in flight POSTs `bulk_id`.
    pub(crate) fn creates(&self, bulk_id: &str) -> bool {
        self.busy_bulk_ids.contains_key(bulk_id)
    }

    /// Whether a request in flight changes any of `keys`.
    pub(crate) fn touches(&self, keys: &[String]) -> bool {
        keys.iter().any(|k| self.busy_keys.contains_key(k))
    }

    /// Starts sending `ops` as request `request`, which changes the resources `keys` and POSTs
    /// the referenced `bulk_ids`.
    pub(crate) fn start(
        &mut self,
        context: Arc<RequestContext>,
        request: u64,
        ops: Vec<Operation>,
        keys: Vec<String>,
        bulk_ids: Vec<String>,
    ) {
        for bulk_id in &bulk_ids {
            self.busy_bulk_ids.insert(bulk_id.clone(), request);
        }
        for key in &keys {
            self.busy_keys.insert(key.clone(), request);
        }
        let active = Active {
            operations: Sent::of(&ops),
            bulk_ids,
            keys,
        };
        self.active.insert(request, active);
        let span = tracing::info_span!("bulk_request", request, operations = ops.len());
        let task = self
            .tasks
            .spawn(execute(context, request, ops).instrument(span));
        self.requests.insert(task.id(), request);
    }

    /// Waits for the next request to settle; `None` if none is in flight. A request whose
    /// task died settles its operations as unknown: they may have been sent.
    pub(crate) async fn next(&mut self) -> Option<Execution> {
        let execution = match self.tasks.join_next_with_id().await? {
            Ok((task, execution)) => {
                self.requests.remove(&task);
                execution
            }
            Err(error) => {
                let request = self.requests.remove(&error.id()).unwrap_or(0);
                let kind = OutcomeKind::Unknown {
                    reason: UnknownReason::TaskEnded {
                        detail: error.to_string(),
                    },
                };
                let outcomes = self
                    .active
                    .get(&request)
                    .map(|active| active.operations.settle(&kind));
                Execution {
                    request,
                    outcomes: outcomes.unwrap_or_default(),
                    stop: None,
                }
            }
        };
        self.release(execution.request);
        Some(execution)
    }

    /// Frees what `request` held.
    fn release(&mut self, request: u64) {
        let Some(active) = self.active.remove(&request) else {
            return;
        };
        for bulk_id in active.bulk_ids {
            self.busy_bulk_ids.remove(&bulk_id);
        }
        for key in active.keys {
            if self.busy_keys.get(&key) == Some(&request) {
                self.busy_keys.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::test_support::{context, op};
    use super::*;

    #[tokio::test]
    async fn a_request_whose_task_dies_settles_its_own_operations_and_frees_what_it_held() {
        // An empty script: the transport panics on the first attempt, ending the task.
        let (context, _) = context(Vec::new(), 1);
        let mut in_flight = InFlight::default();
        let ops = vec![
            op(4, BulkMethod::Put, None, "/Users/a", &[]),
            op(5, BulkMethod::Post, Some("u1"), "/Users", &[]),
        ];
        let keys = vec!["/Users/a".to_owned()];
        in_flight.start(context, 3, ops, keys.clone(), vec!["u1".to_owned()]);
        assert!(in_flight.touches(&keys) && in_flight.creates("u1"));
        assert_eq!(in_flight.len(), 1);

        let execution = in_flight.next().await.unwrap();
        assert_eq!(execution.request, 3);
        let settled: Vec<_> = execution
            .outcomes
            .iter()
            .map(|o| (o.index, o.path.as_str()))
            .collect();
        assert_eq!(settled, [(4, "/Users/a"), (5, "/Users")]);
        assert!(execution.outcomes.iter().all(|o| matches!(
            &o.kind,
            OutcomeKind::Unknown { reason: UnknownReason::TaskEnded { detail } } if !detail.is_empty()
        )));
        assert!(
            !in_flight.touches(&keys) && !in_flight.creates("u1"),
            "released"
        );
        assert!(in_flight.next().await.is_none());
    }
}
