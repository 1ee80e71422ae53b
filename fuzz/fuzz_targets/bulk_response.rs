//! Any bytes as a BulkResponse: never a panic, and what is read writes back and reads again
//! to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use map_entities::BulkResponsePayload;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = serde_json::from_slice::<BulkResponsePayload>(data) {
        let written = serde_json::to_vec(&response).expect("a parsed response serializes");
        let again: BulkResponsePayload = serde_json::from_slice(&written).expect("written output reads back");
        assert_eq!(again, response);
        for op in &response.operations {
            let _ = op.status_code();
            let _ = op.resource_id();
            let _ = op.bulk_id_references();
        }
    }
});
