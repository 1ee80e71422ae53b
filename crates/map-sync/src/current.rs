//! [`read_current`]: what mAP Core holds, paged through its lists (Users, Groups,
//! Services), every resource kept as the server rendered it.

use futures_util::StreamExt;
use map_client::{Resource, ResourceClient, ResourceError};
use map_entities::SearchRequestParameter;
use serde::Serialize;
use serde_json::Value;

use crate::attributes::Attributes;
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

/// Every resource of one kind, kept compact and without what a plan never compares (`meta`,
/// `schemas`, and a user's `groups`, which are the groups' `members` seen from the user).
async fn read_all<T: Resource + Serialize>(
    resources: map_client::Resources<'_, T>,
) -> Result<Vec<Attributes>, ResourceError> {
    let query = SearchRequestParameter {
        count: Some(PAGE),
        ..SearchRequestParameter::default()
    };
    let mut stream = std::pin::pin!(resources.search(query).prefetch(PREFETCH).into_stream());
    let mut all = Vec::new();
    while let Some(resource) = stream.next().await {
        if let Ok(Value::Object(mut map)) = serde_json::to_value(resource?) {
            for name in ["meta", "schemas"] {
                map.remove(name);
            }
            if T::ENDPOINT == "Users" {
                map.remove("groups");
            }
            all.push(Attributes::from(map));
        }
    }
    Ok(all)
}
