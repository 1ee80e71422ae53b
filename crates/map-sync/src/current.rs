//! [`read_current`]: what mAP Core holds that a plan needs — looked up one by one for a
//! small desired state, else paged through its lists (Users, Groups, Services) — every
//! resource kept compact.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use map_client::{Filter, Resource, ResourceAnswer, ResourceClient, ResourceError};
use map_entities::{MapUser, SearchRequestParameter};
use serde::Serialize;
use serde_json::Value;

use crate::attributes::Attributes;
use crate::plan::SyncOptions;
use crate::state::{Current, Desired, UserKey, is_id, value_of};

/// Resources asked for per page (the server may answer fewer; paging follows it).
const PAGE: u64 = 1000;
/// Pages requested at once once the total is known.
const PREFETCH: usize = 4;

/// At most this many lookups (a request each) for a small desired state; beyond, the
/// lists are read whole.
const LOOKUP_LIMIT: usize = 100;
/// Lookups in flight at once.
const LOOKUPS_AT_ONCE: usize = 8;

/// Reads what a plan for `desired` needs of mAP Core. For a small desired state, only what
/// it names: its users by key (or id), its groups' members, the groups it names and, with
/// `exact_groups`, the groups of that prefix its users are in, and its services, one lookup
/// each. Otherwise, and always with `prune_groups` (every group of the prefix is needed),
/// every user and group (memberships are between them) and, when `desired` describes any,
/// every service.
pub async fn read_current(
    client: &ResourceClient,
    desired: &Desired,
    options: &SyncOptions,
) -> Result<Current, ResourceError> {
    match Lookups::of(desired, options) {
        Some(lookups) => lookups.read(client, options).await,
        None => Ok(Current {
            users: read_all(client.users()).await?,
            groups: read_all(client.groups()).await?,
            services: if desired.services.is_empty() {
                Vec::new()
            } else {
                read_all(client.services()).await?
            },
        }),
    }
}

/// What a small desired state names.
#[derive(Debug, Default)]
struct Lookups {
    /// Values of the user key: the desired users' and their groups' members'.
    user_keys: BTreeSet<String>,
    /// Ids of users: given by desired users, or members' values that may be ids.
    user_ids: BTreeSet<String>,
    group_ids: BTreeSet<String>,
    service_ids: BTreeSet<String>,
}

impl Lookups {
    /// The lookups `desired` needs, or `None` when reading the lists is the way.
    fn of(desired: &Desired, options: &SyncOptions) -> Option<Self> {
        if options.prune_groups.is_some() {
            return None;
        }
        let mut lookups = Lookups::default();
        for user in &desired.users {
            match user.id() {
                Some(id) => {
                    lookups.user_ids.insert(id.to_owned());
                }
                None => lookups
                    .user_keys
                    .extend(options.key.values(&user.attributes)),
            }
            lookups
                .group_ids
                .extend(user.groups.iter().flatten().cloned());
        }
        for group in &desired.groups {
            lookups.group_ids.extend(group.id().map(str::to_owned));
            if let Some(Value::Array(members)) = group.attributes.get("members") {
                for member in &members {
                    let Some(value) = value_of(member) else {
                        continue;
                    };
                    if member.get("type").and_then(Value::as_str) == Some("Group") {
                        lookups.group_ids.insert(value.to_owned());
                    } else {
                        // A member's value is a user's key, or else an id.
                        lookups.user_keys.insert(value.to_owned());
                        if is_id(value) {
                            lookups.user_ids.insert(value.to_owned());
                        }
                    }
                }
            }
        }
        lookups.service_ids.extend(
            desired
                .services
                .iter()
                .filter_map(|s| s.id().map(str::to_owned)),
        );
        let count = lookups.user_keys.len()
            + lookups.user_ids.len()
            + lookups.group_ids.len()
            + lookups.service_ids.len();
        (count <= LOOKUP_LIMIT).then_some(lookups)
    }

    async fn read(
        mut self,
        client: &ResourceClient,
        options: &SyncOptions,
    ) -> Result<Current, ResourceError> {
        let attribute = match options.key {
            UserKey::Eppn => "eduPersonPrincipalNames.value",
            key => key.attribute(),
        };
        let by_key = self.user_keys.iter().map(|value| {
            let query = SearchRequestParameter {
                filter: Some(Filter::eq(attribute, value).to_string()),
                ..SearchRequestParameter::default()
            };
            async move {
                Ok(found(client.users().page(&query).await?)?
                    .and_then(|page| page.resources)
                    .unwrap_or_default())
            }
        });
        let mut users: Vec<MapUser> = at_once(by_key).await?.into_iter().flatten().collect();
        let by_id = self
            .user_ids
            .iter()
            .map(|id| async move { found(client.users().get(id).await?) });
        users.extend(at_once(by_id).await?.into_iter().flatten());
        users.sort_by(|a, b| a.id.cmp(&b.id));
        users.dedup_by(|a, b| a.id == b.id);
        if let Some(prefix) = &options.exact_groups {
            // The groups of the prefix that the users are in: they may have to leave them.
            let held = users
                .iter()
                .flat_map(|u| u.groups.iter().flatten())
                .filter_map(|g| g.value.clone());
            self.group_ids
                .extend(held.filter(|id| id.starts_with(prefix.as_str())));
        }
        let groups = self
            .group_ids
            .iter()
            .map(|id| async move { found(client.groups().get(id).await?) });
        let groups = at_once(groups).await?.into_iter().flatten();
        let services = self
            .service_ids
            .iter()
            .map(|id| async move { found(client.services().get(id).await?) });
        let services = at_once(services).await?.into_iter().flatten();
        Ok(Current {
            users: users.into_iter().filter_map(|u| compact(u, true)).collect(),
            groups: groups.filter_map(|g| compact(g, false)).collect(),
            services: services.filter_map(|s| compact(s, false)).collect(),
        })
    }
}

/// What a lookup found: nothing when the server has no such resource; a refusal (no
/// rights, a bad filter) is an error, never taken for absence.
fn found<T>(answer: ResourceAnswer<T>) -> Result<Option<T>, ResourceError> {
    match answer {
        ResourceAnswer::NotFound(_) => Ok(None),
        other => other.into_result().map(Some),
    }
}

/// Runs `lookups` a few at a time, in order; the first error ends them.
async fn at_once<T>(
    lookups: impl Iterator<Item = impl Future<Output = Result<T, ResourceError>>>,
) -> Result<Vec<T>, ResourceError> {
    futures_util::stream::iter(lookups)
        .buffered(LOOKUPS_AT_ONCE)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
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
        all.extend(compact(resource?, T::ENDPOINT == "Users"));
    }
    Ok(all)
}

/// A resource as a plan keeps it: without `meta` and `schemas`, and for a user without its
/// `groups` (the groups' `members` seen from the user).
pub(crate) fn compact<T: Serialize>(resource: T, is_user: bool) -> Option<Attributes> {
    let Ok(Value::Object(mut map)) = serde_json::to_value(resource) else {
        return None;
    };
    map.remove("meta");
    map.remove("schemas");
    if is_user {
        map.remove("groups");
    }
    Some(Attributes::from(map))
}
