//! Flake registries: the `registry.json` model, its four layers, and resolution.
//!
//! Mirrors the Nix source's `src/libflake/flake-registry.cc` (older: `libfetchers/registry.cc`)
//! and `src/nix/registry.cc`, as specified in the project spec
//! `flakeref-registry-fetchers.md`, Part 6.
//!
//! - [`Registry`] and [`Entry`]: the version-2 file format, read entry by entry (a bad entry
//!   stops the reading but keeps the entries before it, as Nix does) and written exactly as Nix
//!   writes it (sorted keys, 2-space indentation, no trailing newline, `"flakes": null` when empty).
//! - [`resolve`]: matching, unification and the resolution loop.
//! - [`layers`]: loading the flag, user, system and global layers (effects).
//! - [`global`]: downloading and caching the global registry (effects).
//! - [`builtin`]: the snapshot of the default global registry used when it cannot be had.
//!
//! # Deviations
//!
//! - `registry add`/`remove`/`pin` refuse to rewrite a target file that is malformed or of
//!   another version (Nix warns, then overwrites it, losing its entries); the file is left as is.
//! - When the default global registry (the `flake-registry` setting was not set) cannot be
//!   downloaded and is not cached, rflake uses a built-in snapshot with a warning; Nix fails.
//! - The text after `cannot parse flake registry '<path>': ` is serde_json's message, not
//!   nlohmann's.

pub mod builtin;
pub mod edit;
pub mod global;
pub mod layers;
pub mod resolve;

use serde_json::{Map, Value};

use crate::flakeref::{self, Attr, Input, attrs};
use crate::report::Reporter;

/// One registry entry: `from` is replaced by `to` (plus `dir`) when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The reference the entry matches.
    pub from: Input,
    /// The reference it is replaced by (without `dir`).
    pub to: Input,
    /// The `dir` attribute of `to` (Nix's "extra attributes"), empty if none.
    pub dir: String,
    /// Match only identical references, and do not apply their ref/rev.
    pub exact: bool,
}

/// A registry: entries in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

/// Why a registry file could not be read (completely).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("cannot parse flake registry '{path}': {message}")]
    Parse {
        /// The file, as shown to the user.
        path: String,
        /// The JSON library's message.
        message: String,
    },
    /// A bad version or a bad entry.
    #[error("cannot read flake registry '{path}': error: {message}")]
    Read {
        /// The file, as shown to the user.
        path: String,
        /// What was wrong.
        message: String,
    },
}

/// The outcome of reading a registry file: the entries read, and the error that stopped the
/// reading early, if any.
#[derive(Debug)]
pub struct ReadResult {
    /// Entries read before any error.
    pub registry: Registry,
    /// The error that stopped the reading.
    pub error: Option<ReadError>,
}

impl Registry {
    /// Reads a registry file's contents; `path` names it in messages.
    pub fn read(bytes: &[u8], path: &str, report: &dyn Reporter) -> ReadResult {
        let mut registry = Registry::default();
        let parse_err = |message: String| ReadError::Parse {
            path: path.to_owned(),
            message,
        };
        let read_err = |message: String| ReadError::Read {
            path: path.to_owned(),
            message,
        };
        let json: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                return ReadResult {
                    registry,
                    error: Some(parse_err(e.to_string())),
                };
            }
        };
        let error = (|| {
            let obj = json
                .as_object()
                .ok_or_else(|| parse_err("type must be object".into()))?;
            let version = match obj.get("version") {
                None => 0,
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| parse_err("type must be number".into()))?,
            };
            if version != 2 {
                return Err(read_err(format!(
                    "flake registry '{path}' has unsupported version {version}"
                )));
            }
            let flakes = match obj.get("flakes") {
                None | Some(Value::Null) => return Ok(()),
                Some(Value::Array(a)) => a,
                Some(_) => return Err(parse_err("'flakes' must be an array".into())),
            };
            for item in flakes {
                let entry = Entry::from_json(item, report).map_err(|e| match e {
                    EntryError::Shape(m) => parse_err(m),
                    EntryError::Input(e) => read_err(e.to_string()),
                })?;
                registry.entries.push(entry);
            }
            Ok(())
        })()
        .err();
        ReadResult { registry, error }
    }

    /// Returns the file contents Nix writes for this registry (no trailing newline).
    pub fn to_json_string(&self) -> String {
        let flakes = if self.entries.is_empty() {
            Value::Null
        } else {
            Value::Array(self.entries.iter().map(Entry::to_json).collect())
        };
        let mut top = Map::new();
        top.insert("flakes".into(), flakes);
        top.insert("version".into(), Value::from(2));
        serde_json::to_string_pretty(&Value::Object(top)).unwrap_or_default()
    }

    /// Removes every entry whose `from` equals `from` exactly.
    pub fn remove(&mut self, from: &Input) {
        self.entries.retain(|e| &e.from != from);
    }

    /// Replaces the entries for `entry.from` by `entry`, appended at the end.
    pub fn add(&mut self, entry: Entry) {
        self.remove(&entry.from);
        self.entries.push(entry);
    }
}

enum EntryError {
    Shape(String),
    Input(flakeref::Error),
}

impl Entry {
    fn from_json(v: &Value, report: &dyn Reporter) -> Result<Entry, EntryError> {
        let obj = |v: Option<&Value>, what: &str| match v {
            Some(Value::Object(o)) => Ok(o.clone()),
            _ => Err(EntryError::Shape(format!(
                "'{what}' of a registry entry must be an object"
            ))),
        };
        let from_attrs =
            attrs::from_json(&obj(v.get("from"), "from")?).map_err(EntryError::Input)?;
        let from = Input::from_attrs(from_attrs, report).map_err(EntryError::Input)?;
        let mut to_attrs = attrs::from_json(&obj(v.get("to"), "to")?).map_err(EntryError::Input)?;
        let dir = match to_attrs.remove("dir") {
            Some(Attr::Str(d)) => d,
            None => String::new(),
            Some(_) => {
                let msg = "input attribute 'dir' is not a string".to_owned();
                return Err(EntryError::Input(flakeref::Error::Invalid(msg)));
            }
        };
        let to = Input::from_attrs(to_attrs, report).map_err(EntryError::Input)?;
        let exact = match v.get("exact") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(EntryError::Shape("'exact' must be a Boolean".into())),
        };
        Ok(Entry {
            from,
            to,
            dir,
            exact,
        })
    }

    /// The entry as `registry list --json` shows it (an rflake addition): its `layer`, `from`
    /// and `to` in attribute form (`to` with its `dir`), and `exact`.
    pub fn listing_json(&self, layer: &str) -> Value {
        let mut to = attrs::to_json(self.to.attrs());
        if !self.dir.is_empty() {
            to.insert("dir".into(), Value::String(self.dir.clone()));
        }
        let mut e = Map::new();
        e.insert("exact".into(), Value::Bool(self.exact));
        e.insert(
            "from".into(),
            Value::Object(attrs::to_json(self.from.attrs())),
        );
        e.insert("layer".into(), Value::String(layer.to_owned()));
        e.insert("to".into(), Value::Object(to));
        Value::Object(e)
    }

    fn to_json(&self) -> Value {
        let mut to = attrs::to_json(self.to.attrs());
        if !self.dir.is_empty() {
            to.insert("dir".into(), Value::String(self.dir.clone()));
        }
        let mut e = Map::new();
        if self.exact {
            e.insert("exact".into(), Value::Bool(true));
        }
        e.insert(
            "from".into(),
            Value::Object(attrs::to_json(self.from.attrs())),
        );
        e.insert("to".into(), Value::Object(to));
        Value::Object(e)
    }
}

#[cfg(test)]
mod tests;
