//! Parsing a flake reference string (spec Part 3): shorthand, URL, then path-like.

use std::collections::BTreeMap;
use std::path::Path;

use super::url::{self, Authority, ParsedUrl};
use super::{Error, FlakeRef, FsProbe, Input, UrlContext, local};
use crate::report::Reporter;

/// Where a reference string comes from (spec §3.1).
#[derive(Clone, Copy, Default)]
pub struct ParseOptions<'a> {
    /// The base directory for relative paths (the command line's working directory), and the
    /// file system to resolve them in. `None`: relative paths are rejected.
    pub base: Option<(&'a Path, &'a dyn FsProbe)>,
    /// Skip the existence checks and the `flake.nix` search (`--override-input`).
    pub allow_missing: bool,
    /// How plain URLs are typed.
    pub ctx: UrlContext,
    /// Without a base directory, keep a relative path-like string (`./sub`, `../x`) as a
    /// relative `path:` input instead of rejecting it: the `inputs.<name>.url` of `flake.nix`
    /// (Nix's `preserveRelativePaths`, spec §3.1).
    pub keep_relative: bool,
}

/// Parses a flake reference with no fragment allowed.
pub fn parse(s: &str, opts: &ParseOptions<'_>, report: &dyn Reporter) -> Result<FlakeRef, Error> {
    let (flake_ref, fragment) = parse_with_fragment(s, opts, report)?;
    if !fragment.is_empty() {
        return Err(Error::UnexpectedFragment {
            fragment,
            reference: s.to_owned(),
        });
    }
    Ok(flake_ref)
}

/// Parses a flake reference and returns it with its decoded fragment.
pub fn parse_with_fragment(
    s: &str,
    opts: &ParseOptions<'_>,
    report: &dyn Reporter,
) -> Result<(FlakeRef, String), Error> {
    if let Some((main, fragment)) = match_shorthand(s) {
        let u = plain_url(
            "flake",
            None,
            main.split('/').map(str::to_owned).collect(),
            BTreeMap::new(),
        );
        let input = Input::from_url(&u, opts.ctx, report)?;
        let fragment = url::decode(fragment).unwrap_or_else(|| fragment.to_owned());
        return Ok((
            FlakeRef {
                input,
                subdir: String::new(),
            },
            fragment,
        ));
    }
    let (u, fragment) = match url::parse(s) {
        Ok(mut u) => {
            warn_dropped(&u.dropped_query_items, report);
            if let Some((base, _)) = opts.base {
                let p = u.path_string();
                if (u.scheme == "path" || u.scheme == "git+file") && !p.starts_with('/') {
                    u.set_path_string(&local::absolute_lexical(base, &p));
                }
            }
            let fragment = std::mem::take(&mut u.fragment);
            (u, fragment)
        }
        Err(_) => path_like(s, opts, report)?,
    };
    let mut u = u;
    let subdir = u.query.remove("dir").unwrap_or_default();
    let input = Input::from_url(&u, opts.ctx, report)?;
    Ok((FlakeRef { input, subdir }, fragment))
}

fn warn_dropped(items: &[String], report: &dyn Reporter) {
    for item in items {
        report.warn(&format!(
            "dubious URI query '{item}' is missing equal sign '=', ignoring"
        ));
    }
}

/// Step C: `^([^?#]*)(\?([^#]*))?(#(.*))?$`, the path taken literally.
fn path_like(
    s: &str,
    opts: &ParseOptions<'_>,
    report: &dyn Reporter,
) -> Result<(ParsedUrl, String), Error> {
    let (before_frag, fragment) = match s.split_once('#') {
        Some((a, f)) => (a, url::decode(f).unwrap_or_else(|| f.to_owned())),
        None => (s, String::new()),
    };
    let (path, raw_query) = match before_frag.split_once('?') {
        Some((p, q)) => (p, q),
        None => (before_frag, ""),
    };
    let (query, dropped) = url::decode_query(raw_query)
        .ok_or_else(|| Error::Invalid(format!("invalid URI parameter '{raw_query}'")))?;
    warn_dropped(&dropped, report);
    let u = match opts.base {
        Some((base, fs)) => {
            let req = local::Request {
                path,
                query,
                original: s,
                allow_missing: opts.allow_missing,
            };
            local::resolve(&req, base, fs, report)?
        }
        None if path.starts_with('/') => {
            let mut u = plain_url("path", Some(Authority::default()), Vec::new(), query);
            u.set_path_string(path);
            u
        }
        None if opts.keep_relative => {
            let mut u = plain_url("path", None, Vec::new(), query);
            u.set_path_string(path);
            u
        }
        None => return Err(Error::NotAbsolute(s.to_owned())),
    };
    Ok((u, fragment))
}

/// Makes a URL without fragment.
pub(super) fn plain_url(
    scheme: &str,
    authority: Option<Authority>,
    path: Vec<String>,
    query: BTreeMap<String, String>,
) -> ParsedUrl {
    ParsedUrl {
        scheme: scheme.into(),
        authority,
        path,
        query,
        fragment: String::new(),
        dropped_query_items: Vec::new(),
    }
}

/// Step A: matches `ID ("/" REFORREV)? ("#" FRAGMENT)?` and returns (main part, raw fragment).
fn match_shorthand(s: &str) -> Option<(&str, &str)> {
    let (main, fragment) = match s.split_once('#') {
        Some((m, f)) => (m, f),
        None => (s, ""),
    };
    let frag_ok = fragment
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-._~%!$&'\"()*+,;=:@/? ^".contains(&c));
    if !frag_ok || !pct_escapes_ok(fragment) {
        return None;
    }
    let (id, rest) = match main.split_once('/') {
        Some((id, rest)) => (id, Some(rest)),
        None => (main, None),
    };
    if !super::types::indirect::is_valid_id(id) {
        return None;
    }
    if let Some(rest) = rest {
        let mut chars = rest.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '@');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_./@+-".contains(c)) {
            return None;
        }
    }
    Some((main, fragment))
}

fn pct_escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}
