//! `indirect` references (`flake:<id>[/<ref>][/<rev>]`), resolved through registries.
//!
//! Mirrors the Nix source's `src/libfetchers/indirect.cc`.

use super::super::attrs::{self, Attrs};
use super::super::input::{is_rev_hex, parse_rev};
use super::super::url::ParsedUrl;
use super::super::{Error, refname};
use super::{put, typed};

/// Attributes besides `type`.
pub const ALLOWED: &[&str] = &["id", "ref", "rev", "narHash"];

/// Returns whether `id` is a valid flake id (`[a-zA-Z][a-zA-Z0-9_-]*`).
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Converts a `flake:` URL.
pub fn from_url(url: &ParsedUrl) -> Result<Option<Attrs>, Error> {
    if url.scheme != "flake" {
        return Ok(None);
    }
    let segs = url.non_empty_segments();
    let bad = |msg: String| Error::Invalid(msg);
    let mut attrs = typed("indirect");
    match segs.as_slice() {
        [_] => {}
        [_, seg] => {
            if is_rev_hex(seg) {
                put(&mut attrs, "rev", seg.to_ascii_lowercase());
            } else if refname::is_legal(seg) {
                put(&mut attrs, "ref", *seg);
            } else {
                return Err(bad(format!(
                    "in flake URL '{url}', '{seg}' is not a commit hash or branch/tag name"
                )));
            }
        }
        [_, r, rev] => {
            if !refname::is_legal(r) {
                return Err(bad(format!(
                    "in flake URL '{url}', '{r}' is not a branch/tag name"
                )));
            }
            if !is_rev_hex(rev) {
                return Err(bad(format!(
                    "in flake URL '{url}', '{rev}' is not a commit hash"
                )));
            }
            put(&mut attrs, "ref", *r);
            put(&mut attrs, "rev", rev.to_ascii_lowercase());
        }
        _ => return Err(bad(format!("GitHub URL '{url}' is invalid"))),
    }
    let id = segs[0];
    if !is_valid_id(id) {
        return Err(bad(format!("'{id}' is not a valid flake ID")));
    }
    put(&mut attrs, "id", id);
    Ok(Some(attrs))
}

/// Checks the attribute form.
pub fn check(a: &Attrs) -> Result<(), Error> {
    let id = attrs::req_str(a, "id")?;
    if !is_valid_id(id) {
        return Err(Error::Invalid(format!("'{id}' is not a valid flake ID")));
    }
    Ok(())
}

/// Prints `flake:<id>[/<ref>][/<rev>]`.
pub fn to_url(a: &Attrs) -> Result<ParsedUrl, Error> {
    let mut path = vec![attrs::req_str(a, "id")?.to_owned()];
    if let Some(r) = attrs::get_str(a, "ref")? {
        path.push(r.to_owned());
    }
    if let Some(rev) = attrs::get_str(a, "rev")? {
        path.push(parse_rev(rev)?.to_base16());
    }
    Ok(ParsedUrl {
        scheme: "flake".into(),
        authority: None,
        path,
        query: Default::default(),
        fragment: String::new(),
        dropped_query_items: Vec::new(),
    })
}
