//! [`Operation`]: one operation of a job as the engine carries it, from the moment it is read
//! until it settles as an [`Outcome`].

use map_entities::BulkMethod;
use serde::Deserialize;

use crate::correlate::SentOperation;
use crate::encode::OperationParts;
use crate::job::second_pass::ReadOp;
use crate::outcome::{Outcome, OutcomeKind};
use crate::reference::normalized;

/// An operation of a job: what is sent, and what the engine knows of it while it is in flight.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) index: u64,
    pub(crate) method: BulkMethod,
    pub(crate) bulk_id: Option<String>,
    pub(crate) path: String,
    pub(crate) version: Option<String>,
    /// JSON text.
    pub(crate) data: Option<String>,
    /// bulkIds POSTed in the same request that this operation references.
    pub(crate) local_refs: Vec<String>,
    pub(crate) after_ambiguous: bool,
}

impl Operation {
    /// Operation `index` as the second pass read it, its path normalised (validation
    /// guarantees it is well-formed), not yet checked for references or against the journal.
    pub(crate) fn read(index: u64, op: ReadOp) -> Self {
        let path = match op.path {
            Some(path) => match normalized(&path) {
                std::borrow::Cow::Borrowed(_) => path,
                std::borrow::Cow::Owned(fixed) => fixed,
            },
            None => String::new(),
        };
        Operation {
            index,
            method: op.method,
            bulk_id: op.bulk_id,
            path,
            version: op.version,
            data: op.data,
            local_refs: Vec::new(),
            after_ambiguous: false,
        }
    }

    pub(crate) fn into_outcome(self, kind: OutcomeKind) -> Outcome {
        Outcome {
            index: self.index,
            method: self.method,
            path: self.path,
            bulk_id: self.bulk_id,
            kind,
        }
    }

    /// No fewer bytes than it takes in a request body, escapes aside (the body's buffer grows
    /// for those).
    pub(crate) fn encoded_size_bound(&self) -> usize {
        let text = |field: &Option<String>| field.as_deref().map_or(0, str::len);
        64 + self.path.len() + text(&self.bulk_id) + text(&self.version) + text(&self.data)
    }

    /// What the response is matched against.
    pub(crate) fn sent(&self) -> SentOperation<'_> {
        SentOperation {
            method: self.method,
            bulk_id: self.bulk_id.as_deref(),
            after_ambiguous_attempt: self.after_ambiguous,
        }
    }

    /// The bytes it takes in a request body.
    pub(crate) fn parts(&self) -> OperationParts<'_> {
        OperationParts {
            method: self.method,
            bulk_id: self.bulk_id.as_deref(),
            path: &self.path,
            version: self.version.as_deref(),
            data: self.data.as_deref(),
        }
    }

    /// The outcome `kind`, for this operation.
    pub(crate) fn outcome(&self, kind: OutcomeKind) -> Outcome {
        Outcome {
            index: self.index,
            method: self.method,
            path: self.path.clone(),
            bulk_id: self.bulk_id.clone(),
            kind,
        }
    }
}

/// The resource an operation changes, if it is an existing or named one: requests that share
/// one never run at the same time.
pub(crate) fn resource_key(op: &Operation) -> Option<String> {
    let path = op.path.as_str();
    match op.method {
        BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete => Some(path.to_owned()),
        BulkMethod::Post => {
            // Groups and services may be created with a chosen id.
            if !(path == "/Groups" || path == "/Services") {
                return None;
            }
            #[derive(Deserialize)]
            struct WithId {
                id: Option<String>,
            }
            let id = serde_json::from_str::<WithId>(op.data.as_deref()?)
                .ok()?
                .id?;
            Some(format!("{path}/{id}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(method: BulkMethod, path: &str, data: Option<&str>) -> Operation {
        Operation {
            index: 0,
            method,
            bulk_id: None,
            path: path.to_owned(),
            version: None,
            data: data.map(str::to_owned),
            local_refs: Vec::new(),
            after_ambiguous: false,
        }
    }

    #[test]
    fn the_resource_an_operation_changes_is_its_path_or_the_id_it_chooses() {
        for method in [BulkMethod::Put, BulkMethod::Patch, BulkMethod::Delete] {
            let op = operation(method, "/Groups/lab-a", Some("{}"));
            assert_eq!(resource_key(&op).as_deref(), Some("/Groups/lab-a"));
        }
        let chosen = operation(BulkMethod::Post, "/Groups", Some(r#"{"id":"lab-a"}"#));
        assert_eq!(resource_key(&chosen).as_deref(), Some("/Groups/lab-a"));
        let service = operation(BulkMethod::Post, "/Services", Some(r#"{"id":"s1"}"#));
        assert_eq!(resource_key(&service).as_deref(), Some("/Services/s1"));
        // The server picks a new user's id, and a group without one: nothing to collide with.
        let user = operation(BulkMethod::Post, "/Users", Some(r#"{"id":"u"}"#));
        assert_eq!(resource_key(&user), None);
        let unnamed = operation(BulkMethod::Post, "/Groups", Some(r#"{"displayName":"A"}"#));
        assert_eq!(resource_key(&unnamed), None);
    }
}
