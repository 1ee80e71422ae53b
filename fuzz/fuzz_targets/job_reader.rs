//! Any bytes as a job file (BulkRequest, JSON array or NDJSON): reading, validating and
//! planning never panic, a valid plan covers every operation exactly once, and every operation
//! of a job that validated reads with serde_json too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use map_bulk::{JobReader, Limits, plan_job};

fuzz_target!(|data: &[u8]| {
    let mut reader = JobReader::from_bytes(data.to_vec());
    let limits = Limits { max_operations: 3, max_payload_bytes: 4096 };
    if let Ok(plan) = plan_job(&mut reader, limits) {
        let mut next = 0;
        for request in &plan.requests {
            assert_eq!(request.first, next);
            assert!(request.count >= 1 && request.count <= 3);
            next = request.end();
        }
        assert_eq!(next, plan.operations);
        // Whatever the fast first pass accepted, serde_json reads too.
        if let Ok(operations) = map_bulk::OperationSource::operations(&mut reader) {
            for operation in operations {
                assert!(operation.is_ok(), "validated, but serde_json says {operation:?}");
            }
        }
        let _ = plan.substitutions(&mut reader);
    }
});
