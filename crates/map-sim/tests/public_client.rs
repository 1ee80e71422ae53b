//! map-sim's answers, read by models as strict as those of mAP Core's public client (the NII
//! groups manager: pydantic models with `extra="forbid"`, camelCase aliases): every answer to
//! a session shaped like that client's — resource writes with every unset field `null`,
//! searches, Existeppn, Self, a bulk request of POSTs without bulkId and bare PATCH
//! operations — must read without an unknown field, a missing required field or a value out
//! of its type. Only 429 and 503, which that client does not model, would be exempt; this
//! session draws none.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use map_sim::{SimConfig, Simulator};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::Client;

/// The public client's models, field for field (`server/entities/*.py`).
#[allow(dead_code)] // read to be checked, not to be used
mod strict {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer};

    /// pydantic's `HttpUrl`: an absolute http(s) URL.
    #[derive(Debug)]
    pub(crate) struct HttpUrl(pub(crate) String);

    impl<'de> Deserialize<'de> for HttpUrl {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = String::deserialize(deserializer)?;
            let url = url::Url::parse(&text).map_err(serde::de::Error::custom)?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(serde::de::Error::custom(format!(
                    "not an http(s) URL: {text}"
                )));
            }
            Ok(HttpUrl(text))
        }
    }

    /// pydantic's `EmailStr`, roughly: a local part, `@`, a domain.
    #[derive(Debug)]
    pub(crate) struct EmailStr;

    impl<'de> Deserialize<'de> for EmailStr {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = String::deserialize(deserializer)?;
            match text.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(EmailStr),
                _ => Err(serde::de::Error::custom(format!(
                    "not an e-mail address: {text}"
                ))),
            }
        }
    }

    type Time = DateTime<FixedOffset>;

    #[derive(Debug, Deserialize)]
    pub(crate) enum UserType {
        User,
    }
    #[derive(Debug, Deserialize)]
    pub(crate) enum GroupType {
        Group,
    }
    #[derive(Debug, Deserialize)]
    pub(crate) enum ServiceType {
        Service,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct UserMeta {
        pub(crate) resource_type: UserType,
        pub(crate) created: Time,
        pub(crate) last_modified: Time,
        #[serde(default)]
        pub(crate) created_by: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct GroupMeta {
        pub(crate) resource_type: GroupType,
        pub(crate) created: Time,
        pub(crate) last_modified: Time,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct ServiceMeta {
        pub(crate) resource_type: ServiceType,
        pub(crate) created: Time,
        pub(crate) last_modified: Time,
    }

    #[derive(Debug, Deserialize)]
    pub(crate) enum Language {
        #[serde(rename = "en")]
        En,
        #[serde(rename = "ja")]
        Ja,
        #[serde(rename = "")]
        Empty,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Eppn {
        pub(crate) value: String,
        #[serde(default)]
        pub(crate) idp_entity_id: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct Email {
        pub(crate) value: EmailStr,
    }

    /// `MapUser.groups[]`: `value` and `$ref`, no `display`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct UserGroup {
        pub(crate) value: String,
        #[serde(rename = "$ref", default)]
        pub(crate) reference: Option<HttpUrl>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct User {
        #[serde(default)]
        pub(crate) schemas: Option<Vec<String>>,
        #[serde(default)]
        pub(crate) id: Option<String>,
        #[serde(default)]
        pub(crate) external_id: Option<String>,
        #[serde(default)]
        pub(crate) user_name: Option<String>,
        #[serde(default)]
        pub(crate) preferred_language: Option<Language>,
        #[serde(default)]
        pub(crate) meta: Option<UserMeta>,
        #[serde(default)]
        pub(crate) edu_person_principal_names: Option<Vec<Eppn>>,
        #[serde(default)]
        pub(crate) emails: Option<Vec<Email>>,
        #[serde(default)]
        pub(crate) groups: Option<Vec<UserGroup>>,
    }

    /// `MapGroup.members[]`, told apart by `type` (which must be there).
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", deny_unknown_fields)]
    pub(crate) enum Member {
        User {
            #[serde(rename = "$ref", default)]
            reference: Option<HttpUrl>,
            #[serde(default)]
            display: Option<String>,
            value: String,
            #[serde(rename = "customRoles", default)]
            custom_roles: Option<Vec<String>>,
        },
        Group {
            #[serde(rename = "$ref", default)]
            reference: Option<HttpUrl>,
            #[serde(default)]
            display: Option<String>,
            value: String,
        },
    }

    /// An administrator, or a service's group: `$ref`, `display`, `value`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct Reference {
        #[serde(rename = "$ref", default)]
        pub(crate) reference: Option<HttpUrl>,
        #[serde(default)]
        pub(crate) display: Option<String>,
        pub(crate) value: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct GroupService {
        #[serde(rename = "$ref", default)]
        pub(crate) reference: Option<HttpUrl>,
        #[serde(default)]
        pub(crate) display: Option<String>,
        pub(crate) value: String,
        #[serde(default)]
        pub(crate) administrator_of_group: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    pub(crate) enum Visibility {
        Public,
        Private,
        Hidden,
    }

    fn not_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        bool::deserialize(deserializer)
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Group {
        #[serde(default)]
        pub(crate) schemas: Option<Vec<String>>,
        #[serde(default)]
        pub(crate) id: Option<String>,
        #[serde(default)]
        pub(crate) external_id: Option<String>,
        #[serde(default)]
        pub(crate) display_name: Option<String>,
        #[serde(default)]
        pub(crate) public: Option<bool>,
        #[serde(default)]
        pub(crate) description: Option<String>,
        /// `suspended: bool = False`: absent or a boolean, never null.
        #[serde(default, deserialize_with = "not_null")]
        pub(crate) suspended: bool,
        #[serde(default)]
        pub(crate) member_list_visibility: Option<Visibility>,
        #[serde(default)]
        pub(crate) meta: Option<GroupMeta>,
        #[serde(default)]
        pub(crate) members: Option<Vec<Member>>,
        #[serde(default)]
        pub(crate) administrators: Option<Vec<Reference>>,
        #[serde(default)]
        pub(crate) services: Option<Vec<GroupService>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct EntityId {
        pub(crate) value: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Service {
        #[serde(default)]
        pub(crate) schemas: Option<Vec<String>>,
        pub(crate) id: String,
        #[serde(default)]
        pub(crate) service_name: Option<String>,
        #[serde(default)]
        pub(crate) service_url: Option<HttpUrl>,
        #[serde(default)]
        pub(crate) suspended: Option<bool>,
        #[serde(default)]
        pub(crate) meta: Option<ServiceMeta>,
        #[serde(default)]
        pub(crate) entity_ids: Option<Vec<EntityId>>,
        #[serde(default)]
        pub(crate) administrators: Option<Vec<Reference>>,
        #[serde(default)]
        pub(crate) groups: Option<Vec<Reference>>,
    }

    #[derive(Debug, Deserialize)]
    pub(crate) enum ErrorStatus {
        #[serde(rename = "307")]
        S307,
        #[serde(rename = "308")]
        S308,
        #[serde(rename = "400")]
        S400,
        #[serde(rename = "401")]
        S401,
        #[serde(rename = "403")]
        S403,
        #[serde(rename = "404")]
        S404,
        #[serde(rename = "409")]
        S409,
        #[serde(rename = "412")]
        S412,
        #[serde(rename = "413")]
        S413,
        #[serde(rename = "415")]
        S415,
        #[serde(rename = "500")]
        S500,
        #[serde(rename = "501")]
        S501,
    }

    #[derive(Debug, Deserialize, PartialEq, Eq)]
    #[serde(rename_all = "camelCase")]
    pub(crate) enum ScimType {
        InvalidFilter,
        TooMany,
        Uniqueness,
        Mutability,
        InvalidValue,
        InvalidSyntax,
        NoTarget,
        InvalidVers,
        Sensitive,
        InvalidId,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Error {
        #[serde(default)]
        pub(crate) schemas: Option<Vec<String>>,
        pub(crate) status: ErrorStatus,
        pub(crate) scim_type: ScimType,
        pub(crate) detail: String,
        #[serde(default)]
        pub(crate) error_code: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct List<T> {
        #[serde(default)]
        pub(crate) schemas: Option<Vec<String>>,
        pub(crate) total_results: u64,
        pub(crate) start_index: u64,
        pub(crate) items_per_page: u64,
        #[serde(rename = "Resources")]
        pub(crate) resources: Vec<T>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
    pub(crate) enum PatchOperation {
        Add {
            path: String,
            value: serde_json::Value,
        },
        Remove {
            path: String,
        },
        Replace {
            path: String,
            value: serde_json::Value,
        },
    }

    /// `BulkOperation.data`: `MapService | MapGroup | MapUser | PatchOperation`.
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    pub(crate) enum Data {
        Service(Box<Service>),
        Group(Box<Group>),
        User(Box<User>),
        Patch(PatchOperation),
    }

    /// `BulkOperation.response`: `MapService | MapGroup | MapUser | MapError`.
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    pub(crate) enum Response {
        Service(Box<Service>),
        Group(Box<Group>),
        User(Box<User>),
        Error(Box<Error>),
    }

    #[derive(Debug, Deserialize)]
    pub(crate) enum Method {
        #[serde(rename = "POST")]
        Post,
        #[serde(rename = "PUT")]
        Put,
        #[serde(rename = "PATCH")]
        Patch,
        #[serde(rename = "DELETE")]
        Delete,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct BulkOperation {
        pub(crate) method: Method,
        #[serde(rename = "bulkId", default)]
        pub(crate) bulk_id: Option<String>,
        pub(crate) path: String,
        #[serde(default)]
        pub(crate) data: Option<Data>,
        #[serde(default)]
        pub(crate) location: Option<String>,
        #[serde(default)]
        pub(crate) response: Option<Response>,
        #[serde(default)]
        pub(crate) status: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct BulkResponse {
        #[serde(default)]
        pub(crate) schemas: Option<Vec<String>>,
        #[serde(rename = "Operations", alias = "operations")]
        pub(crate) operations: Vec<BulkOperation>,
    }
}

/// Reads `body` with the strict model `T`, or fails naming what the client would refuse.
fn strictly<T: DeserializeOwned>(what: &str, body: &[u8]) -> T {
    serde_json::from_slice(body).unwrap_or_else(|error| {
        panic!(
            "{what}: the public client would refuse this answer ({error}):\n{}",
            String::from_utf8_lossy(body)
        )
    })
}

/// A User as the public client dumps it for a POST (`exclude_unset=False`: every field).
fn full_user(name: &str, eppn: &str) -> Value {
    json!({"schemas": [map_entities::USER_SCHEMA], "id": null, "externalId": null,
        "userName": name, "preferredLanguage": "ja", "meta": null,
        "eduPersonPrincipalNames": [{"value": eppn, "idpEntityId": null}],
        "emails": [{"value": eppn}], "groups": null})
}

fn full_group(id: &str) -> Value {
    json!({"schemas": [map_entities::GROUP_SCHEMA], "id": id, "externalId": null,
        "displayName": format!("Group {id}"), "public": false, "description": null,
        "suspended": false, "memberListVisibility": "Private", "meta": null,
        "members": [], "administrators": [], "services": []})
}

async fn start() -> (Simulator, Client) {
    let sim = Simulator::start(
        SimConfig::default().with_self_user(full_user("Repository Admin", "admin@example.ac.jp")),
    )
    .await
    .unwrap();
    let client = Client::new(&sim);
    (sim, client)
}

async fn send(
    client: &Client,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: Value,
) -> (u16, bytes::Bytes) {
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let response = client.send(method, path, query, &body).await.unwrap();
    (response.status().as_u16(), response.body().clone())
}

#[tokio::test]
async fn resource_answers_satisfy_the_public_client_s_models() {
    let (_sim, client) = start().await;
    let (status, body) = send(
        &client,
        "POST",
        "/api/v2/Users",
        None,
        full_user("John Doe", "john@example.ac.jp"),
    )
    .await;
    assert_eq!(status, 201);
    let john: strict::User = strictly("POST /Users", &body);
    let john_id = john.id.unwrap();
    assert!(
        john.meta.unwrap().created_by.is_some(),
        "createdBy names the token's user"
    );
    // A second John Doe is another person: userName is a display name.
    let (status, body) = send(
        &client,
        "POST",
        "/api/v2/Users",
        None,
        full_user("John Doe", "john2@example.ac.jp"),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    // The same ePPN twice is a 409.
    let (status, body) = send(
        &client,
        "POST",
        "/api/v2/Users",
        None,
        full_user("Jo", "john@example.ac.jp"),
    )
    .await;
    assert_eq!(status, 409);
    let error: strict::Error = strictly("duplicate POST /Users", &body);
    assert_eq!(
        error.detail,
        "john@example.ac.jp is already tied to another account"
    );

    let (status, body) = send(
        &client,
        "POST",
        "/api/v2/Services",
        None,
        json!({
        "schemas": [map_entities::SERVICE_SCHEMA], "id": "svc-repo", "serviceName": "Repository",
        "serviceUrl": "https://repo.example.ac.jp/", "suspended": null, "meta": null,
        "entityIds": [{"value": "https://repo.example.ac.jp/shibboleth"}],
        "administrators": null, "groups": null}),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    strictly::<strict::Service>("POST /Services", &body);
    let (status, _) = send(
        &client,
        "POST",
        "/api/v2/Services",
        None,
        json!({"id": "svc-repo"}),
    )
    .await;
    assert_eq!(status, 409, "a duplicate service is a 409");

    let mut group = full_group("jc_repo_lab");
    group["members"] = json!([{"type": "User", "display": null, "value": john_id}]);
    group["administrators"] = json!([{"display": null, "value": john_id}]);
    group["services"] = json!([{"display": null, "value": "svc-repo", "administratorOfGroup": 1}]);
    let (status, body) = send(&client, "POST", "/api/v2/Groups", None, group).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    strictly::<strict::Group>("POST /Groups", &body);

    for path in [
        format!("/api/v2/Users/{john_id}"),
        "/api/v2/Self".to_owned(),
        "/api/v2/Existeppn/john@example.ac.jp".to_owned(),
    ] {
        let (status, body) = send(&client, "GET", &path, None, Value::Null).await;
        assert_eq!(status, 200, "{path}");
        let user: strict::User = strictly(&path, &body);
        if path.contains("Existeppn") || path.contains(&john_id) {
            let groups = user.groups.unwrap();
            assert_eq!(
                groups[0].value, "jc_repo_lab",
                "the membership shows on the user's side"
            );
        }
    }
    let (_, body) = send(
        &client,
        "GET",
        "/api/v2/Groups/jc_repo_lab",
        None,
        Value::Null,
    )
    .await;
    let group: strict::Group = strictly("GET /Groups/ID", &body);
    assert!(
        matches!(&group.members.unwrap()[0], strict::Member::User { display: Some(name), .. } if name == "John Doe")
    );
    let (_, body) = send(
        &client,
        "GET",
        "/api/v2/Services/svc-repo",
        None,
        Value::Null,
    )
    .await;
    let service: strict::Service = strictly("GET /Services/ID", &body);
    assert_eq!(service.groups.unwrap()[0].value, "jc_repo_lab");

    // Searches as the client writes them.
    for (kind, query) in [
        (
            "Users",
            "filter=eduPersonPrincipalNames.value%20eq%20%22john%40example.ac.jp%22",
        ),
        (
            "Users",
            "filter=%28userName%20co%20%22john%22%29%20or%20%28emails.value%20co%20%22john%22%29&startIndex=1&count=20&sortBy=userName&sortOrder=ascending&attributes=userName,emails",
        ),
        ("Users", "count=0"),
        (
            "Groups",
            "filter=members.type%20eq%20%22User%22%20and%20members.value%20eq%20%22X%22",
        ),
        (
            "Groups",
            "filter=memberListVisibility%20eq%20Private&excludedAttributes=members",
        ),
        ("Services", "filter=groups.value%20eq%20%22jc_repo_lab%22"),
    ] {
        let query = query.replace('X', &john_id);
        let (status, body) = send(
            &client,
            "GET",
            &format!("/api/v2/{kind}"),
            Some(&query),
            Value::Null,
        )
        .await;
        assert_eq!(
            status,
            200,
            "{kind}?{query}: {}",
            String::from_utf8_lossy(&body)
        );
        match kind {
            "Users" => drop(strictly::<strict::List<strict::User>>(&query, &body)),
            "Groups" => {
                let list: strict::List<strict::Group> = strictly(&query, &body);
                assert_eq!(list.total_results, 1, "{query}");
            }
            _ => drop(strictly::<strict::List<strict::Service>>(&query, &body)),
        }
    }

    // A PATCH as the client sends it (a PatchOp document of bare operations, nulls left out).
    let (status, body) = send(
        &client,
        "PATCH",
        "/api/v2/Groups/jc_repo_lab",
        None,
        json!({
        "schemas": [map_entities::PATCH_OP_SCHEMA],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Lab"},
                       {"op": "remove", "path": format!("members[value eq \"{john_id}\"]")}]}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    strictly::<strict::Group>("PATCH /Groups/ID", &body);
    let (status, body) = send(
        &client,
        "PUT",
        &format!("/api/v2/Users/{john_id}"),
        None,
        full_user("John D.", "john@example.ac.jp"),
    )
    .await;
    assert_eq!(status, 200);
    strictly::<strict::User>("PUT /Users/ID", &body);

    // Errors.
    for (method, path, query, body, scim_type) in [
        (
            "GET",
            "/api/v2/Users/nobody",
            None,
            Value::Null,
            strict::ScimType::InvalidValue,
        ),
        (
            "GET",
            "/api/v2/Existeppn/nobody@example.ac.jp",
            None,
            Value::Null,
            strict::ScimType::InvalidValue,
        ),
        (
            "GET",
            "/api/v2/Users",
            Some("filter=userName%20eq"),
            Value::Null,
            strict::ScimType::InvalidFilter,
        ),
        (
            "PATCH",
            "/api/v2/Groups/jc_repo_lab",
            None,
            json!({"op": "remove", "path": "members[value eq nobody]"}),
            strict::ScimType::NoTarget,
        ),
        (
            "DELETE",
            "/api/v2/Groups/nothing",
            None,
            Value::Null,
            strict::ScimType::InvalidValue,
        ),
    ] {
        let (status, body) = send(&client, method, path, query, body).await;
        assert_eq!(status, 400, "{method} {path}");
        let error: strict::Error = strictly(path, &body);
        assert_eq!(error.scim_type, scim_type, "{method} {path}");
    }
    let (status, body) = send(
        &client,
        "DELETE",
        "/api/v2/Groups/jc_repo_lab",
        None,
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, body.len()),
        (204, 0),
        "a DELETE answers 204 with an empty body"
    );
}

#[tokio::test]
async fn bulk_answers_satisfy_the_public_client_s_models() {
    let (sim, client) = start().await;
    let job: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/public_client/bulk_user_import.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (status, body) = send(&client, "POST", "/api/v2/Bulk", None, job.clone()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer: strict::BulkResponse = strictly("POST /Bulk", &body);
    let sent = job["Operations"].as_array().unwrap();
    assert_eq!(answer.operations.len(), sent.len());
    for (result, op) in answer.operations.iter().zip(sent) {
        assert_eq!(
            Some(result.path.as_str()),
            op["path"].as_str(),
            "the path is echoed as sent"
        );
        let status = result.status.as_deref().unwrap();
        assert!(
            status.starts_with('2'),
            "{op}: {status} {:?}",
            result.response
        );
        match result.method {
            strict::Method::Delete => assert!(
                result.data.is_none() && result.location.is_none() && result.response.is_none()
            ),
            strict::Method::Put => {
                assert!(matches!(result.response, Some(strict::Response::Group(_))))
            }
            _ => assert!(result.data.is_some(), "the data is echoed"),
        }
    }
    // What the job did, seen on both sides of each membership.
    let snapshot = sim.snapshot();
    let group = snapshot
        .groups
        .iter()
        .find(|g| g.id.as_deref() == Some("jc_repo_lab"))
        .unwrap();
    let members = group.members.as_ref().unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
    let member_id = members[0].value.as_deref().unwrap();
    let member = snapshot
        .users
        .iter()
        .find(|u| u.id.as_deref() == Some(member_id))
        .unwrap();
    assert_eq!(member.user_name.as_deref(), Some("Hanako Yamada"));
    assert_eq!(
        member.groups.as_ref().unwrap()[0].value.as_deref(),
        Some("jc_repo_lab")
    );
    let left = snapshot
        .users
        .iter()
        .find(|u| u.user_name.as_deref() == Some("Taro Suzuki"))
        .unwrap();
    assert!(
        left.groups.is_none(),
        "removed from the user's side: {left:?}"
    );
    assert_eq!(group.display_name.as_deref(), Some("Lab (renamed)"));
    let service = &snapshot.services[0];
    assert_eq!(
        service.groups.as_ref().unwrap()[0].value.as_deref(),
        Some("jc_repo_lab"),
        "a group may name a service created after it"
    );
    assert!(
        snapshot
            .groups
            .iter()
            .all(|g| g.id.as_deref() != Some("jc_repo_tmp"))
    );

    // The same again: every POST is now a duplicate, told in mAP's words.
    let (status, body) = send(&client, "POST", "/api/v2/Bulk", None, job).await;
    assert_eq!(status, 200);
    let again: strict::BulkResponse = strictly("POST /Bulk again", &body);
    let errors: Vec<&str> = again
        .operations
        .iter()
        .filter_map(|r| match &r.response {
            Some(strict::Response::Error(error)) => Some(error.detail.as_str()),
            _ => None,
        })
        .collect();
    assert!(errors.contains(&"Duplicate id 'jc_repo_svc'"), "{errors:?}");
    // The group waited for the service it names, whose POST failed.
    assert!(
        errors.contains(&"bulkId 'svc' refers to an operation that failed"),
        "{errors:?}"
    );
    assert!(
        errors.contains(&"taro@example.ac.jp is already tied to another account"),
        "{errors:?}"
    );
}
