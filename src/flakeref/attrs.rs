//! Input attributes: the name → value map behind every flake reference.
//!
//! Mirrors the Nix source's `fetchers::Attrs` (`src/libfetchers/attrs.cc`): values are strings,
//! unsigned 64-bit integers or Booleans; names are kept in bytewise order, so every printed form
//! (URL query, JSON) follows it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Error;

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Attr {
    /// A string.
    Str(String),
    /// An unsigned integer.
    Int(u64),
    /// A Boolean.
    Bool(bool),
}

/// Attributes in bytewise name order.
pub type Attrs = BTreeMap<String, Attr>;

/// Converts a JSON object to attributes (Nix's `jsonToAttrs`).
pub fn from_json(obj: &Map<String, Value>) -> Result<Attrs, Error> {
    obj.iter()
        .map(|(k, v)| {
            let attr = match v {
                Value::String(s) => Attr::Str(s.clone()),
                Value::Bool(b) => Attr::Bool(*b),
                Value::Number(n) => Attr::Int(n.as_u64().ok_or_else(|| {
                    Error::Invalid(format!("input attribute '{k}' is not an unsigned integer"))
                })?),
                _ => {
                    return Err(Error::Invalid(
                        "unsupported input attribute type in lock file".into(),
                    ));
                }
            };
            Ok((k.clone(), attr))
        })
        .collect()
}

/// Converts attributes to a JSON object, keys in bytewise order.
pub fn to_json(attrs: &Attrs) -> Map<String, Value> {
    attrs
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Attr::Str(s) => Value::String(s.clone()),
                Attr::Int(n) => Value::from(*n),
                Attr::Bool(b) => Value::Bool(*b),
            };
            (k.clone(), value)
        })
        .collect()
}

/// Returns the compact JSON of attributes, as Nix shows them in messages.
pub fn to_compact_json(attrs: &Attrs) -> String {
    Value::Object(to_json(attrs)).to_string()
}

/// Returns a string attribute, `None` if absent, an error if of another type.
pub fn get_str<'a>(attrs: &'a Attrs, name: &str) -> Result<Option<&'a str>, Error> {
    match attrs.get(name) {
        None => Ok(None),
        Some(Attr::Str(s)) => Ok(Some(s)),
        Some(_) => Err(Error::Invalid(format!(
            "input attribute '{name}' is not a string {}",
            to_compact_json(attrs)
        ))),
    }
}

/// Returns a required string attribute.
pub fn req_str<'a>(attrs: &'a Attrs, name: &str) -> Result<&'a str, Error> {
    get_str(attrs, name)?
        .ok_or_else(|| Error::Invalid(format!("input attribute '{name}' is missing")))
}

/// Returns an integer attribute, `None` if absent, an error if of another type.
pub fn get_int(attrs: &Attrs, name: &str) -> Result<Option<u64>, Error> {
    match attrs.get(name) {
        None => Ok(None),
        Some(Attr::Int(n)) => Ok(Some(*n)),
        Some(_) => Err(Error::Invalid(format!(
            "input attribute '{name}' is not an integer"
        ))),
    }
}

/// Returns a Boolean attribute, `None` if absent, an error if of another type.
pub fn get_bool(attrs: &Attrs, name: &str) -> Result<Option<bool>, Error> {
    match attrs.get(name) {
        None => Ok(None),
        Some(Attr::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Error::Invalid(format!(
            "input attribute '{name}' is not a Boolean"
        ))),
    }
}

/// Renders an attribute as a URL query value: integers in decimal, Booleans as `1`/`0`.
pub fn to_query_value(attr: &Attr) -> String {
    match attr {
        Attr::Str(s) => s.clone(),
        Attr::Int(n) => n.to_string(),
        Attr::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
    }
}
