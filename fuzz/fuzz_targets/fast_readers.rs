//! Any text through map-bulk's fast readers (the first pass's operation scanner, the data
//! checker, the answer scanner): each accepts only what serde_json accepts, and reads it alike.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        map_bulk::fuzzing::check_fast_readers(text);
    }
});
