//! The fetch builtins (Nix's `primops/fetchTree.cc`, `primops/fetchMercurial.cc` and the
//! flake primops of `libflake/flake-primops.cc`): `fetchTree`, `fetchGit`, `fetchMercurial`,
//! `fetchTarball`, `fetchurl` and `getFlake`. Arguments are checked here; the fetching itself
//! goes through [`crate::eval::io::Io`], whose host uses the fetch and flake layers.
//!
//! # Deviations
//!
//! - `revCount` of a git input is computed when the tree is fetched, not lazily.
//! - `fetchTree` rejects a `publicKeys` list (verified fetches are not implemented).

use super::PrimOp;
use crate::eval::context::{Context, CtxElem};
use crate::eval::error::{R, err};
use crate::eval::io::{FetchedTree, UrlFetch};
use crate::eval::machine::{Machine, io_error};
use crate::eval::pos::PosIdx;
use crate::eval::symbol::Symbol;
use crate::eval::value::{Attr, Value};
use crate::flakeref::{Attr as InputAttr, Attrs as InputAttrs, Input};
use crate::hash::{Algo, Hash};
use crate::report::Silent;

/// A string attribute of a tree's value.
fn attr(name: &str, value: Value) -> Attr {
    Attr {
        name: Symbol::intern(name),
        value,
        pos: PosIdx::NONE,
    }
}

/// The store path as a string that refers to it (Nix's `mkStorePathString`).
pub fn store_path_string(path: &str) -> Value {
    Value::string_with(path, Context::one(CtxElem::Opaque(path.into())))
}

/// The attributes of a fetched tree (Nix's `emitTreeAttrs`): `outPath`, `narHash`,
/// `submodules` for git, `rev`/`shortRev` and `revCount` (unless `force_dirty`; the empty
/// revision and 0 with `empty_rev_fallback`, as `fetchGit` of a dirty tree gives),
/// `dirtyRev`/`dirtyShortRev`, `lastModified` and `lastModifiedDate`.
pub fn tree_attrs(tree: &FetchedTree, empty_rev_fallback: bool, force_dirty: bool) -> Value {
    let input = &tree.input;
    let mut out = vec![attr("outPath", store_path_string(&tree.path))];
    if let Some(h) = input.get_str("narHash") {
        let sri =
            Hash::parse_any(h, Some(Algo::Sha256)).map_or_else(|_| h.to_owned(), |h| h.to_sri());
        out.push(attr("narHash", Value::string(sri)));
    }
    if input.type_name() == "git" {
        let sub = matches!(input.attrs().get("submodules"), Some(InputAttr::Bool(true)));
        out.push(attr("submodules", Value::Bool(sub)));
    }
    if !force_dirty {
        let rev = input.get_str("rev").map(str::to_owned).or_else(|| {
            empty_rev_fallback.then(|| "0000000000000000000000000000000000000000".to_owned())
        });
        if let Some(rev) = rev {
            out.push(attr("shortRev", Value::string(&rev[..rev.len().min(7)])));
            out.push(attr("rev", Value::string(rev)));
        }
        match input.get_int("revCount") {
            Some(n) => out.push(attr("revCount", Value::Int(n as i64))),
            None if empty_rev_fallback => out.push(attr("revCount", Value::Int(0))),
            None => {}
        }
    }
    if let Some(d) = input.get_str("dirtyRev") {
        out.push(attr("dirtyRev", Value::string(d)));
        let short = input.get_str("dirtyShortRev").unwrap_or_default();
        out.push(attr("dirtyShortRev", Value::string(short)));
    }
    if let Some(t) = input.get_int("lastModified") {
        out.push(attr("lastModified", Value::Int(t as i64)));
        out.push(attr("lastModifiedDate", Value::string(compact_date(t))));
    }
    Value::attrs(out)
}

/// `%Y%m%d%H%M%S` of Unix seconds, in UTC.
pub fn compact_date(secs: u64) -> String {
    crate::util::time::date_time(secs)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// A string without context (Nix's `forceStringNoCtx`).
pub fn string_no_ctx(m: &mut Machine, v: &Value) -> R<String> {
    let s = m.str_of(v)?;
    if let Some(e) = s.ctx.iter().next() {
        return err(format!(
            "the string '{}' is not allowed to refer to a store path (such as '{}')",
            s.text(),
            e.encode().trim_start_matches(['=', '!'])
        ));
    }
    Ok(s.text().into_owned())
}

/// Which builtin is fetching a tree.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fetcher {
    Tree,
    Git,
}

impl Fetcher {
    fn name(self) -> &'static str {
        match self {
            Fetcher::Tree => "fetchTree",
            Fetcher::Git => "fetchGit",
        }
    }
}

/// Nix's `fixGitURL`: a local path becomes a `file://` URL, `host:path` an `ssh://` URL.
fn fix_git_url(url: &str) -> String {
    if url.starts_with('/') {
        return format!("file://{url}");
    }
    if !url.contains("://")
        && let Some((host, path)) = url.split_once(':')
        && !host.contains('/')
    {
        return format!("ssh://{host}/{path}");
    }
    url.to_owned()
}

/// The input attributes of a `fetchTree`/`fetchGit` set argument.
fn input_attrs(m: &mut Machine, arg: &Value, who: Fetcher) -> R<InputAttrs> {
    let set = m.attrs_of(arg)?;
    let mut attrs = InputAttrs::new();
    let ty = match (set.get(Symbol::intern("type")), who) {
        (Some(_), Fetcher::Git) => return err("unexpected argument 'type'"),
        (Some(t), Fetcher::Tree) => {
            let t = t.value.clone();
            string_no_ctx(m, &t)?
        }
        (None, Fetcher::Git) => "git".into(),
        (None, Fetcher::Tree) => {
            return err("argument 'type' is missing in call to 'fetchTree'");
        }
    };
    for a in &set.entries {
        let name = a.name.as_str();
        if name == "type" {
            continue;
        }
        let v = m.force(&a.value)?;
        let value = match &v {
            Value::Str(_) | Value::Path(_) => {
                let mut ctx = Context::default();
                let s = m.coerce_to_string(&v, &mut ctx, false, false)?;
                let s = String::from_utf8_lossy(&s).into_owned();
                if who == Fetcher::Git && name == "url" {
                    InputAttr::Str(fix_git_url(&s))
                } else {
                    InputAttr::Str(s)
                }
            }
            Value::Bool(b) => InputAttr::Bool(*b),
            Value::Int(n) => match u64::try_from(*n) {
                Ok(n) => InputAttr::Int(n),
                Err(_) => {
                    return err(format!(
                        "negative value given for '{}' argument '{name}': {n}",
                        who.name()
                    ));
                }
            },
            other => {
                return err(format!(
                    "argument '{name}' to '{}' is {} while a string, Boolean or integer is expected",
                    who.name(),
                    other.show_type()
                ));
            }
        };
        attrs.insert(name.to_owned(), value);
    }
    attrs.insert("type".into(), InputAttr::Str(ty.clone()));
    if who == Fetcher::Git
        && !attrs.contains_key("exportIgnore")
        && !matches!(attrs.get("submodules"), Some(InputAttr::Bool(true)))
    {
        attrs.insert("exportIgnore".into(), InputAttr::Bool(true));
    }
    if ty == "git" && who == Fetcher::Tree && !attrs.contains_key("shallow") {
        attrs.insert("shallow".into(), InputAttr::Bool(true));
    }
    if who == Fetcher::Tree && attrs.contains_key("name") {
        return err("argument 'name' isn’t supported in call to 'fetchTree'");
    }
    Ok(attrs)
}

/// The input a fetch builtin's argument describes.
fn input_of(m: &mut Machine, arg: &Value, who: Fetcher) -> R<Input> {
    let v = m.force(arg)?;
    if let Value::Attrs(_) = v {
        let attrs = input_attrs(m, &v, who)?;
        return Input::from_attrs(attrs, &Silent).map_err(|e| io_error(e.to_string()));
    }
    let mut ctx = Context::default();
    let url = m.coerce_to_string(&v, &mut ctx, false, false)?;
    let url = String::from_utf8_lossy(&url).into_owned();
    match who {
        Fetcher::Tree => {
            let opts = crate::flakeref::ParseOptions::default();
            let (r, frag) = crate::flakeref::parse_with_fragment(&url, &opts, &Silent)
                .map_err(|e| io_error(e.to_string()))?;
            if !frag.is_empty() || !r.subdir.is_empty() {
                return err(format!("input '{url}' has a fragment or a 'dir'"));
            }
            Ok(r.input)
        }
        Fetcher::Git => {
            let mut attrs = InputAttrs::new();
            attrs.insert("type".into(), InputAttr::Str("git".into()));
            attrs.insert("url".into(), InputAttr::Str(fix_git_url(&url)));
            attrs.insert("exportIgnore".into(), InputAttr::Bool(true));
            Input::from_attrs(attrs, &Silent).map_err(|e| io_error(e.to_string()))
        }
    }
}

fn fetch_tree_like(m: &mut Machine, arg: &Value, who: Fetcher) -> R<Value> {
    let input = input_of(m, arg, who)?;
    if input.is_final() {
        return err(format!(
            "input '{}' is not allowed to use the '__final' attribute",
            input.to_display()
        ));
    }
    if m.opts.pure && !input.is_locked(true) {
        if input.get_str("narHash").is_some() {
            m.io.message(&format!(
                "warning: Input '{}' is unlocked (e.g. lacks a Git revision) but is checked by NAR hash. This is not reproducible and will break after garbage collection or when shared.",
                input.to_display()
            ));
        } else {
            return err(format!(
                "in pure evaluation mode, '{}' doesn't fetch unlocked input '{}'",
                who.name(),
                input.to_display()
            ));
        }
    }
    let tree = m.io.fetch_tree(&input, false).map_err(io_error)?;
    Ok(tree_attrs(&tree, who == Fetcher::Git, false))
}

/// `fetchMercurial` (Nix's `primops/fetchMercurial.cc`): its own arguments (`url`, `rev`, which
/// may also name a branch, and `name`) and its own result (`outPath`, `branch`, `rev`, a
/// 12-character `shortRev`, `revCount`), not `fetchTree`'s.
fn fetch_mercurial(m: &mut Machine, arg: &Value) -> R<Value> {
    let v = m.force(arg)?;
    let mut url = String::new();
    let mut rev = None;
    let mut r#ref = None;
    let mut name = "source".to_owned();
    if let Value::Attrs(set) = &v {
        for a in &set.entries {
            match a.name.as_str() {
                "url" => {
                    let u = m.force(&a.value)?;
                    let mut ctx = Context::default();
                    let text = m.coerce_to_string(&u, &mut ctx, false, false)?;
                    url = String::from_utf8_lossy(&text).into_owned();
                }
                "rev" => {
                    let value = string_no_ctx(m, &a.value)?;
                    if value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                        rev = Some(value.to_ascii_lowercase());
                    } else {
                        r#ref = Some(value);
                    }
                }
                "name" => name = string_no_ctx(m, &a.value)?,
                other => {
                    return err(format!(
                        "unsupported argument '{other}' to 'fetchMercurial'"
                    ));
                }
            }
        }
        if url.is_empty() {
            return err("'url' argument required");
        }
    } else {
        let mut ctx = Context::default();
        let text = m.coerce_to_string(&v, &mut ctx, false, false)?;
        url = String::from_utf8_lossy(&text).into_owned();
    }
    if m.opts.pure && rev.is_none() {
        return err("in pure evaluation mode, 'fetchMercurial' requires a Mercurial revision");
    }
    let mut attrs = InputAttrs::new();
    attrs.insert("type".into(), InputAttr::Str("hg".into()));
    let url = if url.contains("://") {
        url
    } else {
        format!("file://{url}")
    };
    attrs.insert("url".into(), InputAttr::Str(url));
    attrs.insert("name".into(), InputAttr::Str(name));
    if let Some(r) = r#ref {
        attrs.insert("ref".into(), InputAttr::Str(r));
    }
    if let Some(r) = rev {
        attrs.insert("rev".into(), InputAttr::Str(r));
    }
    let input = Input::from_attrs(attrs, &Silent).map_err(|e| io_error(e.to_string()))?;
    let tree = m.io.fetch_tree(&input, false).map_err(io_error)?;
    let locked = &tree.input;
    let mut out = vec![attr("outPath", store_path_string(&tree.path))];
    if let Some(branch) = locked.get_str("ref") {
        out.push(attr("branch", Value::string(branch)));
    }
    // A dirty work tree has no revision: Nix gives forty zeros for compatibility.
    let rev = locked
        .get_str("rev")
        .unwrap_or("0000000000000000000000000000000000000000")
        .to_owned();
    out.push(attr("shortRev", Value::string(&rev[..rev.len().min(12)])));
    out.push(attr("rev", Value::string(rev)));
    if let Some(n) = locked.get_int("revCount") {
        out.push(attr("revCount", Value::Int(n as i64)));
    }
    Ok(Value::attrs(out))
}

/// `fetchurl` and `fetchTarball` (Nix's `fetch` in `fetchTree.cc`).
fn fetch_url(m: &mut Machine, arg: &Value, who: &str, unpack: bool) -> R<Value> {
    let v = m.force(arg)?;
    let mut url = None;
    let mut sha256 = None;
    let mut name = if unpack {
        "source".to_owned()
    } else {
        String::new()
    };
    if let Value::Attrs(set) = &v {
        for a in &set.entries {
            let s = string_no_ctx(m, &a.value)?;
            match a.name.as_str() {
                "url" => url = Some(s),
                "sha256" => {
                    sha256 = Some(if s.is_empty() {
                        Hash::zero(Algo::Sha256)
                    } else {
                        Hash::parse_any(&s, Some(Algo::Sha256))
                            .map_err(|e| io_error(e.to_string()))?
                    })
                }
                "name" => name = s,
                other => return err(format!("unsupported argument '{other}' to '{who}'")),
            }
        }
    } else {
        url = Some(string_no_ctx(m, &v)?);
    }
    let Some(url) = url else {
        return err("'url' argument required");
    };
    let name_passed = has_name(&v);
    if name.is_empty() {
        name = crate::eval::paths::base_name(&url).to_owned();
    }
    if let Err(e) = crate::store::path::check_name(&name) {
        let resolution = if name_passed {
            format!(
                "Please change the value for the 'name' attribute passed to '{who}', so that it can create a valid store path."
            )
        } else if matches!(v, Value::Attrs(_)) {
            format!(
                "Please add a valid 'name' attribute to the argument for '{who}', so that it can create a valid store path."
            )
        } else {
            format!(
                "Please pass an attribute set with 'url' and 'name' attributes to '{who}',  so that it can create a valid store path."
            )
        };
        return err(format!(
            "invalid store path name when fetching URL '{url}': {e}. {resolution}"
        ));
    }
    if m.opts.pure && sha256.is_none() {
        return err(format!(
            "in pure evaluation mode, '{who}' requires a 'sha256' argument"
        ));
    }
    let req = UrlFetch {
        url: &url,
        name: &name,
        sha256: sha256.as_ref(),
        unpack,
    };
    let path = m.io.fetch_url(&req).map_err(io_error)?;
    Ok(store_path_string(&path))
}

/// Whether a `fetchurl`/`fetchTarball` argument is a set with a `name`.
fn has_name(v: &Value) -> bool {
    matches!(v, Value::Attrs(a) if a.get(Symbol::intern("name")).is_some())
}

fn get_flake(m: &mut Machine, arg: &Value) -> R<Value> {
    let v = m.force(arg)?;
    let (r, is_path) = match &v {
        Value::Path(p) => (p.to_string(), true),
        _ => (string_no_ctx(m, &v)?, false),
    };
    if m.opts.pure && !is_path {
        let opts = crate::flakeref::ParseOptions::default();
        let parsed =
            crate::flakeref::parse(&r, &opts, &Silent).map_err(|e| io_error(e.to_string()))?;
        if !parsed.input.is_locked(true) {
            return err(format!(
                "cannot call 'getFlake' on unlocked flake reference '{r}', at «none»:0 (use --impure to override)"
            ));
        }
    }
    let v = m.io.get_flake(&r, is_path).map_err(io_error)?;
    m.force(&v)
}

/// The fetch builtins.
pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "fetchTree",
        arity: 1,
        f: |m, a, _| fetch_tree_like(m, &a[0], Fetcher::Tree),
    },
    PrimOp {
        name: "fetchGit",
        arity: 1,
        f: |m, a, _| fetch_tree_like(m, &a[0], Fetcher::Git),
    },
    PrimOp {
        name: "fetchMercurial",
        arity: 1,
        f: |m, a, _| fetch_mercurial(m, &a[0]),
    },
    PrimOp {
        name: "fetchTarball",
        arity: 1,
        f: |m, a, _| fetch_url(m, &a[0], "fetchTarball", true),
    },
    PrimOp {
        name: "fetchurl",
        arity: 1,
        f: |m, a, _| fetch_url(m, &a[0], "fetchurl", false),
    },
    PrimOp {
        name: "getFlake",
        arity: 1,
        f: |m, a, _| get_flake(m, &a[0]),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_git_urls() {
        assert_eq!(compact_date(1_700_000_000), "20231114221320");
        assert_eq!(fix_git_url("/a/b"), "file:///a/b");
        assert_eq!(fix_git_url("git@h:o/r"), "ssh://git@h/o/r");
        assert_eq!(fix_git_url("https://h/r"), "https://h/r");
    }
}
