//! How the models meet serde: field-naming errors and lossless objects.
//!
//! Every resource type of this crate is an object whose known attributes are optional and whose
//! unknown attributes are kept in an `extra` map, so that a document read and written back loses
//! nothing. [`wire_struct!`] writes the struct and its serde impls from one list of
//! `field => "wireName"` pairs; errors it reports start with the wire name of the field that was
//! wrong (`emails: invalid type: string "x", expected a sequence at line 1 column 12`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

/// Prefixes a deserialization error with the wire name of the field it happened in.
///
/// serde_json moves a trailing ` at line L column C` of a custom message back into the error's
/// position, so nested fields read `Operations[2]: response: emails: …` with one position.
pub(crate) fn in_field<E: de::Error>(field: &str, error: E) -> E {
    let message = error.to_string();
    if message.starts_with('[') {
        // An element of an array: `Operations[3]: …`.
        E::custom(format_args!("{field}{message}"))
    } else {
        E::custom(format_args!("{field}: {message}"))
    }
}

/// The error for a field given twice in one object.
pub(crate) fn duplicate_field<E: de::Error>(field: &str) -> E {
    E::custom(format_args!("duplicate field `{field}`"))
}

/// Reads a JSON array of `T`, naming the index of an element that fails (`[3]: …`).
pub(crate) struct IndexedSeq<T>(std::marker::PhantomData<T>);

impl<T> IndexedSeq<T> {
    pub(crate) fn new() -> Self {
        IndexedSeq(std::marker::PhantomData)
    }
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for IndexedSeq<T> {
    type Value = Vec<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for IndexedSeq<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // A hint from the input is not trusted beyond a modest size.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let index = items.len();
            match seq.next_element::<T>() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return Ok(items),
                Err(error) => return Err(de::Error::custom(format_args!("[{index}]: {error}"))),
            }
        }
    }
}

pub(crate) fn set_once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    field: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(duplicate_field(field));
    }
    *slot = Some(map.next_value().map_err(|e| in_field(field, e))?);
    Ok(())
}

/// Like [`set_once`] for an optional field: `null` leaves it unset.
pub(crate) fn set_once_opt<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    field: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(duplicate_field(field));
    }
    *slot = map.next_value().map_err(|e| in_field(field, e))?;
    Ok(())
}

/// Like [`set_once`] for an array, naming the index of an element that fails.
pub(crate) fn set_once_seq<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<Vec<T>>,
    field: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(duplicate_field(field));
    }
    *slot = Some(
        map.next_value_seed(IndexedSeq::new())
            .map_err(|e| in_field(field, e))?,
    );
    Ok(())
}

/// Reads the `schemas` of a message whose `schemas` is read-only: it must list `expected`.
pub(crate) fn read_read_only_schemas<'de, A: MapAccess<'de>>(
    seen: &mut bool,
    expected: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    if std::mem::replace(seen, true) {
        return Err(duplicate_field("schemas"));
    }
    let schemas: Vec<String> = map.next_value().map_err(|e| in_field("schemas", e))?;
    if schemas.iter().any(|urn| urn == expected) {
        Ok(())
    } else {
        Err(de::Error::custom(format_args!(
            "schemas: expected [{expected:?}], found {schemas:?}"
        )))
    }
}

pub(crate) fn insert_extra<'de, A: MapAccess<'de>>(
    extra: &mut Map<String, Value>,
    key: String,
    map: &mut A,
) -> Result<(), A::Error> {
    let value = map.next_value()?;
    if extra.contains_key(&key) {
        return Err(duplicate_field(&key));
    }
    extra.insert(key, value);
    Ok(())
}

/// Writes the unknown attributes, leaving out any that would repeat a modelled one.
pub(crate) fn serialize_extra<M: SerializeMap>(
    map: &mut M,
    extra: &Map<String, Value>,
    modelled: &[&str],
) -> Result<(), M::Error> {
    for (key, value) in extra {
        if !modelled.contains(&key.as_str()) {
            map.serialize_entry(key, value)?;
        }
    }
    Ok(())
}

/// Defines a lossless wire object: every listed field optional and written under its wire name
/// in the listed order, then every unknown attribute from `extra`.
///
/// A `null` reads as an absent field; a field given twice is refused; any other attribute is kept
/// in `extra` exactly as it came.
macro_rules! wire_struct {
    (
        $(#[$struct_meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident : $ty:ty => $wire:literal,
            )*
        }
    ) => {
        $(#[$struct_meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[doc = concat!("\n\nOn the wire: `", $wire, "`.")]
                pub $field: Option<$ty>,
            )*
            /// Attributes this crate does not model, kept as they came so that a document read,
            /// edited and written back erases nothing the server added.
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $(
                    if let Some(value) = &self.$field {
                        map.serialize_entry($wire, value)?;
                    }
                )*
                $crate::wire::serialize_extra(&mut map, &self.extra, &[$($wire),*])?;
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut object = $name::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $(
                                    $wire => $crate::wire::set_once_opt(&mut object.$field, $wire, &mut map)?,
                                )*
                                _ => $crate::wire::insert_extra(&mut object.extra, key, &mut map)?,
                            }
                        }
                        Ok(object)
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

pub(crate) use wire_struct;
