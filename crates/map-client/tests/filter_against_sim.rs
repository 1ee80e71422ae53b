//! [`Filter`] against map-sim's filter parser: whatever a value holds (quotes, backslashes,
//! control characters, any script), the filter it builds finds exactly the user with that
//! userName, through the pipeline, signed, as a real search would.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use map_client::{BulkAnswer, BulkClient, Endpoint, Filter, Pipeline, ResourceClient};
use map_entities::{BulkOperation, MapUser, SearchRequestParameter};
use map_sim::{SimConfig, Simulator};
use map_transport::{HyperTransport, TransportConfig};
use proptest::prelude::*;
use serde_json::json;

struct World {
    runtime: tokio::runtime::Runtime,
    sim: Simulator,
    pipeline: Pipeline,
    created: AtomicU64,
}

impl World {
    fn new() -> World {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime
            .block_on(Simulator::start(SimConfig::default()))
            .unwrap();
        let transport = Arc::new(HyperTransport::new(TransportConfig::default()).unwrap());
        let pipeline = Pipeline::new(Endpoint::new(sim.base_url()).unwrap(), transport);
        World {
            runtime,
            sim,
            pipeline,
            created: AtomicU64::new(0),
        }
    }

    /// Creates a user named `name`, then searches with `Filter::eq("userName", name)`.
    fn create_and_find(&self, name: &str) -> Vec<MapUser> {
        let n = self.created.fetch_add(1, Ordering::Relaxed);
        let credentials = self.sim.credentials().clone();
        self.runtime.block_on(async {
            let client = BulkClient::on(self.pipeline.clone());
            let create = BulkOperation::post("/Users", format!("u{n}"), json!({"userName": name}));
            let answer = client.post(&[create], &credentials).await.unwrap();
            assert!(matches!(answer, BulkAnswer::Processed(_)), "{answer:?}");

            let resources = ResourceClient::new(self.pipeline.clone(), &credentials);
            let query = SearchRequestParameter {
                filter: Some(Filter::eq("userName", name).to_string()),
                ..Default::default()
            };
            let page = resources
                .users()
                .page(&query)
                .await
                .unwrap()
                .done()
                .unwrap();
            page.resources().to_vec()
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_filter_finds_exactly_the_value_it_was_built_from(
        suffix in r#"[a-z"\\'\t\n\u{1}()\[\] 名é]{0,12}"#,
    ) {
        static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
        let world = WORLD.get_or_init(World::new);
        // Unique per case, so that exactly one user may match.
        let name = format!("user{} {suffix}", world.created.load(Ordering::Relaxed));
        let found = world.create_and_find(&name);
        prop_assert_eq!(found.len(), 1, "{:?} found {:?}", name, found);
        prop_assert_eq!(found[0].user_name.as_deref(), Some(name.as_str()));
    }
}
