//! SCIM filters (RFC 7644 §3.4.2.2) as mAP Core reads them: [`Filter`] for the list
//! endpoints' `filter` and the `[…]` of patch paths, and [`PatchPath`].
//!
//! The grammar is RFC 7644's — `eq ne co sw ew gt ge lt le pr`, `and`, `or`, `not (…)`,
//! parentheses, dotted sub-attributes and `attr[…]` value paths — with what mAP Core's own
//! client writes besides: values unquoted (`members[value eq u1]`, `memberListVisibility eq
//! Public`) or in single quotes (`groups[(value eq 'a') or (value eq 'b')]`). Operators and
//! attribute names are case-insensitive.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::Value;
use winnow::ascii::{Caseless, multispace0, multispace1};
use winnow::combinator::{alt, delimited, opt, preceded, repeat, terminated};
use winnow::error::{ContextError, ErrMode};
use winnow::prelude::*;
use winnow::token::{any, none_of, one_of, take_while};

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
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// A filter that does not parse, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError(pub(crate) String);

impl Filter {
    /// Parses a whole filter.
    pub(crate) fn parse(text: &str) -> Result<Filter, FilterError> {
        delimited(multispace0, filter, multispace0)
            .parse(text)
            .map_err(|error| {
                FilterError(format!(
                    "filter {text:?} does not parse at character {}",
                    error.offset()
                ))
            })
    }

    /// Whether `resource` (a JSON object, or an element of a multi-valued attribute) matches.
    pub(crate) fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::Compare(path, op, literal) => {
                let values = values_at(resource, path);
                let exact = is_case_exact(path);
                match op {
                    // Not equal: no value is equal (an absent attribute is not equal).
                    CompareOp::Ne => !values
                        .iter()
                        .any(|v| compare(v, CompareOp::Eq, literal, exact)),
                    _ if values.is_empty() => *op == CompareOp::Eq && *literal == Literal::Null,
                    _ => values.iter().any(|v| compare(v, *op, literal, exact)),
                }
            }
            Filter::Present(path) => values_at(resource, path).iter().any(|v| !v.is_null()),
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(inner) => !inner.matches(resource),
            Filter::ValuePath(path, inner) => elements(resource, &path.name)
                .iter()
                .any(|element| inner.matches(element)),
        }
    }
}

/// A patch operation's `path`: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatchPath {
    pub(crate) attribute: String,
    pub(crate) filter: Option<Filter>,
    pub(crate) sub: Option<String>,
}

impl PatchPath {
    /// Parses a whole patch path.
    pub(crate) fn parse(text: &str) -> Result<PatchPath, FilterError> {
        let path = (
            attribute_name,
            opt(delimited(('[', multispace0), filter, (multispace0, ']'))),
            opt(preceded('.', attribute_name)),
        );
        delimited(multispace0, path, multispace0)
            .map(|(attribute, filter, sub)| PatchPath {
                attribute: attribute.to_owned(),
                filter,
                sub: sub.map(str::to_owned),
            })
            .parse(text)
            .map_err(|error| {
                FilterError(format!(
                    "path {text:?} does not parse at character {}",
                    error.offset()
                ))
            })
    }
}

type Input<'a> = &'a str;

fn filter(input: &mut Input<'_>) -> ModalResult<Filter> {
    let first = and_expression.parse_next(input)?;
    let rest: Vec<Filter> = repeat(
        0..,
        preceded((multispace1, Caseless("or"), multispace1), and_expression),
    )
    .parse_next(input)?;
    Ok(rest
        .into_iter()
        .fold(first, |a, b| Filter::Or(Box::new(a), Box::new(b))))
}

fn and_expression(input: &mut Input<'_>) -> ModalResult<Filter> {
    let first = unary.parse_next(input)?;
    let rest: Vec<Filter> = repeat(
        0..,
        preceded((multispace1, Caseless("and"), multispace1), unary),
    )
    .parse_next(input)?;
    Ok(rest
        .into_iter()
        .fold(first, |a, b| Filter::And(Box::new(a), Box::new(b))))
}

fn unary(input: &mut Input<'_>) -> ModalResult<Filter> {
    alt((
        preceded((Caseless("not"), multispace0), grouped).map(|f| Filter::Not(Box::new(f))),
        grouped,
        value_path,
        attribute_expression,
    ))
    .parse_next(input)
}

fn grouped(input: &mut Input<'_>) -> ModalResult<Filter> {
    delimited(('(', multispace0), filter, (multispace0, ')')).parse_next(input)
}

fn value_path(input: &mut Input<'_>) -> ModalResult<Filter> {
    (
        attribute_name,
        delimited(('[', multispace0), filter, (multispace0, ']')),
    )
        .map(|(name, inner)| {
            Filter::ValuePath(
                AttrPath {
                    name: name.to_owned(),
                    sub: None,
                },
                Box::new(inner),
            )
        })
        .parse_next(input)
}

fn attribute_expression(input: &mut Input<'_>) -> ModalResult<Filter> {
    let path = attribute_path.parse_next(input)?;
    multispace1.parse_next(input)?;
    if opt(terminated(Caseless("pr"), word_end))
        .parse_next(input)?
        .is_some()
    {
        return Ok(Filter::Present(path));
    }
    let op = compare_op.parse_next(input)?;
    multispace1.parse_next(input)?;
    let value = literal.parse_next(input)?;
    Ok(Filter::Compare(path, op, value))
}

/// Succeeds (consuming nothing) where a word ends.
fn word_end(input: &mut Input<'_>) -> ModalResult<()> {
    match input.chars().next() {
        None => Ok(()),
        Some(c) if c.is_whitespace() || matches!(c, ')' | ']') => Ok(()),
        Some(_) => Err(ErrMode::Backtrack(ContextError::new())),
    }
}

fn compare_op(input: &mut Input<'_>) -> ModalResult<CompareOp> {
    terminated(
        alt((
            Caseless("eq").value(CompareOp::Eq),
            Caseless("ne").value(CompareOp::Ne),
            Caseless("co").value(CompareOp::Co),
            Caseless("sw").value(CompareOp::Sw),
            Caseless("ew").value(CompareOp::Ew),
            Caseless("gt").value(CompareOp::Gt),
            Caseless("ge").value(CompareOp::Ge),
            Caseless("lt").value(CompareOp::Lt),
            Caseless("le").value(CompareOp::Le),
        )),
        word_end,
    )
    .parse_next(input)
}

fn attribute_path(input: &mut Input<'_>) -> ModalResult<AttrPath> {
    (attribute_name, opt(preceded('.', attribute_name)))
        .map(|(name, sub): (&str, Option<&str>)| AttrPath {
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
        .parse_next(input)
}

/// An attribute name: a letter (or `$`, for `$ref`), then letters, digits, `-` and `_`.
fn attribute_name<'a>(input: &mut Input<'a>) -> ModalResult<&'a str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '$'),
        take_while(0.., |c: char| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        }),
    )
        .take()
        .parse_next(input)
}

fn literal(input: &mut Input<'_>) -> ModalResult<Literal> {
    alt((double_quoted, single_quoted, bare)).parse_next(input)
}

/// A JSON string: escapes as JSON has them.
fn double_quoted(input: &mut Input<'_>) -> ModalResult<Literal> {
    let text = (
        '"',
        repeat::<_, _, (), _, _>(
            0..,
            alt((preceded('\\', any).void(), none_of(['"', '\\']).void())),
        ),
        '"',
    )
        .take()
        .parse_next(input)?;
    serde_json::from_str::<String>(text)
        .map(Literal::Text)
        .map_err(|_| ErrMode::Cut(ContextError::new()))
}

/// `'text'`, as mAP Core's own client quotes values in patch paths (`\'` escapes a quote).
fn single_quoted(input: &mut Input<'_>) -> ModalResult<Literal> {
    let body = delimited(
        '\'',
        repeat::<_, _, (), _, _>(
            0..,
            alt((preceded('\\', any).void(), none_of(['\'', '\\']).void())),
        )
        .take(),
        '\'',
    )
    .parse_next(input)?;
    let mut text = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        text.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    Ok(Literal::Text(text))
}

/// An unquoted value, up to a space, `)` or `]`: `true`, `false`, `null`, a number, or else
/// text (`u1`, `Public`).
fn bare(input: &mut Input<'_>) -> ModalResult<Literal> {
    let word = take_while(1.., |c: char| {
        !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '"' | '\'')
    })
    .parse_next(input)?;
    Ok(match word {
        "true" => Literal::Bool(true),
        "false" => Literal::Bool(false),
        "null" => Literal::Null,
        _ => match word.parse::<f64>() {
            Ok(number) if word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                Literal::Number(number)
            }
            _ => Literal::Text(word.to_owned()),
        },
    })
}

/// The values `path` names in `resource`: the attribute's value, or each element of a
/// multi-valued one; with a sub-attribute, that of each (complex) value. A complex value
/// without a sub-attribute named stands for its `value`.
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    elements(resource, &path.name)
        .into_iter()
        .filter_map(|element| match (&path.sub, element) {
            (Some(sub), element) => field(element, sub),
            (None, Value::Object(_)) => field(element, "value"),
            (None, element) => Some(element),
        })
        .collect()
}

/// The attribute `name` of `resource` as a list: each element of an array, or the value.
fn elements<'a>(resource: &'a Value, name: &str) -> Vec<&'a Value> {
    match field(resource, name) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(value) => vec![value],
    }
}

/// A field of an object, its name matched case-insensitively.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// Ids, external ids, ePPNs and references are compared exactly; other text ignores case
/// (RFC 7643's `caseExact` of each attribute).
fn is_case_exact(path: &AttrPath) -> bool {
    let name = path.name.as_str();
    let sub = path.sub.as_deref();
    ["id", "externalId"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
        || name.eq_ignore_ascii_case("eduPersonPrincipalNames")
        || name.eq_ignore_ascii_case("entityIds")
        || (!name.eq_ignore_ascii_case("emails")
            && sub.is_some_and(|s| s.eq_ignore_ascii_case("value") || s == "$ref"))
        || (sub.is_none()
            && ["members", "groups", "services", "administrators"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name)))
}

fn compare(value: &Value, op: CompareOp, literal: &Literal, exact: bool) -> bool {
    match (value, literal) {
        (Value::String(text), Literal::Text(wanted)) => compare_text(text, op, wanted, exact),
        (Value::Number(number), Literal::Number(wanted)) => number
            .as_f64()
            .and_then(|n| n.partial_cmp(wanted))
            .is_some_and(|ordering| ordered(ordering, op)),
        (Value::Bool(flag), Literal::Bool(wanted)) => match op {
            CompareOp::Eq => flag == wanted,
            _ => false,
        },
        // `memberListVisibility eq Public`, `administratorOfGroup eq 1` written as text…
        (Value::Bool(flag), Literal::Text(wanted)) => {
            op == CompareOp::Eq && flag.to_string() == *wanted
        }
        (Value::Null, Literal::Null) => op == CompareOp::Eq,
        _ => false,
    }
}

fn compare_text(text: &str, op: CompareOp, wanted: &str, exact: bool) -> bool {
    // Date-times compare as instants, whatever their offsets.
    if matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    ) {
        if let (Ok(a), Ok(b)) = (
            DateTime::parse_from_rfc3339(text),
            DateTime::parse_from_rfc3339(wanted),
        ) {
            return ordered(a.cmp(&b), op);
        }
    }
    let (text, wanted) = if exact {
        (text.to_owned(), wanted.to_owned())
    } else {
        (text.to_lowercase(), wanted.to_lowercase())
    };
    match op {
        CompareOp::Eq => text == wanted,
        CompareOp::Ne => text != wanted,
        CompareOp::Co => text.contains(&wanted),
        CompareOp::Sw => text.starts_with(&wanted),
        CompareOp::Ew => text.ends_with(&wanted),
        _ => ordered(text.cmp(&wanted), op),
    }
}

fn ordered(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert!(path.filter.unwrap().matches(&json!({"value": "u1"})));
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
}
