//! The URL layer under flake references: RFC 3986 syntax with Nix's relaxations.
//!
//! Mirrors the Nix source's `src/libutil/url.cc` (`parseURL`, `ParsedURL::to_string`,
//! `decodeQuery`, `encodeQuery`): the path is split on `/` before percent-decoding, the query is
//! a sorted map whose first value wins, `+` is not a space, and a raw space or `"` in the query
//! (and `^` in the fragment) is tolerated. Rendering percent-encodes with upper-case hex and the
//! component-specific safe sets of the spec (§2.2).

use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters left alone everywhere: RFC 3986 "unreserved" (`A-Z a-z 0-9 - . _ ~`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Path segments additionally keep `:` and `@`.
const PATH_SEGMENT: &AsciiSet = &UNRESERVED.remove(b':').remove(b'@');
/// Query keys and values additionally keep `:`, `@`, `/` and `?`.
const QUERY: &AsciiSet = &UNRESERVED
    .remove(b':')
    .remove(b'@')
    .remove(b'/')
    .remove(b'?');

/// A syntax error in a URL ("bad URL" in Nix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No `scheme:` prefix.
    #[error("'{0}' doesn't have a scheme")]
    NoScheme(String),
    /// A character or escape the URL grammar does not allow.
    #[error("'{0}' is not a valid URL")]
    Invalid(String),
    /// A `file` transport URL with a host.
    #[error("file:// URL '{url}' has unexpected authority '{host}'")]
    FileAuthority {
        /// The URL as given.
        url: String,
        /// The host found in it.
        host: String,
    },
}

/// The authority part of a URL: `[user[:password]@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authority {
    /// Decoded user name, if a userinfo part is present.
    pub user: Option<String>,
    /// Decoded password, if the userinfo has a `:`.
    pub password: Option<String>,
    /// Decoded host; IPv6 literals keep their brackets.
    pub host: String,
    /// The port, if given.
    pub port: Option<u16>,
}

/// A parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    /// The whole scheme, e.g. `git+https`.
    pub scheme: String,
    /// `Some` iff `//` followed the scheme (it may still be empty, as in `file:///x`).
    pub authority: Option<Authority>,
    /// Decoded path segments; an absolute path starts with an empty segment.
    pub path: Vec<String>,
    /// Decoded query, in bytewise key order.
    pub query: BTreeMap<String, String>,
    /// Decoded fragment (empty if none).
    pub fragment: String,
    /// Query items without `=` that were dropped; the caller warns about them.
    pub dropped_query_items: Vec<String>,
}

impl ParsedUrl {
    /// Returns the scheme split at its first `+`: (application, transport).
    pub fn scheme_parts(&self) -> (Option<&str>, &str) {
        match self.scheme.split_once('+') {
            Some((app, transport)) => (Some(app), transport),
            None => (None, &self.scheme),
        }
    }

    /// Returns the decoded path segments that are not empty (forge and indirect references
    /// ignore empty segments, so `github://////a///b` is `github:a/b`).
    pub fn non_empty_segments(&self) -> Vec<&str> {
        self.path
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Returns the decoded path joined with `/`.
    pub fn path_string(&self) -> String {
        self.path.join("/")
    }

    /// Replaces the path by the segments of a decoded path string.
    pub fn set_path_string(&mut self, path: &str) {
        self.path = path.split('/').map(str::to_owned).collect();
    }

    /// Returns the URL without its query and fragment, rendered.
    pub fn base_string(&self) -> String {
        let mut s = self.scheme.clone();
        s.push(':');
        self.render_authority_and_path(&mut s);
        s
    }

    fn render_authority_and_path(&self, s: &mut String) {
        if let Some(auth) = &self.authority {
            s.push_str("//");
            if let Some(user) = &auth.user {
                s.push_str(&utf8_percent_encode(user, UNRESERVED).to_string());
                if let Some(pw) = &auth.password {
                    s.push(':');
                    s.push_str(&utf8_percent_encode(pw, UNRESERVED).to_string());
                }
                s.push('@');
            }
            if auth.host.starts_with('[') {
                s.push_str(&auth.host);
            } else {
                s.push_str(&utf8_percent_encode(&auth.host, UNRESERVED).to_string());
            }
            if let Some(port) = auth.port {
                s.push_str(&format!(":{port}"));
            }
        }
        let segments: Vec<String> = self
            .path
            .iter()
            .map(|seg| utf8_percent_encode(seg, PATH_SEGMENT).to_string())
            .collect();
        s.push_str(&segments.join("/"));
    }
}

impl fmt::Display for ParsedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.scheme.clone();
        s.push(':');
        self.render_authority_and_path(&mut s);
        if !self.query.is_empty() {
            s.push('?');
            s.push_str(&encode_query(&self.query));
        }
        if !self.fragment.is_empty() {
            s.push('#');
            s.push_str(&utf8_percent_encode(&self.fragment, UNRESERVED).to_string());
        }
        f.write_str(&s)
    }
}

/// Renders a query map as `k=v&…` in key order, percent-encoding keys and values.
pub fn encode_query(query: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect();
    pairs.join("&")
}

/// Percent-encodes a string as a path segment would be.
pub fn encode_path_segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// Percent-encodes a whole path, keeping `/` separators.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_path_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// Is `c` allowed unescaped in a path segment (RFC 3986 `pchar` minus `%`)?
fn is_pchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c)
}

/// Checks the characters of a component and its percent escapes.
fn check_component(s: &str, extra: &[u8]) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
            continue;
        }
        if !(is_pchar(c) || extra.contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// Percent-decodes a component into a UTF-8 string.
pub fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Decodes a raw query string: `&`-separated, split at the first `=`, first value wins.
/// Returns the map and the items dropped for lack of `=`.
pub fn decode_query(raw: &str) -> Option<(BTreeMap<String, String>, Vec<String>)> {
    let mut query = BTreeMap::new();
    let mut dropped = Vec::new();
    for item in raw.split('&') {
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((k, v)) => {
                let (k, v) = (decode(k)?, decode(v)?);
                if !(k.is_empty() && v.is_empty()) {
                    query.entry(k).or_insert(v);
                }
            }
            None => dropped.push(item.to_owned()),
        }
    }
    Some((query, dropped))
}

/// Treats a raw space or `"` (and `^` in the fragment) as if percent-encoded, as Nix does.
fn fix_lenient(s: &str) -> String {
    let (before_frag, frag) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let mut out = match before_frag.split_once('?') {
        Some((base, q)) => format!("{base}?{}", q.replace(' ', "%20").replace('"', "%22")),
        None => before_frag.to_owned(),
    };
    if let Some(f) = frag {
        out.push('#');
        out.push_str(
            &f.replace(' ', "%20")
                .replace('"', "%22")
                .replace('^', "%5E"),
        );
    }
    out
}

/// Returns the length of a leading `scheme:`'s scheme, if `s` has one.
pub fn scheme_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let n = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || b"+.-".contains(&c)))?;
    (b[n] == b':').then_some(n)
}

/// Parses a URL.
pub fn parse(input: &str) -> Result<ParsedUrl, Error> {
    let invalid = || Error::Invalid(input.to_owned());
    let fixed = fix_lenient(input);
    let n = scheme_len(&fixed).ok_or_else(|| Error::NoScheme(input.to_owned()))?;
    let scheme = fixed[..n].to_owned();
    let rest = &fixed[n + 1..];
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            (
                Some(parse_authority(&after[..end]).ok_or_else(invalid)?),
                &after[end..],
            )
        }
        None => (None, rest),
    };
    if !check_component(path, b"/") {
        return Err(invalid());
    }
    let mut segments = path
        .split('/')
        .map(decode)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(invalid)?;
    let (query, dropped) = match query {
        Some(q) if check_component(q, b"/?") => decode_query(q).ok_or_else(invalid)?,
        Some(_) => return Err(invalid()),
        None => Default::default(),
    };
    let fragment = match fragment {
        Some(f) if check_component(f, b"/?") => decode(f).ok_or_else(invalid)?,
        Some(_) => return Err(invalid()),
        None => String::new(),
    };
    let transport = scheme.split_once('+').map_or(scheme.as_str(), |(_, t)| t);
    if transport == "file" {
        if let Some(auth) = &authority
            && !auth.host.is_empty()
        {
            return Err(Error::FileAuthority {
                url: input.to_owned(),
                host: auth.host.clone(),
            });
        }
        if segments.len() == 1 && segments[0].is_empty() {
            segments = vec![String::new(), String::new()];
        }
    }
    Ok(ParsedUrl {
        scheme,
        authority,
        path: segments,
        query,
        fragment,
        dropped_query_items: dropped,
    })
}

fn parse_authority(s: &str) -> Option<Authority> {
    let (userinfo, hostport) = match s.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    let (user, password) = match userinfo {
        Some(u) if check_component(u, b"") && !u.contains('@') => match u.split_once(':') {
            Some((user, pw)) => (Some(decode(user)?), Some(decode(pw)?)),
            None => (Some(decode(u)?), None),
        },
        Some(_) => return None,
        None => (None, None),
    };
    let (host, port) = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        hostport[1..close].parse::<std::net::Ipv6Addr>().ok()?;
        (hostport[..=close].to_owned(), &hostport[close + 1..])
    } else {
        let (raw_host, port) = match hostport.find(':') {
            Some(i) => (&hostport[..i], &hostport[i..]),
            None => (hostport, ""),
        };
        if !check_component(raw_host, b"") || raw_host.contains('@') {
            return None;
        }
        (decode(raw_host)?, port)
    };
    let port = match port.strip_prefix(':').unwrap_or(port) {
        "" => None,
        p => match p.parse::<u16>() {
            Ok(0) | Err(_) => return None,
            Ok(n) => Some(n),
        },
    };
    Some(Authority {
        user,
        password,
        host,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments() {
        let cases: [(&str, &[&str]); 5] = [
            ("https://foo.com/bar", &["", "bar"]),
            ("https://foo.com/bar/", &["", "bar", ""]),
            ("https://foo.com", &[""]),
            ("tel:01234", &["01234"]),
            ("x:foo/bar%2Fbaz/quux", &["foo", "bar/baz", "quux"]),
        ];
        for (input, segs) in cases {
            assert_eq!(parse(input).unwrap().path, segs, "{input}");
        }
    }

    #[test]
    fn render_round_trip() {
        let cases = [
            (
                "http://localhost:8181/test/+3d.tar.gz",
                "http://localhost:8181/test/%2B3d.tar.gz",
            ),
            ("file:///x", "file:///x"),
            ("file:/x", "file:/x"),
            (
                "x:a?b=refs/heads/main&a=bla%20space",
                "x:a?a=bla%20space&b=refs/heads/main",
            ),
            ("x:a?q=bla space", "x:a?q=bla%20space"),
            ("x:a#sth%20sth", "x:a#sth%20sth"),
            (
                "ssh://user@[2001:db8:1::2]/home/file",
                "ssh://user@[2001:db8:1::2]/home/file",
            ),
            (
                "sourcehut:~misterio/nix-colors",
                "sourcehut:~misterio/nix-colors",
            ),
            (
                "x:a?k=sha256-47DEQpj8HBSa%2B/TImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D",
                "x:a?k=sha256-47DEQpj8HBSa%2B/TImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D",
            ),
        ];
        for (input, out) in cases {
            assert_eq!(parse(input).unwrap().to_string(), out, "{input}");
        }
    }

    #[test]
    fn query_rules() {
        let u = parse("x:a?a=1&a=2&b&=&c=x+y").unwrap();
        assert_eq!(u.query.get("a").map(String::as_str), Some("1"));
        assert_eq!(u.query.get("c").map(String::as_str), Some("x+y"));
        assert_eq!(u.dropped_query_items, ["b"]);
        assert!(parse("x:a?").unwrap().query.is_empty());
    }

    #[test]
    fn rejections() {
        assert!(matches!(parse("noscheme"), Err(Error::NoScheme(_))));
        assert!(matches!(parse("1x:y"), Err(Error::NoScheme(_))));
        assert!(matches!(parse("x:a b"), Err(Error::Invalid(_))));
        assert!(matches!(parse("x:a%zz"), Err(Error::Invalid(_))));
        assert!(matches!(parse("http://h:0/"), Err(Error::Invalid(_))));
        assert!(matches!(parse("http://h:ab/"), Err(Error::Invalid(_))));
        assert_eq!(
            parse("git+file://host/x").unwrap_err().to_string(),
            "file:// URL 'git+file://host/x' has unexpected authority 'host'"
        );
    }
}
