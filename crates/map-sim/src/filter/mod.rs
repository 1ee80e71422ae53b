//! SCIM filters (RFC 7644 §3.4.2.2) as mAP Core reads them: [`Filter`] for the list
//! endpoints' `filter` and the `[…]` of patch paths, and [`PatchPath`].
//!
//! The grammar is RFC 7644's — `eq ne co sw ew gt ge lt le pr`, `and`, `or`, `not (…)`,
//! parentheses, dotted sub-attributes and `attr[…]` value paths — with what mAP Core's own
//! client writes besides: values unquoted (`members[value eq u1]`, `memberListVisibility eq
//! Public`) or in single quotes (`groups[(value eq 'a') or (value eq 'b')]`). Operators and
//! attribute names are case-insensitive. [`parse`] reads it (winnow); [`eval`] matches.

mod eval;
mod parse;

pub(crate) use eval::field;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// `attr op value`.
    Compare(AttrPath, CompareOp, Literal),
    /// `attr pr`.
    Present(AttrPath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches `filter`.
    ValuePath(AttrPath, Box<Filter>),
}

/// An attribute and, optionally, one of its sub-attributes: `userName`, `emails.value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttrPath {
    pub(crate) name: String,
    pub(crate) sub: Option<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A value compared against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal {
    /// A quoted string (`"a"` or `'a'`), unescaped.
    Text(String),
    /// An unquoted word (`true`, `null`, `42`, `u1`, `Public`): read as the type of the
    /// value it is compared with, so `members[value eq 000000000001]` names an id.
    Bare(String),
}

/// A filter that does not parse, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError(pub(crate) String);

/// A patch operation's `path`: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatchPath {
    pub(crate) attribute: String,
    pub(crate) filter: Option<Filter>,
    pub(crate) sub: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn user() -> Value {
        json!({
            "id": "u1", "userName": "John Doe", "preferredLanguage": "ja",
            "eduPersonPrincipalNames": [{"value": "john@example.ac.jp"}],
            "emails": [{"value": "John@Example.ac.jp"}],
            "groups": [{"value": "jc_repo_a", "$ref": "https://h/api/v2/Groups/jc_repo_a"}],
            "meta": {"resourceType": "User", "created": "2025-08-28T02:03:40Z", "lastModified": "2025-08-28T02:03:40Z"}
        })
    }

    fn matches(filter: &str, resource: &Value) -> bool {
        Filter::parse(filter)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(resource)
    }

    #[test]
    fn every_operator_on_text() {
        let user = user();
        for (filter, expected) in [
            (r#"userName eq "John Doe""#, true),
            (r#"username EQ "john doe""#, true),
            (r#"userName ne "John Doe""#, false),
            (r#"userName co "hn D""#, true),
            (r#"userName sw "Jo""#, true),
            (r#"userName ew "Doe""#, true),
            (r#"userName gt "A""#, true),
            (r#"userName ge "John Doe""#, true),
            (r#"userName lt "A""#, false),
            (r#"userName le "John Doe""#, true),
            ("userName pr", true),
            ("externalId pr", false),
            (r#"id eq "U1""#, false),
        ] {
            assert_eq!(matches(filter, &user), expected, "{filter}");
        }
    }

    #[test]
    fn sub_attributes_of_multi_valued_attributes() {
        let user = user();
        for (filter, expected) in [
            (
                r#"eduPersonPrincipalNames.value eq "john@example.ac.jp""#,
                true,
            ),
            (
                r#"eduPersonPrincipalNames.value eq "JOHN@example.ac.jp""#,
                false,
            ),
            (r#"emails.value eq "john@example.ac.jp""#, true),
            (r#"groups.value sw "jc_repo_""#, true),
            (r#"groups.value ne "jc_repo_a""#, false),
            (r#"groups.value ne "sysadmin""#, true),
            (r#"emails[value co "example"]"#, true),
            (r#"meta.lastModified ge "2025-01-01T15:00:00+00:00""#, true),
            (r#"meta.lastModified lt "2025-08-28T11:03:40+09:00""#, false),
            (r#"meta.lastModified le "2025-08-28T11:03:40+09:00""#, true),
        ] {
            assert_eq!(matches(filter, &user), expected, "{filter}");
        }
    }

    #[test]
    fn logic_parentheses_and_not() {
        let user = user();
        for (filter, expected) in [
            (
                r#"(userName co "x") or (emails.value co "example") or (eduPersonPrincipalNames.value co "x")"#,
                true,
            ),
            (r#"id eq "u1" or id eq "u2""#, true),
            (r#"id eq "u1" and id eq "u2""#, false),
            (r#"id eq "u2" or id eq "u3" and userName pr"#, false),
            (r#"not (id eq "u2")"#, true),
            (r#"not(id eq "u1")"#, false),
            (
                r#"groups.value ne "sysadmin" and (groups.value eq "a" or groups.value eq "jc_repo_a")"#,
                true,
            ),
            (r#"id eq """#, false),
        ] {
            assert_eq!(matches(filter, &user), expected, "{filter}");
        }
    }

    #[test]
    fn unquoted_and_single_quoted_values_and_booleans() {
        let group = json!({"id": "g1", "public": true, "memberListVisibility": "Public",
            "members": [{"type": "User", "value": "u1"}, {"type": "Group", "value": "g2"}],
            "services": [{"value": "s1", "administratorOfGroup": 1}]});
        for (filter, expected) in [
            ("public eq true", true),
            ("public eq false", false),
            ("memberListVisibility eq Public", true),
            (r#"members.type eq "User" and members.value eq "u1""#, true),
            ("members[value eq u1]", true),
            ("members[value eq 'g2' and type eq 'Group']", true),
            ("members[(value eq 'u9') or (value eq 'g2')]", true),
            (r#"members[value eq "u1" and type eq "Group"]"#, false),
            ("services.administratorOfGroup eq 1", true),
        ] {
            assert_eq!(matches(filter, &group), expected, "{filter}");
        }
        let service =
            json!({"id": "s1", "entityIds": [{"value": "https://sp.example.ac.jp/shibboleth"}]});
        for (filter, expected) in [
            (
                r#"entityIds.value eq "https://sp.example.ac.jp/shibboleth""#,
                true,
            ),
            (
                r#"entityIds.value eq "HTTPS://SP.EXAMPLE.AC.JP/shibboleth""#,
                false,
            ),
            (r#"id sw "s""#, true),
        ] {
            assert_eq!(matches(filter, &service), expected, "{filter}");
        }
    }

    #[test]
    fn escapes_in_quoted_values() {
        let user = json!({"userName": "a \"b\" \\ c", "displayName": "it's"});
        assert!(matches(r#"userName eq "a \"b\" \\ c""#, &user));
        assert!(matches(r"displayName eq 'it\'s'", &user));
    }

    #[test]
    fn malformed_filters_are_refused_with_where() {
        for text in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"userName eq "a" or"#,
            r#"(userName eq "a""#,
            r#"userName eq "a" )"#,
            r#"members[value eq "a""#,
            r#"userName eq "\q""#,
        ] {
            let error = Filter::parse(text).unwrap_err();
            assert!(
                error.0.contains("does not parse at character"),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn patch_paths() {
        let path = PatchPath::parse("members[value eq u1]").unwrap();
        assert_eq!(path.attribute, "members");
        assert!(
            path.filter
                .unwrap()
                .matches_element(&json!({"value": "u1"}), "members")
        );
        let path = PatchPath::parse("groups[(value eq 'a') or (value eq 'b')]").unwrap();
        let filter = path.filter.unwrap();
        assert!(filter.matches(&json!({"value": "b"})));
        assert!(!filter.matches(&json!({"value": "c"})));
        let path = PatchPath::parse(r#"emails[value eq "x"].value"#).unwrap();
        assert_eq!(path.sub.as_deref(), Some("value"));
        assert_eq!(PatchPath::parse("displayName").unwrap().filter, None);
        assert!(PatchPath::parse("members[").is_err());
        assert!(PatchPath::parse("").is_err());
    }

    #[test]
    fn unquoted_words_take_the_type_of_what_they_meet() {
        let group = json!({"id": "g1", "members": [{"type": "User", "value": "000000000001"}],
            "services": [{"value": "s1", "administratorOfGroup": 1}], "public": false});
        for (filter, expected) in [
            ("members[value eq 000000000001]", true),
            ("members[value eq 1]", false),
            ("services.administratorOfGroup eq 1", true),
            ("services.administratorOfGroup ge 0.5", true),
            ("services.administratorOfGroup eq one", false),
            ("public eq false", true),
            ("externalId eq null", true),
            ("id eq null", false),
        ] {
            assert_eq!(matches(filter, &group), expected, "{filter}");
        }
    }

    #[test]
    fn ids_inside_value_paths_are_compared_exactly() {
        let group = json!({"members": [{"type": "User", "value": "abc"}],
            "eduPersonPrincipalNames": [{"value": "a@idp"}]});
        assert!(!matches("members[value eq ABC]", &group));
        assert!(matches("members[value eq abc]", &group));
        assert!(matches("members[type eq User]", &group));
        assert!(!matches("eduPersonPrincipalNames[value eq A@idp]", &group));
        let path = PatchPath::parse("members[value eq ABC]").unwrap();
        assert!(
            !path
                .filter
                .unwrap()
                .matches_element(&group["members"][0], "members")
        );
    }

    #[test]
    fn words_end_where_they_should() {
        let resource = json!({"notes": "x", "primary": true, "prefix": "a@b.c",
            "meta": {"created": "2025-01-01T00:00:00Z"}});
        for (filter, expected) in [
            ("notes pr", true),
            ("primary eq true", true),
            ("prefix eq a@b.c", true),
            ("prefix pr and notes pr", true),
            ("meta pr", true),
            ("nothing pr", false),
            ("not (nothing pr)", true),
        ] {
            assert_eq!(matches(filter, &resource), expected, "{filter}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Writes `filter` back as text, fully parenthesised, quoting text as JSON does.
    fn write(filter: &Filter) -> String {
        let path = |p: &AttrPath| match &p.sub {
            Some(sub) => format!("{}.{sub}", p.name),
            None => p.name.clone(),
        };
        match filter {
            Filter::Compare(p, op, literal) => {
                let op = format!("{op:?}").to_lowercase();
                let value = match literal {
                    Literal::Text(text) => serde_json::to_string(text).unwrap_or_default(),
                    Literal::Bare(word) => word.clone(),
                };
                format!("{} {op} {value}", path(p))
            }
            Filter::Present(p) => format!("{} pr", path(p)),
            Filter::And(a, b) => format!("({}) and ({})", write(a), write(b)),
            Filter::Or(a, b) => format!("({}) or ({})", write(a), write(b)),
            Filter::Not(inner) => format!("not ({})", write(inner)),
            Filter::ValuePath(p, inner) => format!("{}[{}]", p.name, write(inner)),
        }
    }

    fn name() -> BoxedStrategy<String> {
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}"
            .prop_filter("not a keyword", |n| {
                !["and", "or", "not", "pr"].contains(&n.to_lowercase().as_str())
            })
            .boxed()
    }

    fn filter() -> impl Strategy<Value = Filter> {
        let op = prop_oneof![
            Just(CompareOp::Eq),
            Just(CompareOp::Ne),
            Just(CompareOp::Co),
            Just(CompareOp::Sw),
            Just(CompareOp::Ew),
            Just(CompareOp::Gt),
            Just(CompareOp::Ge),
            Just(CompareOp::Lt),
            Just(CompareOp::Le),
        ];
        let literal = prop_oneof![
            "[ -~\u{e9}\u{3042}]{0,12}".prop_map(Literal::Text),
            "[a-zA-Z0-9@._:-]{1,10}".prop_map(Literal::Bare),
        ];
        let path = (name(), proptest::option::of(name()))
            .prop_map(|(name, sub)| AttrPath { name, sub })
            .boxed();
        let leaf = prop_oneof![
            (path.clone(), op, literal).prop_map(|(p, o, l)| Filter::Compare(p, o, l)),
            path.prop_map(Filter::Present),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                (name(), inner).prop_map(|(n, f)| Filter::ValuePath(
                    AttrPath { name: n, sub: None },
                    Box::new(f)
                )),
            ]
        })
    }

    proptest! {
        /// Any filter, written out, parses back to itself.
        #[test]
        fn a_written_filter_parses_back_to_itself(filter in filter()) {
            let text = write(&filter);
            prop_assert_eq!(Filter::parse(&text), Ok(filter), "{}", text);
        }
    }
}
