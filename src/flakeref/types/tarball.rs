//! `tarball` and `file` references: an archive or a single file behind a URL.
//!
//! Mirrors the Nix source's `src/libfetchers/tarball.cc` (`CurlInputScheme`,
//! `FileInputScheme`, `TarballInputScheme`).

use super::super::attrs::{self, Attr, Attrs};
use super::super::url::{self, ParsedUrl};
use super::super::{Error, UrlContext};
use super::{put, typed};
use crate::hash::{Algo, Hash};

/// Attributes besides `type`.
pub const ALLOWED: &[&str] = &[
    "url",
    "narHash",
    "name",
    "unpack",
    "rev",
    "revCount",
    "lastModified",
];

/// Extensions that make a plain URL a tarball (checked case-sensitively).
const ARCHIVE_EXTENSIONS: &[&str] = &[
    ".zip", ".tar", ".tgz", ".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst",
];

/// Converts a `http(s):`/`file:` URL, with or without a `tarball+`/`file+` prefix.
pub fn from_url(u: &ParsedUrl, ctx: UrlContext) -> Result<Option<Attrs>, Error> {
    let (app, transport) = u.scheme_parts();
    if !matches!(transport, "file" | "http" | "https") {
        return Ok(None);
    }
    let has_ext = u
        .path
        .last()
        .is_some_and(|seg| ARCHIVE_EXTENSIONS.iter().any(|e| seg.ends_with(e)));
    let type_name = match app {
        Some("tarball") => "tarball",
        Some("file") => "file",
        Some(_) => return Ok(None),
        None if has_ext || !ctx.non_flake => "tarball",
        None => "file",
    };
    let mut attrs = typed(type_name);
    for (name, value) in &u.query {
        match name.as_str() {
            "narHash" | "rev" => put(&mut attrs, name, value.clone()),
            "revCount" | "lastModified" => {
                if let Ok(n) = value.parse::<u64>() {
                    attrs.insert(name.clone(), Attr::Int(n));
                }
            }
            _ => {}
        }
    }
    let mut rest = u.clone();
    rest.scheme = transport.to_owned();
    rest.fragment.clear();
    rest.query.retain(|k, _| !ALLOWED.contains(&k.as_str()));
    put(&mut attrs, "url", rest.to_string());
    Ok(Some(attrs))
}

/// Checks the attribute form.
pub fn check(a: &Attrs) -> Result<(), Error> {
    attrs::req_str(a, "url")?;
    for name in ["narHash", "name", "rev"] {
        attrs::get_str(a, name)?;
    }
    if let Some(h) = attrs::get_str(a, "narHash")? {
        normalise_nar_hash(h)?;
    }
    Ok(())
}

/// Prints the URL with `narHash` merged into its query.
pub fn to_url(a: &Attrs) -> Result<ParsedUrl, Error> {
    let raw = attrs::req_str(a, "url")?;
    let mut u = url::parse(raw).map_err(|e| Error::Invalid(e.to_string()))?;
    if let Some(h) = attrs::get_str(a, "narHash")? {
        u.query.insert("narHash".into(), normalise_nar_hash(h)?);
    }
    Ok(u)
}

/// Parses a `narHash` (SRI sha256, empty = zero placeholder) and returns its padded SRI form.
pub fn normalise_nar_hash(h: &str) -> Result<String, Error> {
    if h.is_empty() {
        return Ok(Hash::zero(Algo::Sha256).to_sri());
    }
    let hash = Hash::parse_sri(h)?;
    if hash.algo() != Algo::Sha256 {
        return Err(Error::Invalid("narHash must use SHA-256".into()));
    }
    Ok(hash.to_sri())
}
