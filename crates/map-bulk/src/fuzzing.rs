//! Hooks for `cargo fuzz` (compiled only with `--cfg fuzzing`): the crate's fast readers
//! checked against serde_json on any text.

#![allow(clippy::panic, clippy::expect_used)]

use serde_json::value::RawValue;

use crate::correlate::LeanResponse;
use crate::job::source::JobOperation;

/// Panics if a fast reader accepts `text` where serde_json refuses it, or reads it otherwise.
pub fn check_fast_readers(text: &str) {
    if crate::scan::is_json_object(text) {
        let raw = serde_json::from_str::<&RawValue>(text);
        assert!(
            raw.is_ok_and(|raw| raw.get().trim_start().starts_with('{')),
            "is_json_object accepted {text:?}"
        );
    }
    if let Some(op) = crate::scan::borrow_operation(text) {
        let parsed: JobOperation = serde_json::from_str(text).expect("borrow_operation accepted");
        assert_eq!(op.method, parsed.method);
        assert_eq!(op.bulk_id.as_deref(), parsed.bulk_id.as_deref());
        assert_eq!(op.path.as_deref(), parsed.path.as_deref());
        assert_eq!(op.version.as_deref(), parsed.version.as_deref());
        assert_eq!(op.data, parsed.data.as_deref().map(RawValue::get));
    }
    if let Some(fast) = crate::scan::scan_response(text, 0) {
        let slow: LeanResponse<'_> = serde_json::from_str(text).expect("scan_response accepted");
        assert_eq!(fast.operations.len(), slow.operations.len());
        for (a, b) in fast.operations.iter().zip(&slow.operations) {
            assert_eq!(a.method.as_deref(), b.method.as_deref());
            assert_eq!(a.bulk_id.as_deref(), b.bulk_id.as_deref());
            assert_eq!(a.location.as_deref(), b.location.as_deref());
            assert_eq!(
                a.status.as_ref().map(|s| s.0),
                b.status.as_ref().map(|s| s.0)
            );
            assert_eq!(a.response.map(RawValue::get), b.response.map(RawValue::get));
        }
    }
}
