//! Real documents, read and written back: every fixture round-trips without loss, and every
//! malformed one is refused with an error that names the field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use std::fs;
use std::path::{Path, PathBuf};

use map_entities::{
    BulkMethod, BulkRequestPayload, BulkResponsePayload, ErrorDetail, ListResponse, MapError,
    MapGroup, MapUser, MemberListVisibility, MemberType, OperationResponse, PatchOp,
    PatchRequestPayload,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads `name` as `T`, writes it back, and checks that nothing was lost or changed and that a
/// second round trip writes the same bytes.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(name: &str) -> T {
    let text = fixture(name);
    let original: Value = serde_json::from_str(&text).unwrap();
    let parsed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let written = serde_json::to_string(&parsed).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&written).unwrap(),
        original,
        "{name} changed in a round trip"
    );
    let reparsed: T = serde_json::from_str(&written).unwrap();
    assert_eq!(reparsed, parsed, "{name}: value → JSON → value differs");
    assert_eq!(serde_json::to_string(&reparsed).unwrap(), written);
    parsed
}

#[test]
fn rfc7644_bulk_request_round_trips() {
    let request: BulkRequestPayload = round_trip("bulk_request_rfc7644_post_put_patch_delete.json");
    let methods: Vec<_> = request.operations.iter().map(|op| op.method).collect();
    assert_eq!(methods, BulkMethod::ALL);
    assert_eq!(request.fail_on_errors, Some(1));
    assert_eq!(request.operations[0].bulk_id.as_deref(), Some("qwerty"));
    assert_eq!(
        request.operations[3].version.as_deref(),
        Some("W/\"0ee8add0a938e1a\"")
    );
    // The PATCH data is a PatchOp document.
    let patch: PatchRequestPayload =
        serde_json::from_value(request.operations[2].data.clone().unwrap()).unwrap();
    assert_eq!(patch.operations[0].op, PatchOp::Remove);
}

#[test]
fn rfc7644_bulk_response_round_trips() {
    let response: BulkResponsePayload = round_trip("bulk_response_rfc7644_all_succeeded.json");
    let statuses: Vec<_> = response
        .operations
        .iter()
        .map(|op| op.status_code())
        .collect();
    assert_eq!(statuses, [Some(201), Some(200), Some(200), Some(204)]);
    assert_eq!(
        response.operations[0].resource_id(),
        Some("92b725cd-9465-4e7d-8c16-01f8e146b87a")
    );
    assert!(response.operations.iter().all(|op| op.path.is_none()));
}

#[test]
fn fail_on_errors_response_carries_errors() {
    let response: BulkResponsePayload = round_trip("bulk_response_failOnErrors_stop.json");
    let error = response.operations[0]
        .response
        .as_ref()
        .and_then(OperationResponse::as_error);
    assert_eq!(
        error.and_then(|e| e.scim_type.as_deref()),
        Some("invalidSyntax")
    );
    assert_eq!(response.operations[1].status_code(), Some(412));
}

#[test]
fn references_are_found_in_requests() {
    let request: BulkRequestPayload =
        round_trip("bulk_request_map_users_then_group_members_by_bulkId.json");
    let refs: Vec<_> = request
        .operations
        .iter()
        .map(|op| op.bulk_id_references())
        .collect();
    assert_eq!(refs[0], Vec::<&str>::new());
    // `administrators` sorts before `members`.
    assert_eq!(refs[2], ["u1", "u1", "u2"]);
    assert_eq!(refs[3], ["g1"]);
    assert_eq!(request.fail_on_errors, Some(5));

    let circular: BulkRequestPayload = round_trip("bulk_request_rfc7644_circular_references.json");
    assert_eq!(circular.operations[0].bulk_id_references(), ["ytrewq"]);
    assert_eq!(circular.operations[1].bulk_id_references(), ["qwerty"]);
}

#[test]
fn lowercase_operations_are_read_and_written_as_operations() {
    let text = fixture("bulk_response_map_lowercase_operations_and_errors.json");
    let response: BulkResponsePayload = serde_json::from_str(&text).unwrap();
    assert_eq!(response.operations.len(), 3);
    let written = serde_json::to_value(&response).unwrap();
    let mut expected: Value = serde_json::from_str(&text).unwrap();
    let operations = expected
        .as_object_mut()
        .unwrap()
        .remove("operations")
        .unwrap();
    expected["Operations"] = operations;
    assert_eq!(written, expected);

    let Some(OperationResponse::User(user)) = &response.operations[0].response else {
        panic!("expected a user: {:?}", response.operations[0].response);
    };
    let meta = user.meta.as_ref().unwrap();
    assert_eq!(
        meta.last_modified.as_ref().unwrap().as_str(),
        "2025-04-01T09:30:00.123Z"
    );
    assert_eq!(meta.created_by.as_deref(), Some("svc-repository"));
    let eppn = &user.edu_person_principal_names.as_ref().unwrap()[0];
    assert_eq!(
        eppn.idp_entity_id.as_deref(),
        Some("https://idp.example.ac.jp/idp/shibboleth")
    );
    let error = response.operations[1]
        .response
        .as_ref()
        .unwrap()
        .as_error()
        .unwrap();
    assert_eq!(error.error_code, Some(40901));
    assert_eq!(error.detail_kind(), Some(ErrorDetail::DuplicateId("lab-a")));
    let not_found = response.operations[2]
        .response
        .as_ref()
        .unwrap()
        .as_error()
        .unwrap();
    assert_eq!(
        not_found.detail_kind(),
        Some(ErrorDetail::NotFound("no-such-user"))
    );
}

#[test]
fn kinds_are_told_apart_by_suffix_in_any_domain() {
    let response: BulkResponsePayload =
        round_trip("bulk_response_example_jp_domain_group_and_service.json");
    let Some(OperationResponse::Group(group)) = &response.operations[0].response else {
        panic!("expected a group");
    };
    assert_eq!(
        group.member_list_visibility,
        Some(MemberListVisibility::Hidden)
    );
    let members = group.members.as_ref().unwrap();
    assert_eq!(members[1].member_type, Some(MemberType::Group));
    assert_eq!(
        group.services.as_ref().unwrap()[0].administrator_of_group,
        Some(1)
    );
    assert_eq!(group.extra["x-institutionCode"], "E001");
    let meta = group.meta.as_ref().unwrap();
    assert_eq!(
        meta.created.as_ref().unwrap().utc().to_rfc3339(),
        "2025-01-09T15:00:00+00:00"
    );

    let Some(OperationResponse::Service(service)) = &response.operations[1].response else {
        panic!("expected a service");
    };
    assert_eq!(
        service.entity_ids.as_ref().unwrap()[0].value.as_deref(),
        Some("https://repository.example.ac.jp/shibboleth-sp")
    );
    // A kind this client does not know is kept whole.
    let Some(OperationResponse::Other(other)) = &response.operations[2].response else {
        panic!("expected an unknown kind");
    };
    assert_eq!(other["note"], "a kind this client does not know");
    assert_eq!(response.operations[2].resource_id(), Some("lab-c"));
}

#[test]
fn unknown_user_attributes_survive_an_edit() {
    let mut user: MapUser = round_trip("map_user_with_unknown_attributes.json");
    assert_eq!(user.extra["displayNameJa"], "山田 花子");
    assert_eq!(user.emails.as_ref().unwrap()[0].extra["primary"], true);
    assert_eq!(user.groups.as_deref(), Some(&[][..]));
    // A client that reads, edits and PUTs must not erase what the server added.
    user.preferred_language = Some("en".into());
    let written = serde_json::to_value(&user).unwrap();
    assert_eq!(written["affiliation"]["units"][1], 3);
    assert_eq!(written["preferredLanguage"], "en");
    assert_eq!(
        written["meta"]["lastModified"],
        "2025-04-02T18:30:00.123456+09:00"
    );
}

#[test]
fn other_documents_round_trip() {
    let error: MapError = round_trip("map_error_not_found.json");
    assert_eq!(error.status_code(), Some(404));
    let patch: PatchRequestPayload = round_trip("map_patch_add_members_remove_administrator.json");
    assert_eq!(patch.operations.len(), 3);
    assert_eq!(patch.operations[2].path, None);
    let list: ListResponse<MapUser> = round_trip("map_list_response_users.json");
    assert_eq!(list.total_results, 2);
    assert_eq!(list.resources()[1].user_name.as_deref(), Some("bob"));
}

/// Parses a malformed fixture as `T` and returns the error message.
fn refused<T: DeserializeOwned + std::fmt::Debug>(name: &str) -> String {
    let text = fixture(&format!("malformed/{name}"));
    match serde_json::from_str::<T>(&text) {
        Ok(value) => panic!("{name} was accepted: {value:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn malformed_documents_are_refused_naming_the_field() {
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "bulk_request_unknown_method_putch.json",
            refused::<BulkRequestPayload>("bulk_request_unknown_method_putch.json"),
            &["Operations[1]: method:", "PUTCH"],
        ),
        (
            "bulk_request_operations_not_an_array.json",
            refused::<BulkRequestPayload>("bulk_request_operations_not_an_array.json"),
            &["Operations:", "an array"],
        ),
        (
            "bulk_request_operations_missing.json",
            refused::<BulkRequestPayload>("bulk_request_operations_missing.json"),
            &["missing field `Operations`"],
        ),
        (
            "bulk_request_wrong_schemas.json",
            refused::<BulkRequestPayload>("bulk_request_wrong_schemas.json"),
            &["schemas:", "BulkRequest"],
        ),
        (
            "bulk_response_method_missing.json",
            refused::<BulkResponsePayload>("bulk_response_method_missing.json"),
            &["Operations[0]:", "missing field `method`"],
        ),
        (
            "bulk_response_status_not_a_string.json",
            refused::<BulkResponsePayload>("bulk_response_status_not_a_string.json"),
            &["Operations[0]: status:", "expected a string"],
        ),
        (
            "bulk_response_both_operations_spellings.json",
            refused::<BulkResponsePayload>("bulk_response_both_operations_spellings.json"),
            &["duplicate field `operations`"],
        ),
        (
            "bulk_response_user_emails_not_an_array.json",
            refused::<BulkResponsePayload>("bulk_response_user_emails_not_an_array.json"),
            &["Operations[0]: response: emails:"],
        ),
        (
            "user_emails_not_an_array.json",
            refused::<MapUser>("user_emails_not_an_array.json"),
            &["emails:", "expected a sequence"],
        ),
        (
            "user_meta_created_not_a_date.json",
            refused::<MapUser>("user_meta_created_not_a_date.json"),
            &["meta: created:", "RFC 3339"],
        ),
        (
            "group_visibility_unknown.json",
            refused::<MapGroup>("group_visibility_unknown.json"),
            &["memberListVisibility:", "Secret"],
        ),
        (
            "patch_unknown_op.json",
            refused::<PatchRequestPayload>("patch_unknown_op.json"),
            &["Operations[0]: op:", "merge"],
        ),
        (
            "list_response_total_results_missing.json",
            refused::<ListResponse<MapUser>>("list_response_total_results_missing.json"),
            &["missing field `totalResults`"],
        ),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    assert_eq!(
        fs::read_dir(dir).unwrap().count(),
        cases.len(),
        "every malformed fixture has a case here"
    );
    for (name, message, needles) in cases {
        for needle in needles {
            assert!(
                message.contains(needle),
                "{name}: {message:?} lacks {needle:?}"
            );
        }
        assert!(
            message.contains("line 1 column"),
            "{name}: {message:?} has no position"
        );
    }
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "[",
        "null",
        "1",
        "\"x\"",
        "{\"Operations\":[null]}",
        "{\"Operations\":[1]}",
    ] {
        assert!(
            serde_json::from_str::<BulkResponsePayload>(text).is_err(),
            "{text}"
        );
        assert!(
            serde_json::from_str::<BulkRequestPayload>(text).is_err(),
            "{text}"
        );
    }
}
