//! `path` references (`path:<path>`): a local directory.
//!
//! Mirrors the Nix source's `src/libfetchers/path.cc`.

use super::super::Error;
use super::super::attrs::{self, Attr, Attrs};
use super::super::url::ParsedUrl;
use super::{put, typed};

/// Attributes besides `type`.
pub const ALLOWED: &[&str] = &["path", "rev", "revCount", "lastModified", "narHash"];

/// Converts a `path:` URL.
pub fn from_url(url: &ParsedUrl) -> Result<Option<Attrs>, Error> {
    if url.scheme != "path" {
        return Ok(None);
    }
    if let Some(auth) = &url.authority
        && (!auth.host.is_empty() || auth.user.is_some() || auth.port.is_some())
    {
        let mut host = String::new();
        if let Some(u) = &auth.user {
            host = format!("{u}@");
        }
        host.push_str(&auth.host);
        return Err(Error::Invalid(format!(
            "path URL '{url}' should not have an authority ('{host}')"
        )));
    }
    check_segments(url)?;
    let mut attrs = typed("path");
    put(&mut attrs, "path", url.path_string());
    for (name, value) in &url.query {
        match name.as_str() {
            "rev" | "narHash" => put(&mut attrs, name, value.clone()),
            "revCount" | "lastModified" => match value.parse::<u64>() {
                Ok(n) => {
                    attrs.insert(name.clone(), Attr::Int(n));
                }
                Err(_) => {
                    return Err(Error::Invalid(format!(
                        "path URL '{url}' has invalid parameter '{name}'"
                    )));
                }
            },
            _ => {
                return Err(Error::Invalid(format!(
                    "path URL '{url}' has unsupported parameter '{name}'"
                )));
            }
        }
    }
    Ok(Some(attrs))
}

/// Rejects decoded path segments that contain `/` or NUL (they cannot name a file).
pub fn check_segments(url: &ParsedUrl) -> Result<(), Error> {
    if url.path.iter().any(|s| s.contains(['/', '\0'])) {
        return Err(Error::Invalid(format!(
            "URL '{url}' has a path segment that contains '/' or a NUL character"
        )));
    }
    Ok(())
}

/// Checks the attribute form.
pub fn check(a: &Attrs) -> Result<(), Error> {
    attrs::req_str(a, "path")?;
    Ok(())
}

/// Prints `path:<path>?<all other attributes>`.
pub fn to_url(a: &Attrs) -> Result<ParsedUrl, Error> {
    let path = attrs::req_str(a, "path")?;
    let query = a
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "type" | "path" | super::super::input::FINAL))
        .map(|(k, v)| (k.clone(), attrs::to_query_value(v)))
        .collect();
    let mut url = ParsedUrl {
        scheme: "path".into(),
        authority: None,
        path: Vec::new(),
        query,
        fragment: String::new(),
        dropped_query_items: Vec::new(),
    };
    url.set_path_string(path);
    Ok(url)
}
