//! The filter grammar, with winnow.

use winnow::ascii::{Caseless, multispace0, multispace1};
use winnow::combinator::{alt, delimited, opt, preceded, repeat, terminated};
use winnow::error::{ContextError, ErrMode};
use winnow::prelude::*;
use winnow::token::{any, none_of, one_of, take_while};

use super::{AttrPath, CompareOp, Filter, FilterError, Literal, PatchPath};

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

/// An unquoted word, up to a space, a bracket or a quote.
fn bare(input: &mut Input<'_>) -> ModalResult<Literal> {
    take_while(1.., |c: char| {
        !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '"' | '\'')
    })
    .map(|word: &str| Literal::Bare(word.to_owned()))
    .parse_next(input)
}
