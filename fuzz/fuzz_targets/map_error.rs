//! Any bytes as a MapError: never a panic; recognised details name a part of the detail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use map_entities::MapError;

fuzz_target!(|data: &[u8]| {
    if let Ok(error) = serde_json::from_slice::<MapError>(data) {
        let _ = error.status_code();
        let _ = error.scim_type_kind();
        let _ = error.is_not_found();
        if let (Some(detail), Some(kind)) = (error.detail.as_deref(), error.detail_kind()) {
            assert!(detail.contains(kind.subject()));
            assert!(!kind.name().is_empty());
        }
        let written = serde_json::to_vec(&error).expect("serializes");
        assert_eq!(serde_json::from_slice::<MapError>(&written).expect("reads back"), error);
    }
});
