//! Reads a mAP Core bulk response and prints one line per operation: what it did, how it
//! ended, and the id it created or the error mAP gave.
//!
//! ```text
//! cargo run -p map-entities --example read_bulk_response [FILE]
//! ```
//!
//! Without FILE it reads a response from the crate's own fixtures.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use map_entities::{BulkResponsePayload, OperationResponse};

const SAMPLE: &str =
    include_str!("../tests/fixtures/bulk_response_map_lowercase_operations_and_errors.json");

fn main() -> ExitCode {
    let text = match std::env::args().nth(1) {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("cannot read {path}: {error}");
                return ExitCode::from(2);
            }
        },
        None => SAMPLE.to_owned(),
    };
    let response: BulkResponsePayload = match serde_json::from_str(&text) {
        Ok(response) => response,
        Err(error) => {
            eprintln!("not a bulk response: {error}");
            return ExitCode::from(2);
        }
    };
    for (index, op) in response.operations.iter().enumerate() {
        let status = op.status.as_deref().unwrap_or("-");
        let subject = op.bulk_id.as_deref().or(op.path.as_deref()).unwrap_or("");
        let outcome = match &op.response {
            Some(OperationResponse::Error(error)) => {
                format!(
                    "error: {}",
                    error.detail.as_deref().unwrap_or("(no detail)")
                )
            }
            _ => match op.resource_id() {
                Some(id) => format!("id {id}"),
                None => String::new(),
            },
        };
        println!(
            "#{index} {:<6} {subject:<20} {status}  {outcome}",
            op.method
        );
    }
    println!(
        "{} operations; written back: {} bytes",
        response.operations.len(),
        serde_json::to_string(&response)
            .map(|s| s.len())
            .unwrap_or(0)
    );
    ExitCode::SUCCESS
}
