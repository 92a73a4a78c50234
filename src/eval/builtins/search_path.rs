//! The search path (Nix's `findFile` and `search-path.cc`): `<p>` is `__findFile __nixPath
//! "p"`, which looks `p` up in the entries of `__nixPath` (`-I`, `NIX_PATH`, `nix-path`), each
//! `{ prefix; path; }`, and falls back to Nix's own files under `<nix/…>` (`fetchurl.nix`).

use super::PrimOp;
use crate::eval::context::Context;
use crate::eval::error::{Kind, R, err, err_kind};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::Symbol;
use crate::eval::value::Value;

/// Where Nix's own files (`<nix/fetchurl.nix>`) appear as paths.
pub const CORE_DIR: &str = "/__corepkgs__";

/// `<nix/fetchurl.nix>`: a fixed-output derivation built by the `builtin:fetchurl` builder,
/// taking the hash as `hash` (SRI) or one of the legacy `md5`, `sha1`, `sha256`, `sha512`.
const FETCHURL: &str = r#"
{ system ? "", url, hash ? "", md5 ? "", sha1 ? "", sha256 ? "", sha512 ? "",
  outputHash ?
    if hash != "" then hash
    else if sha512 != "" then sha512
    else if sha1 != "" then sha1
    else if md5 != "" then md5
    else sha256,
  outputHashAlgo ?
    if hash != "" then ""
    else if sha512 != "" then "sha512"
    else if sha1 != "" then "sha1"
    else if md5 != "" then "md5"
    else "sha256",
  executable ? false, unpack ? false, name ? baseNameOf (toString url), impure ? false }:
derivation ({
  builder = "builtin:fetchurl";
  outputHashMode = if unpack || executable then "recursive" else "flat";
  inherit name url executable unpack;
  system = "builtin";
  preferLocalBuild = true;
  impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
  urls = [ url ];
} // (if impure then { __impure = true; } else { inherit outputHashAlgo outputHash; }))
"#;

/// The text of one of Nix's own files, by its path under [`CORE_DIR`].
pub fn core_file(path: &str) -> Option<&'static str> {
    match path.strip_prefix(CORE_DIR)? {
        "/fetchurl.nix" => Some(FETCHURL),
        _ => None,
    }
}

/// What of `name` is left after an entry's prefix: all of it for no prefix, nothing for the
/// prefix itself, the rest after `prefix/`.
fn suffix<'a>(prefix: &str, name: &'a str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(name);
    }
    let rest = name.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

fn find_file(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let entries = m.list_of(&a[0])?;
    let name = m.str_of(&a[1])?;
    let name = name.text().into_owned();
    for e in entries.iter() {
        let set = m.attrs_of(e)?;
        let prefix = match set.get(Symbol::intern("prefix")) {
            Some(p) => {
                let p = p.value.clone();
                m.str_of(&p)?.text().into_owned()
            }
            None => String::new(),
        };
        let Some(path) = set.get(Symbol::intern("path")) else {
            return err("attribute 'path' missing");
        };
        let path = path.value.clone();
        let mut ctx = Context::default();
        let path = m.coerce_to_string(&path, &mut ctx, false, false)?;
        let path = String::from_utf8_lossy(&path).into_owned();
        let Some(rest) = suffix(&prefix, &name) else {
            continue;
        };
        // URLs and `flake:` entries need fetching, which the search path does not do yet.
        if path.contains("://") || path.starts_with("flake:") || !path.starts_with('/') {
            continue;
        }
        let candidate = crate::eval::paths::canonicalise(&format!("{path}/{rest}"));
        if let Ok(Some(_)) = m.io.file_type(&candidate) {
            return Ok(Value::Path(candidate.into()));
        }
    }
    if let Some(rest) = name.strip_prefix("nix/") {
        let p = format!("{CORE_DIR}/{rest}");
        if core_file(&p).is_some() {
            return Ok(Value::Path(p.into()));
        }
    }
    let msg = if m.opts.pure {
        format!("cannot look up '<{name}>' in pure evaluation mode (use '--impure' to override)")
    } else {
        format!("file '{name}' was not found in the Nix search path (add it using $NIX_PATH or -I)")
    };
    err_kind::<Value>(Kind::Throw, msg).map_err(|e| e.at(pos))
}

/// The search path's builtins.
pub static OPS: &[PrimOp] = &[PrimOp {
    name: "findFile",
    arity: 2,
    f: find_file,
}];

#[cfg(test)]
mod tests {
    use super::suffix;

    #[test]
    fn prefixes_match_whole_components() {
        let cases = [
            ("", "a/b", Some("a/b")),
            ("nixpkgs", "nixpkgs", Some("")),
            ("nixpkgs", "nixpkgs/lib", Some("lib")),
            ("nixpkgs", "nixpkgs-unstable", None),
            ("dir5", "a.nix", None),
        ];
        for (prefix, name, want) in cases {
            assert_eq!(suffix(prefix, name), want, "{prefix} {name}");
        }
    }
}
