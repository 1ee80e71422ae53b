//! [`Attributes`]: a resource's attributes kept compact — each attribute's name and its
//! value as JSON text — so that the hundreds of thousands of resources a sync holds (what
//! mAP Core has, and what the files want) fit in a few hundred bytes each. A
//! `serde_json::Map` spends a B-tree node (over 600 bytes) on every object, down to each
//! `{"value": …}` of a multi-valued attribute.
//!
//! Values are parsed when they are looked at; two attributes with the same text are equal
//! without parsing, which is the common case when planning.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Attributes by wire name, each value kept as JSON text, in name order.
///
/// ```
/// use map_sync::Attributes;
/// use serde_json::json;
///
/// let mut user = Attributes::from(json!({"userName": "Ann", "emails": [{"value": "ann@example.ac.jp"}]}));
/// assert_eq!(user.string("userName").as_deref(), Some("Ann"));
/// assert_eq!(user.get("emails"), Some(json!([{"value": "ann@example.ac.jp"}])));
/// user.insert("preferredLanguage", &json!("ja"));
/// assert_eq!(user.names().collect::<Vec<_>>(), ["emails", "preferredLanguage", "userName"]);
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    entries: Vec<(Box<str>, Box<str>)>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Attributes::default()
    }

    /// The value of `name`, parsed.
    pub fn get(&self, name: &str) -> Option<Value> {
        serde_json::from_str(self.text(name)?).ok()
    }

    /// The value of `name` as JSON text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.position(name).ok().map(|i| &*self.entries[i].1)
    }

    /// The value of `name` when it is a string (borrowed when it needs no unescaping).
    pub fn string(&self, name: &str) -> Option<Cow<'_, str>> {
        let text = self.text(name)?;
        let inner = text.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') {
            serde_json::from_str::<String>(text).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    /// The value of `name` when it is a string that JSON writes without escapes (as every
    /// mAP id is), borrowed; `None` otherwise.
    pub fn plain_str(&self, name: &str) -> Option<&str> {
        let inner = self.text(name)?.strip_prefix('"')?.strip_suffix('"')?;
        (!inner.contains('\\')).then_some(inner)
    }

    /// Whether `name` is given (`null` included).
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// The names given, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| &**name)
    }

    /// Each name with its value as JSON text, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, t)| (&**n, &**t))
    }

    /// Sets `name` to `value`.
    pub fn insert(&mut self, name: &str, value: &Value) {
        let text: Box<str> = value.to_string().into();
        match self.position(name) {
            Ok(i) => self.entries[i].1 = text,
            Err(i) => self.entries.insert(i, (name.into(), text)),
        }
    }

    /// Removes `name`, giving back its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.position(name).ok()?;
        let (_, text) = self.entries.remove(i);
        serde_json::from_str(&text).ok()
    }

    /// How many attributes are given.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The attributes as a JSON object.
    pub fn to_map(&self) -> Map<String, Value> {
        self.entries
            .iter()
            .filter_map(|(name, text)| Some((name.to_string(), serde_json::from_str(text).ok()?)))
            .collect()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(n, _)| (**n).cmp(name))
    }
}

impl From<Map<String, Value>> for Attributes {
    fn from(map: Map<String, Value>) -> Self {
        // A serde_json Map iterates in key order: the entries come out sorted.
        let mut entries: Vec<(Box<str>, Box<str>)> = map
            .into_iter()
            .map(|(name, value)| (name.into(), value.to_string().into()))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.shrink_to_fit();
        Attributes { entries }
    }
}

impl From<Value> for Attributes {
    /// The attributes of an object; anything else has none.
    fn from(value: Value) -> Self {
        match value {
            Value::Object(map) => map.into(),
            _ => Attributes::default(),
        }
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, text) in &self.entries {
            let raw: &RawValue = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
            map.serialize_entry(&**name, raw)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::<String, Value>::deserialize(deserializer).map(Attributes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn it_round_trips_through_serde_and_keeps_escapes() {
        let attributes = Attributes::from(json!({"b": [1, {"x": null}], "a": "quote \" here"}));
        assert_eq!(attributes.string("a").as_deref(), Some("quote \" here"));
        let text = serde_json::to_string(&attributes).unwrap_or_default();
        assert_eq!(text, r#"{"a":"quote \" here","b":[1,{"x":null}]}"#);
        let back: Attributes = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, attributes);
        assert_eq!(
            back.to_map(),
            json!({"a": "quote \" here", "b": [1, {"x": null}]})
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
    }

    #[test]
    fn insert_and_remove_keep_names_in_order() {
        let mut attributes = Attributes::new();
        attributes.insert("userName", &json!("A"));
        attributes.insert("emails", &json!([]));
        attributes.insert("userName", &json!("B"));
        assert_eq!(
            attributes.names().collect::<Vec<_>>(),
            ["emails", "userName"]
        );
        assert_eq!(attributes.remove("emails"), Some(json!([])));
        assert_eq!(attributes.get("userName"), Some(json!("B")));
        assert!(!attributes.contains("emails"));
    }
}
