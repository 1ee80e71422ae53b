//! Every call of the resource client against map-sim, over both transports: what mAP Core
//! holds after each write, read back through the same client.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use futures_util::StreamExt;
use map_client::{Endpoint, Filter, Pipeline, Projection, ResourceAnswer, ResourceClient};
use map_entities::{MapGroup, MapService, MapUser, PatchOperation, SearchRequestParameter};
use map_sim::{SimConfig, Simulator};
use map_transport::{HyperTransport, ReqwestTransport, Transport, TransportConfig};
use serde_json::json;

fn transports() -> Vec<(&'static str, Arc<dyn Transport>)> {
    vec![
        (
            "reqwest",
            Arc::new(ReqwestTransport::new(TransportConfig::default()).unwrap()),
        ),
        (
            "hyper",
            Arc::new(HyperTransport::new(TransportConfig::default()).unwrap()),
        ),
    ]
}

async fn start() -> Simulator {
    let config = SimConfig::default().with_self_user(json!({
        "userName": "Operator",
        "eduPersonPrincipalNames": [{"value": "operator@example.ac.jp"}]
    }));
    Simulator::start(config).await.unwrap()
}

fn client(sim: &Simulator, transport: Arc<dyn Transport>) -> ResourceClient {
    let pipeline = Pipeline::new(Endpoint::new(sim.base_url()).unwrap(), transport);
    ResourceClient::new(pipeline, sim.credentials())
}

fn user(name: &str, eppn: &str) -> MapUser {
    serde_json::from_value(json!({
        "userName": name,
        "eduPersonPrincipalNames": [{"value": eppn}],
        "emails": [{"value": eppn}]
    }))
    .unwrap()
}

#[tokio::test]
async fn users_are_created_read_replaced_patched_and_found_by_eppn() {
    for (name, transport) in transports() {
        let sim = start().await;
        let client = client(&sim, transport);
        let users = client.users();

        let created = users
            .create(&user("Alice", "alice@example.ac.jp"))
            .await
            .unwrap()
            .done()
            .unwrap();
        let id = created.id.clone().unwrap();
        let got = users.get(&id).await.unwrap().done().unwrap();
        assert_eq!(got.user_name.as_deref(), Some("Alice"), "{name}");

        let only = users
            .get_with(&id, &Projection::only(["userName"]))
            .await
            .unwrap()
            .done()
            .unwrap();
        assert!(only.emails.is_none() && only.user_name.is_some(), "{name}");

        let mut renamed = user("Alice Liddell", "alice@example.ac.jp");
        renamed.preferred_language = Some("en".into());
        users.replace(&id, &renamed).await.unwrap().done().unwrap();
        let patched = users
            .patch(
                &id,
                &[PatchOperation::replace("preferredLanguage", json!("ja"))],
            )
            .await
            .unwrap()
            .done()
            .unwrap()
            .unwrap();
        assert_eq!(patched.preferred_language.as_deref(), Some("ja"), "{name}");

        let by_eppn = client.exist_eppn("alice@example.ac.jp").await.unwrap();
        let by_eppn = by_eppn.done().unwrap();
        assert_eq!(by_eppn.id.as_deref(), Some(id.as_str()), "{name}");
        assert_eq!(
            by_eppn.user_name.as_deref(),
            Some("Alice Liddell"),
            "{name}"
        );
        assert!(matches!(
            client.exist_eppn("nobody@example.ac.jp").await.unwrap(),
            ResourceAnswer::NotFound(_)
        ));
        assert!(matches!(
            users.get("no-such-user").await.unwrap(),
            ResourceAnswer::NotFound(error) if error.detail.as_deref() == Some("'no-such-user' Not Found")
        ));
        let me = client.self_user().await.unwrap().done().unwrap();
        assert_eq!(me.user_name.as_deref(), Some("Operator"), "{name}");
    }
}

#[tokio::test]
async fn groups_and_services_are_created_changed_and_deleted() {
    for (name, transport) in transports() {
        let sim = start().await;
        let client = client(&sim, transport);
        let alice = client
            .users()
            .create(&user("Alice", "alice@example.ac.jp"))
            .await
            .unwrap()
            .done()
            .unwrap()
            .id
            .unwrap();

        let group: MapGroup =
            serde_json::from_value(json!({"id": "lab-a", "displayName": "Lab A"})).unwrap();
        client
            .groups()
            .create(&group)
            .await
            .unwrap()
            .done()
            .unwrap();
        let add = PatchOperation::add("members", json!([{"type": "User", "value": alice}]));
        client.groups().patch("lab-a", &[add]).await.unwrap();
        let members = client
            .groups()
            .get("lab-a")
            .await
            .unwrap()
            .done()
            .unwrap()
            .members
            .unwrap();
        assert_eq!(members[0].value.as_deref(), Some(alice.as_str()), "{name}");
        assert_eq!(
            client.groups().delete("lab-a").await.unwrap(),
            ResourceAnswer::Done(())
        );
        assert!(matches!(
            client.groups().get("lab-a").await.unwrap(),
            ResourceAnswer::NotFound(_)
        ));
        assert!(matches!(
            client.groups().delete("lab-a").await.unwrap(),
            ResourceAnswer::NotFound(_)
        ));

        let service: MapService =
            serde_json::from_value(json!({"id": "repo", "serviceName": "Repository"})).unwrap();
        client
            .services()
            .create(&service)
            .await
            .unwrap()
            .done()
            .unwrap();
        assert!(
            matches!(
                client.services().create(&service).await.unwrap(),
                ResourceAnswer::Conflict(_)
            ),
            "{name}: a second service with the same id"
        );
        assert_eq!(
            client.services().delete("repo").await.unwrap(),
            ResourceAnswer::Done(())
        );
    }
}

#[tokio::test]
async fn a_search_pages_through_every_match_in_order() {
    for (name, transport) in transports() {
        let sim = start().await;
        let client = client(&sim, transport);
        for n in 0..45 {
            let eppn = format!("u{n:02}@example.ac.jp");
            client
                .users()
                .create(&user(&format!("Member {n:02}"), &eppn))
                .await
                .unwrap();
        }
        let query = SearchRequestParameter {
            filter: Some(Filter::sw("userName", "Member").to_string()),
            sort_by: Some("userName".into()),
            ..Default::default()
        };
        let expected: Vec<String> = (0..45).map(|n| format!("Member {n:02}")).collect();

        // The server's default page of 20: three pages.
        let mut pages = client.users().search(query.clone());
        let mut sizes = Vec::new();
        while let Some(page) = pages.next_page().await {
            sizes.push(page.unwrap().resources().len());
        }
        assert_eq!(sizes, [20, 20, 5], "{name}");
        assert_eq!(pages.total(), Some(45));

        for prefetch in [0, 3] {
            let query = SearchRequestParameter {
                count: Some(7),
                ..query.clone()
            };
            let names: Vec<String> = client
                .users()
                .search(query)
                .prefetch(prefetch)
                .into_stream()
                .map(|user| user.unwrap().user_name.unwrap())
                .collect()
                .await;
            assert_eq!(names, expected, "{name}, prefetch {prefetch}");
        }

        // One page on request.
        let page = client
            .users()
            .page(&SearchRequestParameter {
                count: Some(0),
                ..query.clone()
            })
            .await
            .unwrap()
            .done()
            .unwrap();
        assert_eq!((page.total_results, page.resources().len()), (45, 0));

        // A filter the server cannot read is its refusal, ending the stream.
        let bad = SearchRequestParameter {
            filter: Some("userName eq".into()),
            ..Default::default()
        };
        let results: Vec<_> = client.users().search(bad).into_stream().collect().await;
        assert_eq!(results.len(), 1);
        assert!(results[0].as_ref().unwrap_err().to_string().contains("400"));
    }
}
