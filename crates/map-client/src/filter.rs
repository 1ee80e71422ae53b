//! [`Filter`]: SCIM filter expressions (RFC 7644 §3.4.2.2) built so that no caller quotes by
//! hand: every value is written as a JSON string, its quotes, backslashes and control
//! characters escaped.

use std::fmt;

/// A filter expression, as sent in a search's `filter` parameter.
///
/// ```
/// use map_client::Filter;
///
/// let by_eppn = Filter::eq("eduPersonPrincipalNames.value", r#"o'brien"x@idp.ac.jp"#);
/// assert_eq!(by_eppn.as_str(), r#"eduPersonPrincipalNames.value eq "o'brien\"x@idp.ac.jp""#);
///
/// let lab = Filter::sw("id", "jc_repo_").and(Filter::present("members"));
/// assert_eq!(lab.to_string(), r#"(id sw "jc_repo_") and (members pr)"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter(String);

impl Filter {
    /// `attribute eq "value"`: equal (case as the attribute defines).
    pub fn eq(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "eq", value)
    }

    /// `attribute ne "value"`: not equal.
    pub fn ne(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "ne", value)
    }

    /// `attribute co "value"`: contains.
    pub fn co(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "co", value)
    }

    /// `attribute sw "value"`: starts with.
    pub fn sw(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "sw", value)
    }

    /// `attribute ew "value"`: ends with.
    pub fn ew(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "ew", value)
    }

    /// `attribute gt "value"`: greater than (strings and timestamps compare as text).
    pub fn gt(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "gt", value)
    }

    /// `attribute ge "value"`: greater than or equal.
    pub fn ge(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "ge", value)
    }

    /// `attribute lt "value"`: less than.
    pub fn lt(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "lt", value)
    }

    /// `attribute le "value"`: less than or equal.
    pub fn le(attribute: &str, value: &str) -> Self {
        Self::compare(attribute, "le", value)
    }

    /// `attribute pr`: the attribute has a value.
    pub fn present(attribute: &str) -> Self {
        Filter(format!("{attribute} pr"))
    }

    /// `(self) and (other)`.
    pub fn and(self, other: Filter) -> Self {
        Filter(format!("({}) and ({})", self.0, other.0))
    }

    /// `(self) or (other)`.
    pub fn or(self, other: Filter) -> Self {
        Filter(format!("({}) or ({})", self.0, other.0))
    }

    /// The expression's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `attribute` is a path as SCIM writes it (`userName`, `emails.value`); it is written as
    /// given, and only the value is quoted.
    fn compare(attribute: &str, operator: &str, value: &str) -> Self {
        Filter(format!("{attribute} {operator} {}", quoted(value)))
    }
}

/// `!filter` is `not (filter)`.
impl std::ops::Not for Filter {
    type Output = Filter;

    fn not(self) -> Filter {
        Filter(format!("not ({})", self.0))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `value` as a JSON string.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn values_are_json_strings_whatever_they_hold() {
        let tricky = "a\"b\\c\nd\u{1}é 名";
        let filter = Filter::eq("userName", tricky);
        let value = filter.as_str().strip_prefix("userName eq ").unwrap();
        assert_eq!(serde_json::from_str::<String>(value).unwrap(), tricky);
        assert_eq!(value, r#""a\"b\\c\nd\u0001é 名""#);
    }

    #[test]
    fn expressions_combine_with_parentheses() {
        let filter = !Filter::eq("a", "1").or(Filter::ne("b", "2"));
        assert_eq!(filter.as_str(), r#"not ((a eq "1") or (b ne "2"))"#);
    }
}
