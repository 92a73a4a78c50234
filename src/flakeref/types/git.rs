//! `git` references (`git+<transport>:…`): a git repository and optional ref/rev.
//!
//! Mirrors the Nix source's `src/libfetchers/git.cc` (URL conversion, attribute checks,
//! printing) and `fixGitURL` in `src/libutil/url.cc` (normalising the `url` attribute,
//! including scp-style `user@host:path` addresses).

use serde_json::Value;

use super::super::attrs::{self, Attr, Attrs};
use super::super::input::parse_rev;
use super::super::url::{self, Authority, ParsedUrl};
use super::super::{Error, refname};
use super::{put, typed};
use crate::report::Reporter;

/// Attributes besides `type`.
pub const ALLOWED: &[&str] = &[
    "url",
    "ref",
    "rev",
    "shallow",
    "submodules",
    "lfs",
    "exportIgnore",
    "allRefs",
    "lastModified",
    "revCount",
    "narHash",
    "name",
    "dirtyRev",
    "dirtyShortRev",
    "verifyCommit",
    "keytype",
    "publicKey",
    "publicKeys",
];

const STRING_PARAMS: &[&str] = &["ref", "rev", "keytype", "publicKey", "publicKeys"];
const BOOL_PARAMS: &[&str] = &[
    "shallow",
    "submodules",
    "lfs",
    "exportIgnore",
    "allRefs",
    "verifyCommit",
];
/// Booleans printed as `=1` when true (`allRefs` never is).
const PRINTED_BOOLS: &[&str] = &[
    "exportIgnore",
    "lfs",
    "shallow",
    "submodules",
    "verifyCommit",
];

/// Converts a `git:` or `git+…:` URL.
pub fn from_url(url: &ParsedUrl, report: &dyn Reporter) -> Result<Option<Attrs>, Error> {
    let is_git = url.scheme == "git" || url.scheme.starts_with("git+");
    if !is_git {
        return Ok(None);
    }
    if url.scheme_parts().1 == "file" {
        super::path::check_segments(url)?;
    }
    let mut attrs = typed("git");
    let mut rest = url.clone();
    rest.fragment.clear();
    for (name, value) in &url.query {
        if STRING_PARAMS.contains(&name.as_str()) {
            put(&mut attrs, name, value.clone());
        } else if BOOL_PARAMS.contains(&name.as_str()) {
            attrs.insert(name.clone(), Attr::Bool(value == "1"));
        } else {
            continue;
        }
        rest.query.remove(name);
    }
    if let Some(transport) = url.scheme.strip_prefix("git+") {
        rest.scheme = transport.to_owned();
    }
    put(&mut attrs, "url", fix_git_url(&rest.to_string(), report)?);
    Ok(Some(attrs))
}

/// Checks the attribute form and normalises `url`.
pub fn check(a: &mut Attrs, report: &dyn Reporter) -> Result<(), Error> {
    let fixed = fix_git_url(attrs::req_str(a, "url")?, report)?;
    put(a, "url", fixed);
    if let Some(r) = attrs::get_str(a, "ref")?
        && !refname::is_legal(r)
    {
        return Err(Error::Invalid(format!("invalid Git branch/tag name '{r}'")));
    }
    for name in BOOL_PARAMS {
        attrs::get_bool(a, name)?;
    }
    for name in [
        "keytype",
        "publicKey",
        "publicKeys",
        "name",
        "narHash",
        "dirtyRev",
        "dirtyShortRev",
    ] {
        attrs::get_str(a, name)?;
    }
    if let Some(rev) = attrs::get_str(a, "rev")? {
        parse_rev(rev)?;
    }
    public_keys(a)?;
    Ok(())
}

/// Prints `git+<url>` with `ref`, `rev` and the true Boolean flags in the query.
pub fn to_url(a: &Attrs) -> Result<ParsedUrl, Error> {
    let raw = attrs::req_str(a, "url")?;
    let mut url = url::parse(raw).map_err(|e| Error::Invalid(e.to_string()))?;
    if let Some(rev) = attrs::get_str(a, "rev")? {
        url.query.insert("rev".into(), parse_rev(rev)?.to_base16());
    }
    if let Some(r) = attrs::get_str(a, "ref")? {
        url.query.insert("ref".into(), r.to_owned());
    }
    for name in PRINTED_BOOLS {
        if attrs::get_bool(a, name)? == Some(true) {
            url.query.insert((*name).into(), "1".into());
        }
    }
    let keys = public_keys(a)?;
    if let [(kind, key)] = keys.as_slice() {
        url.query.insert("keytype".into(), kind.clone());
        url.query.insert("publicKey".into(), key.clone());
    } else if keys.len() > 1 {
        let json: Vec<Value> = keys
            .iter()
            .map(|(kind, key)| serde_json::json!({"key": key, "type": kind}))
            .collect();
        url.query
            .insert("publicKeys".into(), Value::Array(json).to_string());
    }
    if url.scheme != "git" {
        url.scheme = format!("git+{}", url.scheme);
    }
    Ok(url)
}

/// Returns the (type, key) pairs of `publicKey`/`keytype` and `publicKeys`.
fn public_keys(a: &Attrs) -> Result<Vec<(String, String)>, Error> {
    let mut keys = Vec::new();
    if let Some(key) = attrs::get_str(a, "publicKey")? {
        let kind = attrs::get_str(a, "keytype")?.unwrap_or("ssh-ed25519");
        keys.push((kind.to_owned(), key.to_owned()));
    }
    if let Some(json) = attrs::get_str(a, "publicKeys")? {
        let bad = || Error::Invalid(format!("invalid 'publicKeys' attribute '{json}'"));
        let list: Vec<Value> = serde_json::from_str(json).map_err(|_| bad())?;
        for item in list {
            let key = item.get("key").and_then(Value::as_str).ok_or_else(bad)?;
            let kind = item
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("ssh-ed25519");
            keys.push((kind.to_owned(), key.to_owned()));
        }
    }
    Ok(keys)
}

/// Schemes that are never mistaken for the host of an scp-style address.
const NOT_SCP: &[&str] = &["ssh", "http", "https", "file", "ftp", "ftps", "git"];

/// Normalises the `url` of a git input (Nix's `fixGitURL`): an absolute path becomes a
/// `file://` URL, `[user@]host:path` becomes `ssh://[user@]host/path`, and a URL loses a `git+`.
pub fn fix_git_url(s: &str, report: &dyn Reporter) -> Result<String, Error> {
    if s.starts_with('/') {
        let mut u = empty_url("file", Some(Authority::default()));
        u.set_path_string(s);
        return Ok(u.to_string());
    }
    if let Some(ssh) = scp_to_ssh(s, report)? {
        return Ok(ssh.to_string());
    }
    let mut u = url::parse(s).map_err(|e| Error::Invalid(e.to_string()))?;
    if let Some(("git", transport)) = u.scheme.split_once('+') {
        u.scheme = transport.to_owned();
    }
    Ok(u.to_string())
}

fn empty_url(scheme: &str, authority: Option<Authority>) -> ParsedUrl {
    ParsedUrl {
        scheme: scheme.into(),
        authority,
        path: Vec::new(),
        query: Default::default(),
        fragment: String::new(),
        dropped_query_items: Vec::new(),
    }
}

/// Recognises an scp-style address; `Ok(None)` when `s` is not one.
fn scp_to_ssh(s: &str, report: &dyn Reporter) -> Result<Option<ParsedUrl>, Error> {
    if s.contains("://") {
        return Ok(None);
    }
    let Some(colon) = s.find(':') else {
        return Ok(None);
    };
    let before = &s[..colon];
    if before.contains('/') {
        return Ok(None);
    }
    let scheme_like = before.strip_prefix("git+").unwrap_or(before);
    if NOT_SCP.contains(&scheme_like) {
        return Ok(None);
    }
    let (user, hostpath) = match s.split_once('@') {
        Some((u, rest)) if !u.contains([':', '/', '[']) => (Some(u.to_owned()), rest),
        _ => (None, s),
    };
    let (host, path) = if let Some(inner) = hostpath.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else {
            return Ok(None);
        };
        let Some(path) = after.strip_prefix(':') else {
            return Ok(None);
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(Error::Invalid(format!(
                "Git SCP bracketed URL is not valid: '{v6}' is not a valid IPv6 address"
            )));
        }
        (format!("[{v6}]"), path)
    } else {
        let Some((host, path)) = hostpath.split_once(':') else {
            return Ok(None);
        };
        (host.to_owned(), path)
    };
    if path.is_empty() {
        return Err(Error::Invalid(format!(
            "SCP-style Git URL '{s}' has an empty path"
        )));
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        if !path.starts_with('~') {
            report.warn(&format!(
                "SCP-style URL '{s}' has a relative path which cannot be faithfully converted \
                 to an SSH URL; treating it as relative to the root directory '/{path}'"
            ));
        }
        format!("/{path}")
    };
    let mut u = empty_url(
        "ssh",
        Some(Authority {
            user,
            password: None,
            host,
            port: None,
        }),
    );
    u.set_path_string(&path);
    Ok(Some(u))
}
