//! [`Ledger`]: what the POSTs that others reference came to, and the one [`Ledger::resolve`] of
//! an operation's `bulkId:` references — ids substituted, or the reason it is skipped.
//!
//! The job keeps one ledger of referenced POSTs across requests; a request keeps its own for
//! the POSTs it sends, when an attempt settles some of them (a lost answer, a 413 split).

use std::collections::HashMap;

use map_entities::BulkMethod;

use super::operation::Operation;
use crate::outcome::{Outcome, OutcomeKind, SkipReason};
use crate::reference::substitute;

/// What a referenced POST came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Created {
    /// It created the resource with this id.
    Id(String),
    /// It failed.
    Failed,
    /// It may or may not have been applied (or succeeded without saying which id).
    Unknown,
    /// It was not sent.
    Skipped,
}

impl Created {
    /// What `kind` means for the operations that reference its POST.
    pub(crate) fn of(kind: &OutcomeKind) -> Created {
        match kind {
            OutcomeKind::Succeeded { id: Some(id), .. } => Created::Id(id.clone()),
            OutcomeKind::Failed { .. } => Created::Failed,
            OutcomeKind::Skipped { .. } => Created::Skipped,
            _ => Created::Unknown,
        }
    }

    /// Why an operation referencing `bulk_id`, whose POST came to this, is skipped.
    fn blocks(&self, bulk_id: &str) -> Option<SkipReason> {
        let bulk_id = bulk_id.to_owned();
        match self {
            Created::Id(_) => None,
            Created::Failed => Some(SkipReason::DependencyFailed { bulk_id }),
            Created::Skipped => Some(SkipReason::DependencySkipped { bulk_id }),
            Created::Unknown => Some(SkipReason::DependencyUnknown { bulk_id }),
        }
    }
}

/// What settled POSTs came to, by `bulkId`.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    created: HashMap<String, Created>,
}

impl Ledger {
    /// Records what `bulk_id`'s POST came to.
    pub(crate) fn record(&mut self, bulk_id: &str, created: Created) {
        self.created.insert(bulk_id.to_owned(), created);
    }

    /// Records a settled operation, if it is a POST with a bulkId.
    pub(crate) fn record_outcome(&mut self, outcome: &Outcome) {
        if let (Some(bulk_id), BulkMethod::Post) = (&outcome.bulk_id, outcome.method) {
            self.record(bulk_id, Created::of(&outcome.kind));
        }
    }

    /// Resolves `op`'s outstanding references (`op.local_refs`) against what is recorded:
    /// ids created are substituted into its path and data, and the references to them
    /// dropped; a reference to a POST that failed, was skipped or is unknown gives the reason
    /// `op` is skipped. A reference not recorded here stays outstanding when `in_request`
    /// says its POST is sent with `op`; otherwise its outcome is unknown.
    pub(crate) fn resolve(
        &self,
        op: &mut Operation,
        in_request: impl Fn(&str) -> bool,
    ) -> Result<(), SkipReason> {
        let blocked = op
            .local_refs
            .iter()
            .find_map(|r| match self.created.get(r) {
                Some(created) => created.blocks(r),
                None if in_request(r) => None,
                None => Some(SkipReason::DependencyUnknown { bulk_id: r.clone() }),
            });
        if let Some(reason) = blocked {
            return Err(reason);
        }
        if op.local_refs.iter().any(|r| self.created.contains_key(r)) {
            let id = |bulk_id: &str| match self.created.get(bulk_id) {
                Some(Created::Id(id)) => Some(id.clone()),
                _ => None,
            };
            substitute(&mut op.path, &mut op.data, &id);
            op.local_refs.retain(|r| !self.created.contains_key(r));
        }
        Ok(())
    }
}

/// Resolves every operation of one request (see [`Ledger::resolve`]), those that reference a
/// POST of the same request that is itself skipped included, wherever in the request the two
/// lie: until no more are skipped. `in_request` tells the bulkIds POSTed in the request;
/// `records` which skipped POSTs to record (referenced ones; in a request's own ledger, all).
/// Returns the operations that may be sent, in order, and the outcomes of the skipped ones.
pub(crate) fn resolve_request(
    ledger: &mut Ledger,
    ops: Vec<Operation>,
    in_request: impl Fn(&str) -> bool,
    records: impl Fn(&str) -> bool,
) -> (Vec<Operation>, Vec<Outcome>) {
    let mut slots: Vec<Option<Operation>> = ops.into_iter().map(Some).collect();
    let mut skipped = Vec::new();
    loop {
        let mut recorded = false;
        for slot in &mut slots {
            let Some(op) = slot else { continue };
            let Err(reason) = ledger.resolve(op, &in_request) else {
                continue;
            };
            if let Some(op) = slot.take() {
                let outcome = op.into_outcome(OutcomeKind::Skipped { reason });
                if outcome.method == BulkMethod::Post
                    && outcome.bulk_id.as_deref().is_some_and(&records)
                {
                    ledger.record_outcome(&outcome);
                    recorded = true;
                }
                skipped.push(outcome);
            }
        }
        // A POST skipped now may be referenced by an operation before it: once more.
        if !recorded {
            break;
        }
    }
    (slots.into_iter().flatten().collect(), skipped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn referencing(path: &str, refs: &[&str]) -> Operation {
        Operation {
            index: 0,
            method: BulkMethod::Patch,
            bulk_id: None,
            path: path.to_owned(),
            version: None,
            data: Some(r#"{"value":"bulkId:a"}"#.to_owned()),
            local_refs: refs.iter().map(|r| (*r).to_owned()).collect(),
            after_ambiguous: false,
        }
    }

    #[test]
    fn created_ids_are_substituted_and_no_longer_outstanding() {
        let mut ledger = Ledger::default();
        ledger.record("a", Created::Id("u-1".into()));
        let mut op = referencing("/Groups/bulkId:a", &["a", "b"]);
        ledger.resolve(&mut op, |r| r == "b").unwrap();
        assert_eq!(op.path, "/Groups/u-1");
        assert_eq!(op.data.as_deref(), Some(r#"{"value":"u-1"}"#));
        assert_eq!(op.local_refs, ["b"], "b is sent in the same request");
    }

    #[test]
    fn a_reference_to_what_did_not_succeed_gives_the_skip_reason() {
        let mut ledger = Ledger::default();
        ledger.record("f", Created::Failed);
        ledger.record("s", Created::Skipped);
        ledger.record("u", Created::Unknown);
        let reason = |r: &str| ledger.resolve(&mut referencing("/Users/x", &[r]), |_| false);
        let id = |s: &str| s.to_owned();
        assert_eq!(
            reason("f"),
            Err(SkipReason::DependencyFailed { bulk_id: id("f") })
        );
        assert_eq!(
            reason("s"),
            Err(SkipReason::DependencySkipped { bulk_id: id("s") })
        );
        assert_eq!(
            reason("u"),
            Err(SkipReason::DependencyUnknown { bulk_id: id("u") })
        );
        assert_eq!(
            reason("never-seen"),
            Err(SkipReason::DependencyUnknown {
                bulk_id: id("never-seen")
            }),
            "a POST neither recorded nor in this request cannot have created anything"
        );
    }

    #[test]
    fn outcomes_record_only_posts_with_a_bulk_id() {
        let mut ledger = Ledger::default();
        let outcome = |method, bulk_id: Option<&str>| Outcome {
            index: 0,
            method,
            path: "/Users".into(),
            bulk_id: bulk_id.map(str::to_owned),
            kind: OutcomeKind::Failed {
                status: Some(409),
                error: None,
                message: "dup".into(),
            },
        };
        ledger.record_outcome(&outcome(BulkMethod::Put, Some("p")));
        ledger.record_outcome(&outcome(BulkMethod::Post, None));
        assert!(ledger.created.is_empty());
        ledger.record_outcome(&outcome(BulkMethod::Post, Some("a")));
        assert_eq!(ledger.created.get("a"), Some(&Created::Failed));
    }

    #[test]
    fn a_skipped_post_skips_what_references_it_even_before_it_in_the_request() {
        let mut ledger = Ledger::default();
        ledger.record("gone", Created::Failed);
        let mut post = referencing("/Groups", &["gone"]);
        post.method = BulkMethod::Post;
        post.bulk_id = Some("g".into());
        post.index = 1;
        let ops = vec![
            referencing("/Groups/bulkId:g", &["g"]),
            post,
            referencing("/Users/x", &[]),
        ];
        let (ready, skipped) = resolve_request(&mut ledger, ops, |r| r == "g", |_| true);
        assert_eq!(
            ready.len(),
            1,
            "only the operation that depends on nothing goes"
        );
        assert_eq!(ready[0].path, "/Users/x");
        let reasons: Vec<_> = skipped.iter().map(|o| (o.index, o.kind.clone())).collect();
        assert_eq!(
            reasons,
            [
                (
                    1,
                    OutcomeKind::Skipped {
                        reason: SkipReason::DependencyFailed {
                            bulk_id: "gone".into()
                        }
                    }
                ),
                (
                    0,
                    OutcomeKind::Skipped {
                        reason: SkipReason::DependencySkipped {
                            bulk_id: "g".into()
                        }
                    }
                ),
            ]
        );
    }
}
