//! Property tests: for every public type, value → JSON → value is equal, and
//! JSON → value → JSON is stable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use chrono::{DateTime, FixedOffset};
use map_entities::*;
use proptest::collection::{btree_map, vec};
use proptest::option::of;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9 @._:/'\"-]{0,16}",
        "\\PC{0,8}",
        Just("bulkId:u1".to_owned())
    ]
    .boxed()
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1.0e9f64..1.0e9).prop_map(Value::from),
        text().prop_map(Value::from),
    ]
    .boxed()
}

fn json() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::Array),
                btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Unknown attributes: names no model uses (they all start with `x-`).
fn extra() -> BoxedStrategy<Map<String, Value>> {
    btree_map("x-[a-zA-Z]{1,6}", json(), 0..3)
        .prop_map(|m| m.into_iter().collect())
        .boxed()
}

fn strings() -> BoxedStrategy<Option<Vec<String>>> {
    of(vec(text(), 0..3)).boxed()
}

fn timestamp() -> BoxedStrategy<Timestamp> {
    (
        0i64..4_000_000_000,
        0u32..1_000_000_000,
        -12i32..14,
        any::<bool>(),
    )
        .prop_map(|(secs, nanos, hours, utc)| {
            let utc_time = DateTime::from_timestamp(secs, nanos).unwrap();
            if utc {
                Timestamp::from(utc_time)
            } else {
                let offset = FixedOffset::east_opt(hours * 3600).unwrap();
                utc_time
                    .with_timezone(&offset)
                    .to_rfc3339()
                    .parse()
                    .unwrap()
            }
        })
        .boxed()
}

fn meta() -> BoxedStrategy<Meta> {
    (
        of(text()),
        of(timestamp()),
        of(timestamp()),
        of(text()),
        extra(),
    )
        .prop_map(
            |(resource_type, created, last_modified, created_by, extra)| Meta {
                resource_type,
                created,
                last_modified,
                created_by,
                extra,
            },
        )
        .boxed()
}

fn user_group() -> BoxedStrategy<UserGroup> {
    (of(text()), of(text()), extra())
        .prop_map(|(value, reference, extra)| UserGroup {
            value,
            reference,
            extra,
        })
        .boxed()
}

fn resource_ref() -> BoxedStrategy<ResourceRef> {
    (of(text()), of(text()), of(text()), extra())
        .prop_map(|(value, reference, display, extra)| ResourceRef {
            value,
            reference,
            display,
            extra,
        })
        .boxed()
}

fn user() -> BoxedStrategy<MapUser> {
    let eppn = (of(text()), of(text()), extra()).prop_map(|(value, idp_entity_id, extra)| Eppn {
        value,
        idp_entity_id,
        extra,
    });
    let email = (of(text()), extra()).prop_map(|(value, extra)| Email { value, extra });
    (
        (strings(), of(text()), of(text()), of(text()), of(text())),
        (of(meta()), of(vec(eppn, 0..3)), of(vec(email, 0..3))),
        (of(vec(user_group(), 0..3)), extra()),
    )
        .prop_map(
            |(
                (schemas, id, external_id, user_name, preferred_language),
                (meta, edu_person_principal_names, emails),
                (groups, extra),
            )| MapUser {
                schemas,
                id,
                external_id,
                user_name,
                preferred_language,
                meta,
                edu_person_principal_names,
                emails,
                groups,
                extra,
            },
        )
        .boxed()
}

fn group() -> BoxedStrategy<MapGroup> {
    let visibility = prop_oneof![
        Just(MemberListVisibility::Public),
        Just(MemberListVisibility::Private),
        Just(MemberListVisibility::Hidden)
    ];
    let member_type = prop_oneof![Just(MemberType::User), Just(MemberType::Group)];
    let member = (
        of(member_type),
        of(text()),
        of(text()),
        of(text()),
        strings(),
        extra(),
    )
        .prop_map(
            |(member_type, reference, display, value, custom_roles, extra)| GroupMember {
                member_type,
                reference,
                display,
                value,
                custom_roles,
                extra,
            },
        );
    let service = (
        of(text()),
        of(text()),
        of(text()),
        of(any::<i64>()),
        extra(),
    )
        .prop_map(
            |(reference, display, value, administrator_of_group, extra)| GroupService {
                reference,
                display,
                value,
                administrator_of_group,
                extra,
            },
        );
    (
        (
            strings(),
            of(text()),
            of(text()),
            of(text()),
            of(any::<bool>()),
        ),
        (of(text()), of(any::<bool>()), of(visibility), of(meta())),
        (
            of(vec(member, 0..3)),
            of(vec(resource_ref(), 0..2)),
            of(vec(service, 0..2)),
            extra(),
        ),
    )
        .prop_map(
            |(
                (schemas, id, external_id, display_name, public),
                (description, suspended, member_list_visibility, meta),
                (members, administrators, services, extra),
            )| MapGroup {
                schemas,
                id,
                external_id,
                display_name,
                public,
                description,
                suspended,
                member_list_visibility,
                meta,
                members,
                administrators,
                services,
                extra,
            },
        )
        .boxed()
}

fn service() -> BoxedStrategy<MapService> {
    let entity_id = (of(text()), extra()).prop_map(|(value, extra)| EntityId { value, extra });
    (
        (
            strings(),
            of(text()),
            of(text()),
            of(text()),
            of(any::<bool>()),
        ),
        (
            of(meta()),
            of(vec(entity_id, 0..3)),
            of(vec(resource_ref(), 0..2)),
        ),
        (of(vec(resource_ref(), 0..2)), extra()),
    )
        .prop_map(
            |(
                (schemas, id, service_name, service_url, suspended),
                (meta, entity_ids, administrators),
                (groups, extra),
            )| MapService {
                schemas,
                id,
                service_name,
                service_url,
                suspended,
                meta,
                entity_ids,
                administrators,
                groups,
                extra,
            },
        )
        .boxed()
}

fn map_error() -> BoxedStrategy<MapError> {
    (
        strings(),
        of(text()),
        of(text()),
        of(text()),
        of(any::<i64>()),
        extra(),
    )
        .prop_map(
            |(schemas, status, scim_type, detail, error_code, extra)| MapError {
                schemas,
                status,
                scim_type,
                detail,
                error_code,
                extra,
            },
        )
        .boxed()
}

/// A response whose `schemas` names its kind, as a server's would.
fn operation_response() -> BoxedStrategy<OperationResponse> {
    let other = btree_map("[a-z]{1,6}", json(), 0..4)
        .prop_map(|m| OperationResponse::Other(Value::Object(m.into_iter().collect())));
    prop_oneof![
        user().prop_map(|mut u| {
            u.schemas = Some(vec![USER_SCHEMA.into()]);
            OperationResponse::User(Box::new(u))
        }),
        group().prop_map(|mut g| {
            g.schemas = Some(vec![
                "urn:ietf:params:scim:schemas:mace:example.jp:core:2.0:Group".into(),
            ]);
            OperationResponse::Group(Box::new(g))
        }),
        service().prop_map(|mut s| {
            s.schemas = Some(vec![SERVICE_SCHEMA.into()]);
            OperationResponse::Service(Box::new(s))
        }),
        map_error().prop_map(|mut e| {
            e.schemas = Some(vec![ERROR_SCHEMA.into()]);
            OperationResponse::Error(Box::new(e))
        }),
        other,
    ]
    .boxed()
}

fn method() -> BoxedStrategy<BulkMethod> {
    prop::sample::select(BulkMethod::ALL.to_vec()).boxed()
}

fn operation() -> BoxedStrategy<BulkOperation> {
    (
        (method(), of(text()), of(text()), of(json())),
        (
            of(text()),
            of(text()),
            of(operation_response()),
            of(text()),
            extra(),
        ),
    )
        .prop_map(
            |((method, bulk_id, path, data), (version, location, response, status, extra))| {
                BulkOperation {
                    method,
                    bulk_id,
                    path,
                    // A `null` data reads back as absent, so it is not generated.
                    data: data.filter(|d| !d.is_null()),
                    version,
                    location,
                    response,
                    status,
                    extra,
                }
            },
        )
        .boxed()
}

fn patch_operation() -> BoxedStrategy<PatchOperation> {
    let op = prop_oneof![
        Just(PatchOp::Add),
        Just(PatchOp::Remove),
        Just(PatchOp::Replace)
    ];
    (op, of(text()), of(json()), extra())
        .prop_map(|(op, path, value, extra)| PatchOperation {
            op,
            path,
            value: value.filter(|v| !v.is_null()),
            extra,
        })
        .boxed()
}

fn search() -> BoxedStrategy<SearchRequestParameter> {
    let order = prop_oneof![Just(SortOrder::Ascending), Just(SortOrder::Descending)];
    (
        of(text()),
        of(any::<u64>()),
        of(any::<u64>()),
        of(text()),
        of(order),
        of(vec(text(), 0..3)),
        of(vec(text(), 0..3)),
    )
        .prop_map(
            |(filter, start_index, count, sort_by, sort_order, attributes, excluded_attributes)| {
                SearchRequestParameter {
                    filter,
                    start_index,
                    count,
                    sort_by,
                    sort_order,
                    attributes,
                    excluded_attributes,
                }
            },
        )
        .boxed()
}

fn assert_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json)
        .map_err(|e| TestCaseError::fail(format!("{e} reading back {json}")))?;
    prop_assert_eq!(&back, value, "value → JSON → value differs for {}", json);
    prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn user_round_trips(value in user()) { assert_round_trip(&value)?; }

    #[test]
    fn group_round_trips(value in group()) { assert_round_trip(&value)?; }

    #[test]
    fn service_round_trips(value in service()) { assert_round_trip(&value)?; }

    #[test]
    fn error_round_trips(value in map_error()) { assert_round_trip(&value)?; }

    #[test]
    fn meta_round_trips(value in meta()) { assert_round_trip(&value)?; }

    #[test]
    fn timestamp_round_trips(value in timestamp()) { assert_round_trip(&value)?; }

    #[test]
    fn operation_response_round_trips(value in operation_response()) { assert_round_trip(&value)?; }

    #[test]
    fn bulk_operation_round_trips(value in operation()) { assert_round_trip(&value)?; }

    #[test]
    fn bulk_request_round_trips(
        operations in vec(operation(), 0..4),
        fail_on_errors in of(any::<u64>()),
        extra in extra(),
    ) {
        assert_round_trip(&BulkRequestPayload { operations, fail_on_errors, extra })?;
    }

    #[test]
    fn bulk_response_round_trips(operations in vec(operation(), 0..4), extra in extra()) {
        assert_round_trip(&BulkResponsePayload { operations, extra })?;
    }

    #[test]
    fn patch_data_round_trips(
        document in prop_oneof![
            (vec(patch_operation(), 0..4), extra()).prop_map(|(operations, extra)| {
                PatchData::Document(PatchRequestPayload { operations, extra })
            }),
            patch_operation().prop_map(PatchData::Operation),
        ]
    ) {
        assert_round_trip(&document)?;
    }

    #[test]
    fn error_details_name_a_part_of_themselves(
        detail in prop_oneof![
            "[ -~\u{e9}]{0,30}",
            "('[a-z@' ]{0,6}'|[a-z]{0,4}) (Not Found|illegal eduPersonPrincipalNames needs idpEntityId)",
            "(Duplicate id |No append rights for |You do not have creation right of )'?[a-z' ]{0,6}'?",
        ]
    ) {
        if let Some(kind) = ErrorDetail::parse(&detail) {
            prop_assert!(detail.contains(kind.subject()), "{:?}: {:?}", detail, kind);
        }
    }

    #[test]
    fn patch_round_trips(operations in vec(patch_operation(), 0..4), extra in extra()) {
        assert_round_trip(&PatchRequestPayload { operations, extra })?;
    }

    #[test]
    fn list_response_round_trips(
        resources in of(vec(user(), 0..3)),
        total_results in any::<u64>(),
        start_index in of(any::<u64>()),
        items_per_page in of(any::<u64>()),
        schemas in strings(),
        extra in extra(),
    ) {
        assert_round_trip(&ListResponse { schemas, total_results, start_index, items_per_page, resources, extra })?;
    }

    #[test]
    fn search_round_trips(value in search()) { assert_round_trip(&value)?; }

    #[test]
    fn method_round_trips(value in method()) {
        assert_round_trip(&value)?;
        prop_assert_eq!(value.as_str().parse::<BulkMethod>().unwrap(), value);
    }

    /// Whatever JSON comes in, reading it never panics.
    #[test]
    fn any_json_is_read_or_refused(value in json()) {
        let text = value.to_string();
        let _ = serde_json::from_str::<BulkResponsePayload>(&text);
        let _ = serde_json::from_str::<BulkOperation>(&text);
        let _ = serde_json::from_str::<MapUser>(&text);
    }
}
