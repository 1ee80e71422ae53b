//! [`Plan`]: a job packed greedily, in input order, into requests within the limits.

use std::collections::{HashMap, HashSet};
use std::fmt;

use map_entities::BulkMethod;

use crate::job::source::{OperationRef, OperationSource, SourceError};
use crate::reference::{normalize_path, references};
use crate::validate::Limits;

/// The requests a job will be sent as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The requests, in order.
    pub requests: Vec<PlannedRequest>,
    /// Operations in the job.
    pub operations: u64,
    /// The `bulkId:X` references the job's operations make, in paths and in data. When there
    /// are none, [`Plan::substitutions`] has nothing to look for and does not read the job.
    pub references: u64,
}

/// One planned request: a run of consecutive operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedRequest {
    /// The index of its first operation.
    pub first: u64,
    /// How many operations it carries.
    pub count: u64,
    /// Its operations' encoded size in bytes (references counted with their allowance).
    pub bytes: u64,
}

impl PlannedRequest {
    /// The index one past its last operation.
    pub fn end(&self) -> u64 {
        self.first + self.count
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} operation{} in {} request{}",
            self.operations,
            if self.operations == 1 { "" } else { "s" },
            self.requests.len(),
            if self.requests.len() == 1 { "" } else { "s" }
        )?;
        for (number, request) in self.requests.iter().enumerate() {
            writeln!(
                f,
                "  request {}: operations {}..{} ({} operations, {} bytes)",
                number + 1,
                request.first,
                request.end().saturating_sub(1),
                request.count,
                request.bytes
            )?;
        }
        Ok(())
    }
}

/// A reference the engine will replace with an id created by an earlier request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    /// The referring operation.
    pub index: u64,
    /// The request it travels in (from 1).
    pub request: u64,
    /// The referenced bulkId.
    pub bulk_id: String,
    /// The POST that defines it.
    pub defined_by: u64,
    /// The request that POST travels in (from 1).
    pub defined_in: u64,
}

impl fmt::Display for Substitution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "operation {} (request {}): bulkId:{} ← the id created by operation {} (request {})",
            self.index, self.request, self.bulk_id, self.defined_by, self.defined_in
        )
    }
}

impl Plan {
    /// The request (from 1) that carries operation `index`.
    pub fn request_of(&self, index: u64) -> Option<u64> {
        let position = self.requests.partition_point(|r| r.end() <= index);
        self.requests
            .get(position)
            .filter(|r| r.first <= index)
            .map(|_| position as u64 + 1)
    }

    /// Every reference of the job, read from `source`, that will be substituted with an id
    /// created by an earlier request (references within one request are left to the server).
    ///
    /// The job is read twice: first for the bulkIds referenced, then for where they are
    /// defined and used; only referenced bulkIds are remembered, so memory follows the
    /// references, not the size of the job. A job without references (as its plan counted
    /// them) is not read at all.
    pub fn substitutions(
        &self,
        source: &mut dyn OperationSource,
    ) -> Result<Vec<Substitution>, SourceError> {
        if self.references == 0 {
            return Ok(Vec::new());
        }
        let mut referenced: HashSet<String> = HashSet::new();
        source.visit(&mut |op| {
            if let Ok(op) = op {
                referenced.extend(references(&normal_path(&op), op.data));
            }
        })?;
        if referenced.is_empty() {
            return Ok(Vec::new());
        }
        let mut defined: HashMap<String, (u64, u64)> = HashMap::new();
        let mut found = Vec::new();
        let mut index = 0u64;
        source.visit(&mut |op| {
            let this = index;
            index += 1;
            let Ok(op) = op else { return };
            let request = self.request_of(this).unwrap_or(0);
            for bulk_id in references(&normal_path(&op), op.data) {
                if let Some(&(defined_by, defined_in)) = defined.get(&bulk_id)
                    && defined_in < request
                {
                    found.push(Substitution {
                        index: this,
                        request,
                        bulk_id,
                        defined_by,
                        defined_in,
                    });
                }
            }
            if let (BulkMethod::Post, Some(bulk_id)) = (op.method, op.bulk_id)
                && referenced.contains(bulk_id.as_ref())
            {
                defined.insert(bulk_id.into_owned(), (this, request));
            }
        })?;
        Ok(found)
    }
}

/// An operation's path as the engine sends it (or as it is, if it is not valid).
fn normal_path(op: &OperationRef<'_>) -> String {
    let path = op.path.as_deref().unwrap_or("");
    normalize_path(op.method, path)
        .map(|t| t.normalized.into_owned())
        .unwrap_or_else(|_| path.to_owned())
}

/// Packs `operations` operations, whose encoded sizes `sizes` yields in order, greedily.
/// Each of `spans` (sorted, disjoint, inclusive) must stay within one request; a span that
/// cannot is reported to `problem`. Sizes are read once, in order, and not kept.
pub(crate) fn plan_requests(
    sizes: impl IntoIterator<Item = u32>,
    operations: u64,
    spans: &[(u64, u64)],
    limits: Limits,
    problem: &mut dyn FnMut(u64, u64, &str),
) -> Plan {
    let max_operations = limits.max_operations as u64;
    let max_bytes = limits.operation_bytes() as u64;
    let mut plan = Plan {
        requests: Vec::new(),
        operations,
        references: 0,
    };
    let mut sizes = sizes.into_iter();
    let mut current = PlannedRequest {
        first: 0,
        count: 0,
        bytes: 0,
    };
    let mut spans = spans.iter().peekable();
    let mut index = 0u64;
    while index < plan.operations {
        let group_end = match spans.peek() {
            Some(&&(start, end)) if start == index => {
                spans.next();
                end
            }
            _ => index,
        };
        let group_count = group_end - index + 1;
        let group_bytes: u64 = sizes
            .by_ref()
            .take((group_count) as usize)
            .map(u64::from)
            .sum();
        if group_count > 1 && (group_count > max_operations || group_bytes > max_bytes) {
            problem(
                index,
                group_end,
                &format!(
                    "must travel in one request (a bulkId is referenced before its POST) but are {group_count} operations of {group_bytes} bytes, over the limits of {max_operations} operations and {max_bytes} bytes"
                ),
            );
        }
        let fits = current.count + group_count <= max_operations
            && current.bytes + group_bytes <= max_bytes;
        if !fits && current.count > 0 {
            plan.requests.push(current);
            current = PlannedRequest {
                first: index,
                count: 0,
                bytes: 0,
            };
        }
        current.count += group_count;
        current.bytes += group_bytes;
        index = group_end + 1;
    }
    if current.count > 0 {
        plan.requests.push(current);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_operations: usize, operation_bytes: usize) -> Limits {
        Limits {
            max_operations,
            max_payload_bytes: operation_bytes + crate::encode::ENVELOPE_RESERVE,
        }
    }

    fn runs(plan: &Plan) -> Vec<(u64, u64)> {
        plan.requests.iter().map(|r| (r.first, r.count)).collect()
    }

    #[test]
    fn packs_greedily_by_count_and_bytes() {
        let mut none = |_: u64, _: u64, m: &str| panic!("{m}");
        let plan = plan_requests([10; 7], 7, &[], limits(3, 1000), &mut none);
        assert_eq!(runs(&plan), [(0, 3), (3, 3), (6, 1)]);
        let plan = plan_requests([40, 40, 40, 10, 50], 5, &[], limits(10, 100), &mut none);
        assert_eq!(runs(&plan), [(0, 2), (2, 3)]);
    }

    #[test]
    fn spans_are_never_cut() {
        let mut none = |_: u64, _: u64, m: &str| panic!("{m}");
        // Operations 2..=4 reference each other: they move together to the next request.
        let plan = plan_requests([10; 6], 6, &[(2, 4)], limits(4, 1000), &mut none);
        assert_eq!(runs(&plan), [(0, 2), (2, 4)]);
        let mut reported = Vec::new();
        let plan = plan_requests([10; 6], 6, &[(0, 5)], limits(4, 1000), &mut |a, b, _| {
            reported.push((a, b))
        });
        assert_eq!(reported, [(0, 5)]);
        assert_eq!(plan.operations, 6);
    }
}
