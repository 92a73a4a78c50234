//! `hg` references (`hg+<transport>:…`): a Mercurial repository.
//!
//! Mirrors the Nix source's `src/libfetchers/mercurial.cc`.

use super::super::Error;
use super::super::attrs::{self, Attrs};
use super::super::input::parse_rev;
use super::super::url::{self, ParsedUrl};
use super::{put, typed};

/// Attributes besides `type`.
pub const ALLOWED: &[&str] = &["url", "ref", "rev", "revCount", "narHash", "name"];

/// Converts a `hg+http(s)|ssh|file:` URL.
pub fn from_url(u: &ParsedUrl) -> Result<Option<Attrs>, Error> {
    let Some(transport) = u.scheme.strip_prefix("hg+") else {
        return Ok(None);
    };
    if !matches!(transport, "http" | "https" | "ssh" | "file") {
        return Ok(None);
    }
    let mut attrs = typed("hg");
    let mut rest = u.clone();
    rest.scheme = transport.to_owned();
    rest.fragment.clear();
    for name in ["rev", "ref"] {
        if let Some(v) = rest.query.remove(name) {
            put(&mut attrs, name, v);
        }
    }
    put(&mut attrs, "url", rest.to_string());
    Ok(Some(attrs))
}

/// Returns whether `r` is a legal Mercurial branch/tag name (`[a-zA-Z0-9@][a-zA-Z0-9_.\/@+-]*`).
fn is_legal_ref(r: &str) -> bool {
    let mut chars = r.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '@')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_./@+-".contains(c))
}

/// Checks the attribute form.
pub fn check(a: &Attrs) -> Result<(), Error> {
    let raw = attrs::req_str(a, "url")?;
    url::parse(raw).map_err(|e| Error::Invalid(e.to_string()))?;
    if let Some(r) = attrs::get_str(a, "ref")?
        && !is_legal_ref(r)
    {
        return Err(Error::Invalid(format!(
            "invalid Mercurial branch/tag name '{r}'"
        )));
    }
    if let Some(rev) = attrs::get_str(a, "rev")? {
        parse_rev(rev)?;
    }
    Ok(())
}

/// Prints `hg+<url>?ref=…&rev=…`.
pub fn to_url(a: &Attrs) -> Result<ParsedUrl, Error> {
    let mut u = url::parse(attrs::req_str(a, "url")?).map_err(|e| Error::Invalid(e.to_string()))?;
    u.scheme = format!("hg+{}", u.scheme);
    if let Some(rev) = attrs::get_str(a, "rev")? {
        u.query.insert("rev".into(), parse_rev(rev)?.to_base16());
    }
    if let Some(r) = attrs::get_str(a, "ref")? {
        u.query.insert("ref".into(), r.to_owned());
    }
    Ok(u)
}
