//! Any bytes as a MapError: never a panic; recognised details name a part of the detail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use map_entities::{ErrorDetail, MapError};

fuzz_target!(|data: &[u8]| {
    if let Ok(error) = serde_json::from_slice::<MapError>(data) {
        let _ = error.status_code();
        if let (Some(detail), Some(kind)) = (error.detail.as_deref(), error.detail_kind()) {
            let named = match kind {
                ErrorDetail::NotFound(x)
                | ErrorDetail::DuplicateId(x)
                | ErrorDetail::AlreadyTied(x)
                | ErrorDetail::NoUpdateRights(x) => x,
            };
            assert!(detail.contains(named));
        }
        let written = serde_json::to_vec(&error).expect("serializes");
        assert_eq!(serde_json::from_slice::<MapError>(&written).expect("reads back"), error);
    }
});
