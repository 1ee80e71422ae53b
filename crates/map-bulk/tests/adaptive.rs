//! `Concurrency::Auto` against servers of random capacity and rate limit (in process, on
//! paused time, so that `Retry-After` seconds cost nothing): every operation gets one
//! outcome, every POST is applied exactly once, a throttled server is not hit again before
//! its `Retry-After`, and the limit never exceeds its maximum.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use map_auth::Credentials;
use map_bulk::{
    BulkClient, Concurrency, Endpoint, Engine, Event, EventHandler, JobConfig, Limits, OutcomeKind,
    RetryPolicy,
};
use map_entities::BulkOperation;
use map_transport::transport_fn;
use proptest::prelude::*;
use serde_json::{Value, json};
use tokio::time::Instant;

/// A bulk endpoint that processes `capacity` requests at once and `rate` a second, each in
/// `latency`; beyond either it answers 429 with `Retry-After` and applies nothing.
struct BusyServer {
    capacity: usize,
    rate: Option<f64>,
    latency: Duration,
    state: Mutex<ServerState>,
}

#[derive(Default)]
struct ServerState {
    in_flight: usize,
    most_in_flight: usize,
    tokens: f64,
    refilled: Option<Instant>,
    /// When the last 429 said to come back.
    come_back_at: Option<Instant>,
    /// Requests that arrived before the time a 429 gave.
    early: u64,
    throttled: u64,
    processed: u64,
    applied: HashMap<String, u64>,
}

impl BusyServer {
    /// Admits a request now, or the `Retry-After` seconds of its 429.
    fn admit(&self) -> Result<(), u64> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        if state.come_back_at.is_some_and(|at| now < at) {
            state.early += 1;
        }
        let refused = if state.in_flight >= self.capacity {
            Some(1)
        } else if let Some(rate) = self.rate {
            let burst = rate.max(1.0);
            let elapsed = state
                .refilled
                .map_or(burst / rate, |t| (now - t).as_secs_f64());
            state.tokens = (state.tokens + elapsed * rate).min(burst);
            state.refilled = Some(now);
            if state.tokens >= 1.0 {
                state.tokens -= 1.0;
                None
            } else {
                Some(((1.0 - state.tokens) / rate).ceil().max(1.0) as u64)
            }
        } else {
            None
        };
        if let Some(secs) = refused {
            state.throttled += 1;
            let at = now + Duration::from_secs(secs);
            state.come_back_at = Some(state.come_back_at.map_or(at, |a| a.max(at)));
            return Err(secs);
        }
        state.in_flight += 1;
        state.most_in_flight = state.most_in_flight.max(state.in_flight);
        Ok(())
    }

    /// Applies a BulkRequest body and answers it.
    fn apply(&self, body: &[u8]) -> Value {
        let text = String::from_utf8_lossy(body);
        let request: Value = serde_json::from_str(&text).unwrap();
        let mut state = self.state.lock().unwrap();
        state.in_flight -= 1;
        state.processed += 1;
        let results: Vec<Value> = request["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| {
                let bulk_id = op["bulkId"].as_str().unwrap_or_default().to_owned();
                *state.applied.entry(bulk_id.clone()).or_default() += 1;
                json!({"method": "POST", "bulkId": bulk_id, "status": "201",
                       "location": format!("https://map.example/api/v2/Users/id-{bulk_id}")})
            })
            .collect();
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": results})
    }
}

struct Run {
    outcomes: Vec<map_bulk::Outcome>,
    server: Arc<BusyServer>,
    highest_limit: usize,
}

fn run(operations: usize, per_request: usize, server: BusyServer, max: usize) -> Run {
    let server = Arc::new(server);
    let shared = server.clone();
    let transport = transport_fn(move |request: http::Request<Bytes>| {
        let server = shared.clone();
        async move {
            if let Err(secs) = server.admit() {
                let mut response = http::Response::new(Bytes::from_static(b"{}"));
                *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, secs.into());
                return Ok(response);
            }
            tokio::time::sleep(server.latency).await;
            let answer = server.apply(request.body());
            Ok(http::Response::new(Bytes::from(answer.to_string())))
        }
    });
    let client = BulkClient::new(
        Endpoint::new("https://map.example").unwrap(),
        Arc::new(transport),
    );
    let config = JobConfig {
        limits: Limits {
            max_operations: per_request,
            ..Limits::default()
        },
        concurrency: Concurrency::Auto { max },
        retry: RetryPolicy {
            max_attempts: 1000,
            max_elapsed: Duration::from_secs(24 * 3600),
            ..RetryPolicy::default()
        },
        ..JobConfig::default()
    };
    let highest = Arc::new(Mutex::new(0));
    let seen = highest.clone();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let sink = outcomes.clone();
    let events: EventHandler = Arc::new(move |event: &Event<'_>| match event {
        Event::InFlight { limit, .. } => {
            let mut highest = seen.lock().unwrap();
            *highest = (*highest).max(*limit);
        }
        Event::OperationSettled(outcome) => sink.lock().unwrap().push((*outcome).clone()),
        _ => {}
    });
    let mut job: Vec<BulkOperation> = (0..operations)
        .map(|n| {
            BulkOperation::post(
                "/Users",
                format!("u{n}"),
                json!({"userName": format!("user{n}")}),
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = Engine::new(client, &Credentials::new("token", "secret"), config)
            .with_retry_strategy(Arc::new(
                map_bulk::StandardRetry::new(RetryPolicy {
                    max_attempts: 1000,
                    max_elapsed: Duration::from_secs(24 * 3600),
                    ..RetryPolicy::default()
                })
                .with_budget(None)
                // Fixed jitter: the same case runs the same way every time.
                .with_random(Box::new(|| 0.5)),
            ));
        engine.run(&mut job, events).await.unwrap();
    });
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let highest_limit = *highest.lock().unwrap();
    Run {
        outcomes,
        server,
        highest_limit,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_operation_ends_once_and_each_post_is_applied_once(
        operations in 1usize..400,
        per_request in 1usize..60,
        capacity in 1usize..7,
        rate in proptest::option::of(1u32..20),
        latency_ms in 1u64..200,
        max in 1usize..10,
    ) {
        let server = BusyServer {
            capacity,
            rate: rate.map(f64::from),
            latency: Duration::from_millis(latency_ms),
            state: Mutex::new(ServerState::default()),
        };
        let Run { outcomes, server, highest_limit } = run(operations, per_request, server, max);
        let state = server.state.lock().unwrap();
        prop_assert_eq!(outcomes.len(), operations);
        for (position, outcome) in outcomes.iter().enumerate() {
            prop_assert_eq!(outcome.index, position as u64);
            prop_assert!(matches!(outcome.kind, OutcomeKind::Succeeded { .. }), "{:?}", outcome.kind);
        }
        prop_assert_eq!(state.applied.len(), operations);
        prop_assert!(state.applied.values().all(|&n| n == 1), "a POST applied twice");
        prop_assert!(highest_limit <= max, "limit {} above max {}", highest_limit, max);
        prop_assert!(state.most_in_flight <= max, "{} in flight, max {}", state.most_in_flight, max);
        prop_assert_eq!(state.early, 0, "a request came before the Retry-After it was given");
    }
}

#[test]
fn against_a_capacity_of_four_it_settles_at_four_after_few_throttles() {
    let server = BusyServer {
        capacity: 4,
        rate: None,
        latency: Duration::from_millis(150),
        state: Mutex::new(ServerState::default()),
    };
    let Run {
        outcomes, server, ..
    } = run(100_000, 500, server, 8);
    let state = server.state.lock().unwrap();
    assert_eq!(outcomes.len(), 100_000);
    assert_eq!(state.processed, 200);
    assert_eq!(state.most_in_flight, 4, "it found the capacity");
    assert!(
        state.throttled <= 10,
        "{} throttles for 200 requests",
        state.throttled
    );
}

#[test]
fn against_a_rate_of_five_a_second_few_requests_are_throttled() {
    let server = BusyServer {
        capacity: 100,
        rate: Some(5.0),
        latency: Duration::from_millis(150),
        state: Mutex::new(ServerState::default()),
    };
    let Run {
        outcomes, server, ..
    } = run(100_000, 500, server, 8);
    let state = server.state.lock().unwrap();
    assert_eq!(outcomes.len(), 100_000);
    assert_eq!(state.processed, 200);
    let sent = state.processed + state.throttled;
    assert!(
        state.throttled * 20 <= sent,
        "{} of {sent} requests throttled",
        state.throttled
    );
}
