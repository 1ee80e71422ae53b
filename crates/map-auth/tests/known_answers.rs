//! `compute_signature` against vectors produced by an independent implementation (Python's
//! hashlib; the command is recorded in the fixture), UTF-8 and empty inputs included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use map_auth::{compute_signature, verify_signature};
use serde_json::Value;

#[test]
fn matches_independent_vectors() {
    let text = include_str!("fixtures/signature_known_answers.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    let vectors = fixture["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 8);
    for vector in vectors {
        let field = |name: &str| vector[name].as_str().unwrap();
        let (secret, token, time_stamp) = (
            field("client_secret"),
            field("access_token"),
            field("time_stamp"),
        );
        let expected = field("signature");
        assert_eq!(
            compute_signature(secret, token, time_stamp),
            expected,
            "{vector}"
        );
        assert!(verify_signature(secret, token, time_stamp, expected));
    }
}

#[test]
fn order_matters_and_there_is_no_separator() {
    // secret + token + time stamp, nothing between: moving a character across a boundary
    // gives the same signature, swapping the parts does not.
    assert_eq!(
        compute_signature("ab", "c", "1"),
        compute_signature("a", "bc", "1")
    );
    assert_ne!(
        compute_signature("s", "t", "1"),
        compute_signature("t", "s", "1")
    );
}
