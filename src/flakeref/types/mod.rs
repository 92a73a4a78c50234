//! The per-type rules of flake references (spec Part 4): one module per input scheme, each
//! with its allowed attributes, URL conversion (`from_url`, `None` when the URL is not of the
//! type), attribute checks and printing (`to_url`).

pub mod forge;
pub mod git;
pub mod hg;
pub mod indirect;
pub mod path;
pub mod tarball;

use super::attrs::{Attr, Attrs};

/// Starts an attribute set with its `type`.
fn typed(type_name: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("type".into(), Attr::Str(type_name.into()));
    attrs
}

/// Inserts a string attribute.
fn put(attrs: &mut Attrs, name: &str, value: impl Into<String>) {
    attrs.insert(name.into(), Attr::Str(value.into()));
}
