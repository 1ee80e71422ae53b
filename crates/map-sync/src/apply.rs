//! [`apply`]: a plan carried out by `map-bulk`'s engine, with all its guarantees (limits,
//! `bulkId` references across requests, retries that never duplicate a POST, one outcome
//! per operation, the journal), and each change's [`ChangeResult`] read from its outcome.

use std::sync::{Arc, Mutex};

use map_bulk::{
    Engine, Event, EventHandler, JobInputError, JobReader, JobReport, Journal, Outcome,
    OutcomeKind, SkipReason,
};

use crate::operations::operations;
use crate::plan::Plan;

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeResult {
    /// mAP Core applied it; a create gives the new resource's id.
    Succeeded {
        /// The resource's id, when the server gave one.
        id: Option<String>,
        /// Whether this was learned by reading the resource back ([`crate::settle`])
        /// after no answer came.
        read_back: bool,
    },
    /// mAP Core refused it, or reading it back showed it was not applied.
    NotApplied {
        /// Why, as the engine reports it (or as reading back found it).
        reason: String,
    },
    /// It was not sent: a dependency did not succeed, the job stopped first.
    Skipped {
        /// Why, as the engine reports it.
        reason: SkipReason,
    },
    /// No answer came back: it may have been applied.
    Unknown {
        /// Why it is not known.
        reason: String,
    },
}

impl ChangeResult {
    fn of(outcome: &Outcome) -> Self {
        match &outcome.kind {
            OutcomeKind::Succeeded { id, .. } => ChangeResult::Succeeded {
                id: id.clone(),
                read_back: false,
            },
            OutcomeKind::Unknown { reason } => ChangeResult::Unknown {
                reason: reason.to_string(),
            },
            OutcomeKind::Failed { message, .. } => ChangeResult::NotApplied {
                reason: message.clone(),
            },
            OutcomeKind::Skipped { reason } => ChangeResult::Skipped {
                reason: reason.clone(),
            },
            _ => ChangeResult::Unknown {
                reason: "an outcome this version does not know".into(),
            },
        }
    }
}

/// The plan as a job the engine reads: one NDJSON line per operation.
pub fn job(plan: &Plan) -> JobReader {
    let mut bytes = Vec::new();
    for operation in operations(plan) {
        // Our own model serializes without error. Were one not to, its line stays (so that
        // operation n is still change n) as `{}`, which validation refuses, naming it: the
        // job is refused whole and nothing is sent.
        let line = serde_json::to_vec(&operation).unwrap_or_else(|_| b"{}".to_vec());
        bytes.extend_from_slice(&line);
        bytes.push(b'\n');
    }
    JobReader::from_bytes(bytes)
}

/// Carries out `plan` through `engine`, passing every event on to `events`, and gives the
/// report with one result per change, in the plan's order. With a `journal` (opened for
/// [`job`]`(plan)`), a run that was interrupted resumes where it stopped.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    events: EventHandler,
    journal: Option<Journal>,
) -> Result<(JobReport, Vec<ChangeResult>), JobInputError> {
    let results = Arc::new(Mutex::new(vec![None; plan.changes.len()]));
    let sink = results.clone();
    let forward: EventHandler = Arc::new(move |event: &Event<'_>| {
        if let Event::OperationSettled(outcome) = event {
            let mut results = sink.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = usize::try_from(outcome.index)
                .ok()
                .and_then(|i| results.get_mut(i))
            {
                *slot = Some(ChangeResult::of(outcome));
            }
        }
        events(event);
    });
    let mut source = job(plan);
    let report = match journal {
        Some(journal) => engine.run_journaled(&mut source, forward, journal).await?,
        None => engine.run(&mut source, forward).await?,
    };
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    let results = results
        .into_iter()
        .map(|r| {
            r.unwrap_or(ChangeResult::Unknown {
                reason: "the engine reported no outcome".into(),
            })
        })
        .collect();
    Ok((report, results))
}
