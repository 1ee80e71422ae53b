//! [`Pages`](map_client::Pages) against a server that returns fewer resources than asked:
//! each page starts after what the previous one really returned, with and without prefetch,
//! so nothing is skipped or handed out twice.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use map_auth::Credentials;
use map_client::{Endpoint, Pipeline, ResourceClient};
use map_entities::SearchRequestParameter;
use map_transport::transport_fn;
use serde_json::json;

const TOTAL: u64 = 23;

/// Serves users `u1`..`u23`, at most `cap` per page whatever `count` asks (7 by default),
/// and records each `startIndex` asked for.
fn capped_server(cap: u64) -> (ResourceClient, Arc<Mutex<Vec<u64>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let transport = transport_fn(move |request: http::Request<Bytes>| {
        let log = log.clone();
        async move {
            let param = |name: &str| {
                url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.parse::<u64>().unwrap())
            };
            let start = param("startIndex").unwrap_or(1);
            let count = param("count").unwrap_or(7).min(cap);
            log.lock().unwrap().push(start);
            let resources: Vec<_> = (start..(start + count).min(TOTAL + 1))
                .map(|n| json!({"id": format!("u{n}"), "userName": format!("User {n}")}))
                .collect();
            let page = json!({
                "totalResults": TOTAL, "startIndex": start,
                "itemsPerPage": resources.len(), "Resources": resources
            });
            Ok(http::Response::new(Bytes::from(page.to_string())))
        }
    });
    let pipeline = Pipeline::new(
        Endpoint::new("https://map.example").unwrap(),
        Arc::new(transport),
    );
    let client = ResourceClient::new(pipeline, &Credentials::new("token", "secret"));
    (client, asked)
}

async fn ids(client: &ResourceClient, count: Option<u64>, prefetch: usize) -> Vec<String> {
    let query = SearchRequestParameter {
        count,
        ..Default::default()
    };
    client
        .users()
        .search(query)
        .prefetch(prefetch)
        .into_stream()
        .map(|user| user.unwrap().id.unwrap())
        .collect()
        .await
}

fn all() -> Vec<String> {
    (1..=TOTAL).map(|n| format!("u{n}")).collect()
}

#[tokio::test]
async fn fewer_than_asked_moves_the_next_page_not_the_results() {
    for prefetch in [0, 1, 4] {
        let (client, asked) = capped_server(5);
        assert_eq!(
            ids(&client, Some(10), prefetch).await,
            all(),
            "prefetch {prefetch}"
        );
        // Each page started right after the one before it, and once the first page showed
        // the server's size, nothing was requested in vain.
        let mut asked = asked.lock().unwrap().clone();
        asked.sort_unstable();
        assert_eq!(asked, [1, 6, 11, 16, 21], "prefetch {prefetch}");
    }
}

#[tokio::test]
async fn the_server_default_page_size_is_learned_from_the_first_page() {
    let (client, asked) = capped_server(u64::MAX);
    assert_eq!(ids(&client, None, 2).await, all());
    assert_eq!(*asked.lock().unwrap(), [1, 8, 15, 22]);
}

#[tokio::test]
async fn one_page_at_a_time_asks_for_each_page_once() {
    let (client, asked) = capped_server(u64::MAX);
    assert_eq!(ids(&client, Some(10), 0).await, all());
    assert_eq!(*asked.lock().unwrap(), [1, 11, 21]);
}

#[tokio::test]
async fn numbers_at_the_end_of_u64_end_the_search_instead_of_overflowing() {
    // A server that claims u64::MAX results and always returns three.
    let transport = transport_fn(|_: http::Request<Bytes>| async {
        let page = json!({
            "totalResults": u64::MAX,
            "Resources": [{"id": "a"}, {"id": "b"}, {"id": "c"}]
        });
        Ok(http::Response::new(Bytes::from(page.to_string())))
    });
    let pipeline = Pipeline::new(
        Endpoint::new("https://map.example").unwrap(),
        Arc::new(transport),
    );
    let client = ResourceClient::new(pipeline, &Credentials::new("token", "secret"));
    let query = SearchRequestParameter {
        start_index: Some(u64::MAX - 4),
        count: Some(u64::MAX),
        ..Default::default()
    };
    let found: Vec<_> = client
        .users()
        .search(query)
        .prefetch(usize::MAX)
        .into_stream()
        .collect()
        .await;
    // From u64::MAX - 4: a page of three, then one from u64::MAX - 1, and the numbers end.
    assert_eq!(found.len(), 6);
    assert!(found.iter().all(Result::is_ok));
}
