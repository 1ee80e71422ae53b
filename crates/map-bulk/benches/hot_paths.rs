//! Micro-benchmarks of the hot paths: writing a 1,000-operation request, reading a
//! 1,000-result response, and validating and planning a million operations.
//!
//! ```sh
//! cargo bench -p map-bulk --bench hot_paths
//! ```

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use map_bulk::{JobOperation, JobReader, Limits, encode_request, plan_job};
use map_entities::{BulkRequestPayload, BulkResponsePayload};

fn user_operation(i: u64) -> String {
    format!(
        r#"{{"method":"POST","bulkId":"u{i}","path":"/Users","data":{{"schemas":["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:User"],"userName":"user{i:07}","preferredLanguage":"ja","eduPersonPrincipalNames":[{{"value":"user{i:07}@idp.example.ac.jp"}}],"emails":[{{"value":"user{i:07}@example.ac.jp"}}]}}}}"#
    )
}

/// `count` operations as NDJSON, the way mapctl reads a file.
fn ndjson(count: u64) -> JobReader {
    let mut bytes = Vec::new();
    for i in 0..count {
        bytes.extend_from_slice(user_operation(i).as_bytes());
        bytes.push(b'\n');
    }
    JobReader::from_bytes(bytes)
}

fn requests(c: &mut Criterion) {
    let operations: Vec<JobOperation> = (0..1000)
        .map(|i| serde_json::from_str(&user_operation(i)).unwrap())
        .collect();
    let mut group = c.benchmark_group("request of 1,000 operations");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("encode_request (engine)", |b| {
        b.iter(|| black_box(encode_request(black_box(&operations), None)))
    });
    let payload: BulkRequestPayload =
        serde_json::from_slice(&encode_request(&operations, None)).unwrap();
    group.bench_function("BulkRequestPayload serialize (entities)", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&payload)).unwrap()))
    });
    group.finish();
}

fn responses(c: &mut Criterion) {
    let results: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"method":"POST","bulkId":"u{i}","location":"https://cg.gakunin.jp/api/v2/Users/{i:012x}","status":"201"}}"#))
        .collect();
    let body = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],"Operations":[{}]}}"#,
        results.join(",")
    );
    let mut group = c.benchmark_group("response of 1,000 results");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("BulkResponsePayload parse (entities)", |b| {
        b.iter(|| black_box(serde_json::from_str::<BulkResponsePayload>(black_box(&body)).unwrap()))
    });
    group.finish();
}

fn planning(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000_000));
    let mut job = ndjson(1_000_000);
    group.bench_function("validate and plan 1,000,000 NDJSON operations", |b| {
        b.iter(|| black_box(plan_job(&mut job, Limits::default()).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, requests, responses, planning);
criterion_main!(benches);
