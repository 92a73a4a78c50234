//! `github`, `gitlab` and `sourcehut` references (`<type>:<owner>/<repo>[/<ref-or-rev>]`).
//!
//! Mirrors the Nix source's `src/libfetchers/github.cc` (`GitArchiveInputScheme`).

use super::super::attrs::{self, Attrs};
use super::super::input::{is_rev_hex, parse_rev};
use super::super::url::ParsedUrl;
use super::super::{Error, refname};
use super::{put, typed};

/// Attributes besides `type`.
pub const ALLOWED: &[&str] = &[
    "owner",
    "repo",
    "ref",
    "rev",
    "narHash",
    "lastModified",
    "host",
    "treeHash",
];

const SCHEMES: &[&str] = &["github", "gitlab", "sourcehut"];

/// Converts a `github:`, `gitlab:` or `sourcehut:` URL.
pub fn from_url(url: &ParsedUrl) -> Result<Option<Attrs>, Error> {
    if !SCHEMES.contains(&url.scheme.as_str()) {
        return Ok(None);
    }
    let bad = |msg: &str| Error::Invalid(format!("URL '{url}' {msg}"));
    let segs = url.non_empty_segments();
    let mut attrs = typed(&url.scheme);
    let (mut r#ref, mut rev) = (None, None);
    match segs.as_slice() {
        [_, _] => {}
        [_, _, third] if is_rev_hex(third) => rev = Some(third.to_string()),
        [_, _, rest @ ..] if !rest.is_empty() => r#ref = Some(rest.join("/")),
        _ => return Err(bad("is invalid")),
    }
    put(&mut attrs, "owner", segs[0]);
    put(&mut attrs, "repo", segs[1]);
    for (name, value) in &url.query {
        match name.as_str() {
            "rev" if rev.is_some() => return Err(bad("contains multiple commit hashes")),
            "rev" => rev = Some(value.clone()),
            "ref" if r#ref.is_some() => return Err(bad("contains multiple branch/tag names")),
            "ref" => r#ref = Some(value.clone()),
            "host" | "narHash" => put(&mut attrs, name, value.clone()),
            _ => return Err(bad(&format!("contains unknown parameter '{name}'"))),
        }
    }
    if let Some(r) = r#ref {
        put(&mut attrs, "ref", r);
    }
    if let Some(r) = rev {
        put(&mut attrs, "rev", r);
    }
    Ok(Some(attrs))
}

/// Checks the attribute form.
pub fn check(a: &Attrs) -> Result<(), Error> {
    attrs::req_str(a, "owner")?;
    attrs::req_str(a, "repo")?;
    let json = || attrs::to_compact_json(a);
    let r#ref = attrs::get_str(a, "ref")?;
    let rev = attrs::get_str(a, "rev")?;
    if let (Some(r), Some(h)) = (r#ref, rev) {
        return Err(Error::Invalid(format!(
            "input {} contains both a commit hash ('{h}') and a branch/tag name ('{r}')",
            json()
        )));
    }
    if let Some(h) = rev {
        parse_rev(h)?;
    }
    if let Some(r) = r#ref
        && !refname::is_legal(r)
    {
        return Err(Error::Invalid(format!(
            "input {} contains an invalid branch/tag name",
            json()
        )));
    }
    if let Some(host) = attrs::get_str(a, "host")?
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(Error::Invalid(format!(
            "input {} contains an invalid instance host",
            json()
        )));
    }
    if let Some(h) = attrs::get_str(a, "narHash")? {
        super::tarball::normalise_nar_hash(h)?;
    }
    Ok(())
}

/// Prints `<type>:<owner>/<repo>[/<ref>|/<rev>]?host=…&narHash=…`.
pub fn to_url(a: &Attrs) -> Result<ParsedUrl, Error> {
    let mut path = vec![
        attrs::req_str(a, "owner")?.to_owned(),
        attrs::req_str(a, "repo")?.to_owned(),
    ];
    if let Some(rev) = attrs::get_str(a, "rev")? {
        path.push(parse_rev(rev)?.to_base16());
    } else if let Some(r) = attrs::get_str(a, "ref")? {
        path.push(r.to_owned());
    }
    let mut query = std::collections::BTreeMap::new();
    if let Some(host) = attrs::get_str(a, "host")? {
        query.insert("host".to_owned(), host.to_owned());
    }
    if let Some(h) = attrs::get_str(a, "narHash")? {
        query.insert("narHash".to_owned(), super::tarball::normalise_nar_hash(h)?);
    }
    Ok(ParsedUrl {
        scheme: attrs::req_str(a, "type")?.to_owned(),
        authority: None,
        path,
        query,
        fragment: String::new(),
        dropped_query_items: Vec::new(),
    })
}
