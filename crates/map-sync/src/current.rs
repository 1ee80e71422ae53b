//! [`read_current`]: what mAP Core holds, paged through its lists (Users, Groups,
//! Services), every resource kept as the server rendered it.

use futures_util::StreamExt;
use map_client::{Resource, ResourceClient, ResourceError};
use map_entities::SearchRequestParameter;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::state::{Current, Desired};

/// Resources asked for per page (the server may answer fewer; paging follows it).
const PAGE: u64 = 1000;
/// Pages requested at once once the total is known.
const PREFETCH: usize = 4;

/// Reads what a plan for `desired` needs of mAP Core: every user and group (memberships
/// are between them), and every service when `desired` describes any.
pub async fn read_current(
    client: &ResourceClient,
    desired: &Desired,
) -> Result<Current, ResourceError> {
    Ok(Current {
        users: read_all(client.users()).await?,
        groups: read_all(client.groups()).await?,
        services: if desired.services.is_empty() {
            Vec::new()
        } else {
            read_all(client.services()).await?
        },
    })
}

async fn read_all<T: Resource + Serialize>(
    resources: map_client::Resources<'_, T>,
) -> Result<Vec<Map<String, Value>>, ResourceError> {
    let query = SearchRequestParameter {
        count: Some(PAGE),
        ..SearchRequestParameter::default()
    };
    let mut stream = std::pin::pin!(resources.search(query).prefetch(PREFETCH).into_stream());
    let mut all = Vec::new();
    while let Some(resource) = stream.next().await {
        if let Ok(Value::Object(map)) = serde_json::to_value(resource?) {
            all.push(map);
        }
    }
    Ok(all)
}
