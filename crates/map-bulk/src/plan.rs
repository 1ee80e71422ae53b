//! [`Plan`]: a job packed greedily, in input order, into requests within the limits.

use std::fmt;

use crate::validate::Limits;

/// The requests a job will be sent as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The requests, in order.
    pub requests: Vec<PlannedRequest>,
    /// Operations in the job.
    pub operations: u64,
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
            "{} operations in {} requests",
            self.operations,
            self.requests.len()
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

/// Packs operations of `sizes` greedily in order. Each of `spans` (sorted, disjoint,
/// inclusive) must stay within one request; a span that cannot is reported to `problem`.
pub(crate) fn plan_requests(
    sizes: &[u32],
    spans: &[(u64, u64)],
    limits: Limits,
    problem: &mut dyn FnMut(u64, u64, &str),
) -> Plan {
    let max_operations = limits.max_operations as u64;
    let max_bytes = limits.operation_bytes() as u64;
    let mut plan = Plan {
        requests: Vec::new(),
        operations: sizes.len() as u64,
    };
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
        let group_bytes: u64 = sizes[index as usize..=group_end as usize]
            .iter()
            .map(|&s| u64::from(s))
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
        let plan = plan_requests(&[10; 7], &[], limits(3, 1000), &mut none);
        assert_eq!(runs(&plan), [(0, 3), (3, 3), (6, 1)]);
        let plan = plan_requests(&[40, 40, 40, 10, 50], &[], limits(10, 100), &mut none);
        assert_eq!(runs(&plan), [(0, 2), (2, 3)]);
    }

    #[test]
    fn spans_are_never_cut() {
        let mut none = |_: u64, _: u64, m: &str| panic!("{m}");
        // Operations 2..=4 reference each other: they move together to the next request.
        let plan = plan_requests(&[10; 6], &[(2, 4)], limits(4, 1000), &mut none);
        assert_eq!(runs(&plan), [(0, 2), (2, 4)]);
        let mut reported = Vec::new();
        let plan = plan_requests(&[10; 6], &[(0, 5)], limits(4, 1000), &mut |a, b, _| {
            reported.push((a, b))
        });
        assert_eq!(reported, [(0, 5)]);
        assert_eq!(plan.operations, 6);
    }
}
