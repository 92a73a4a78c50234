//! String and path builtins (`toString`, `substring`, `stringLength`, `concatStringsSep`,
//! `replaceStrings`, `baseNameOf`, `dirOf`, `readFile`, `pathExists`, `readDir`, `toFile`,
//! `compareVersions`, `splitVersion`, `parseDrvName`, …). Strings are bytes: lengths and
//! offsets count bytes, as in Nix.

use super::PrimOp;
use super::control::path_of;
use crate::eval::context::{Context, CtxElem};
use crate::eval::error::{R, err};
use crate::eval::io::FileType;
use crate::eval::machine::{Machine, io_error};
use crate::eval::pos::PosIdx;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Value};

fn to_string(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let mut ctx = Context::default();
    let s = m.coerce_to_string(&a[0], &mut ctx, true, false)?;
    Ok(Value::string_with(s, ctx))
}

fn substring(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let start = m.int_of(&a[0])?;
    let len = m.int_of(&a[1])?;
    let mut ctx = Context::default();
    let s = m.coerce_to_string(&a[2], &mut ctx, false, true)?;
    if start < 0 {
        return err("negative start position in 'substring'");
    }
    let start = (start as usize).min(s.len());
    let end = if len < 0 {
        s.len()
    } else {
        start.saturating_add(len as usize).min(s.len())
    };
    Ok(Value::string_with(s[start..end].to_vec(), ctx))
}

fn concat_sep(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let sep = m.str_of(&a[0])?;
    let mut ctx = sep.ctx.clone();
    let sep = sep.s.to_vec();
    let l = m.list_of(&a[1])?;
    let mut out = Vec::new();
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&sep);
        }
        out.extend(m.coerce_to_string(x, &mut ctx, false, true)?);
    }
    Ok(Value::string_with(out, ctx))
}

fn replace_strings(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let from = m.list_of(&a[0])?;
    let to = m.list_of(&a[1])?;
    if from.len() != to.len() {
        return err(
            "'from' and 'to' arguments passed to builtins.replaceStrings have different lengths",
        );
    }
    let mut froms = Vec::with_capacity(from.len());
    for f in from.iter() {
        froms.push(m.str_of(f)?);
    }
    let mut tos: Vec<Option<(Vec<u8>, Context)>> = vec![None; to.len()];
    let s = m.str_of(&a[2])?;
    let mut ctx = s.ctx.clone();
    let mut out = Vec::with_capacity(s.s.len());
    let bytes = &s.s;
    let mut i = 0;
    while i <= bytes.len() {
        let mut matched = false;
        for (k, f) in froms.iter().enumerate() {
            let f = &f.s;
            if bytes[i..].starts_with(f) {
                if tos[k].is_none() {
                    let t = m.str_of(&to[k])?;
                    tos[k] = Some((t.s.to_vec(), t.ctx.clone()));
                }
                if let Some((t, c)) = &tos[k] {
                    out.extend_from_slice(t);
                    ctx.extend(c);
                }
                if f.is_empty() {
                    if i < bytes.len() {
                        out.push(bytes[i]);
                    }
                    i += 1;
                } else {
                    i += f.len();
                }
                matched = true;
                break;
            }
        }
        if !matched {
            if i < bytes.len() {
                out.push(bytes[i]);
            }
            i += 1;
        }
    }
    Ok(Value::string_with(out, ctx))
}

fn base_name_of(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let v = m.force(&a[0])?;
    let mut ctx = Context::default();
    let s = m.coerce_to_string(&v, &mut ctx, false, false)?;
    let s = String::from_utf8_lossy(&s).into_owned();
    Ok(Value::string_with(crate::eval::paths::base_name(&s), ctx))
}

fn dir_of(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let v = m.force(&a[0])?;
    if let Value::Path(p) = &v {
        return Ok(Value::Path(crate::eval::paths::dir_of(p).into()));
    }
    let mut ctx = Context::default();
    let s = m.coerce_to_string(&v, &mut ctx, false, false)?;
    let s = String::from_utf8_lossy(&s).into_owned();
    Ok(Value::string_with(crate::eval::paths::dir_of(&s), ctx))
}

fn read_file(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let p = super::control::realised_path_of(m, &a[0])?;
    let bytes = m.io.read_file(&p).map_err(io_error)?;
    Ok(Value::string(bytes))
}

fn path_exists(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let v = m.force(&a[0])?;
    let p = super::control::realised_path_of(m, &v)?;
    // A string ending in `/` or `/.` names a directory; otherwise a final symlink counts
    // itself, broken or not (Nix resolves only the ancestors then).
    let must_be_dir = match &v {
        Value::Str(s) => s.s.ends_with(b"/") || s.s.ends_with(b"/."),
        _ => false,
    };
    if must_be_dir {
        return Ok(Value::Bool(matches!(
            m.io.file_type(&p),
            Ok(Some(FileType::Directory))
        )));
    }
    Ok(Value::Bool(matches!(m.io.lstat_type(&p), Ok(Some(_)))))
}

/// `path` with every symlink in it resolved (Nix's `SourcePath::resolveSymlinks`), as far as
/// it exists.
fn resolve_symlinks(m: &Machine, path: &str) -> R<String> {
    let mut done = String::new();
    let mut todo: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                let cut = done.rfind('/').unwrap_or(0);
                done.truncate(cut);
                continue;
            }
            _ => {}
        }
        let next = format!("{done}/{c}");
        if m.io.lstat_type(&next).map_err(io_error)? != Some(FileType::Symlink) {
            done = next;
            continue;
        }
        links += 1;
        if links > 1024 {
            return err(format!("infinite symlink recursion in path '{path}'"));
        }
        let target = m.io.read_link(&next).map_err(io_error)?;
        if target.starts_with('/') {
            done.clear();
        }
        todo.extend(target.split('/').rev().map(str::to_owned));
    }
    if done.is_empty() {
        done.push('/');
    }
    Ok(done)
}

fn read_dir(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let p = super::control::realised_path_of(m, &a[0])?;
    match m.io.file_type(&p).map_err(io_error)? {
        None => return err(format!("path '{p}' does not exist")),
        Some(FileType::Directory) => {}
        Some(_) => {
            let resolved = resolve_symlinks(m, &p)?;
            return err(format!("'{resolved}' is not a directory"));
        }
    }
    let entries = m.io.read_dir(&p).map_err(io_error)?;
    Ok(Value::attrs(
        entries
            .into_iter()
            .map(|(name, t)| Attr {
                name: Symbol::intern(&name),
                value: Value::string(t.name()),
                pos: PosIdx::NONE,
            })
            .collect(),
    ))
}

fn read_file_type(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let p = path_of(m, &a[0])?;
    match m.io.lstat_type(&p).map_err(io_error)? {
        Some(t) => Ok(Value::string(t.name())),
        None => err(format!(
            "getting status of '{p}': No such file or directory"
        )),
    }
}

fn to_file(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let name = m.str_of(&a[0])?;
    let text = m.str_of(&a[1])?;
    let mut refs = Vec::new();
    for e in text.ctx.iter() {
        match e {
            CtxElem::Opaque(p) => refs.push(p.to_string()),
            _ => {
                return err(format!(
                    "files created by builtins.toFile may not reference derivations, but {} references {}",
                    name.text(),
                    match e {
                        CtxElem::Deep(d) => d.to_string(),
                        CtxElem::Built { drv, .. } => drv.to_string(),
                        CtxElem::Opaque(p) => p.to_string(),
                    }
                ));
            }
        }
    }
    let path =
        m.io.add_text(&name.text(), &text.s, &refs, m.opts.read_only)
            .map_err(io_error)?;
    Ok(Value::string_with(
        path.clone(),
        Context::one(CtxElem::Opaque(path.into())),
    ))
}

/// Splits a version into components as Nix's `nextComponent` does: runs of digits, runs of
/// other characters, separated by `.` or `-`.
pub fn split_version(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b'.' || b[i] == b'-') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            while i < b.len() && !b[i].is_ascii_digit() && b[i] != b'.' && b[i] != b'-' {
                i += 1;
            }
        }
        out.push(s[start..i].to_owned());
    }
    out
}

fn component_less(a: &str, b: &str) -> bool {
    let an = a.parse::<u64>().ok();
    let bn = b.parse::<u64>().ok();
    match (an, bn) {
        (Some(x), Some(y)) => x < y,
        _ => {
            if (a.is_empty() && bn.is_some()) || (a == "pre" && b != "pre") {
                true
            } else if b == "pre" {
                false
            } else if bn.is_some() {
                true
            } else if an.is_some() {
                false
            } else {
                a < b
            }
        }
    }
}

/// Nix's `compareVersions`.
pub fn compare_versions(a: &str, b: &str) -> i64 {
    let (x, y) = (split_version(a), split_version(b));
    let n = x.len().max(y.len());
    for i in 0..n {
        let p = x.get(i).map_or("", |s| s.as_str());
        let q = y.get(i).map_or("", |s| s.as_str());
        if component_less(p, q) {
            return -1;
        }
        if component_less(q, p) {
            return 1;
        }
    }
    0
}

fn parse_drv_name(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let s = m.str_of(&a[0])?;
    let s = s.text().into_owned();
    let b = s.as_bytes();
    let mut split = None;
    for i in 0..b.len() {
        if b[i] == b'-' && b.get(i + 1).is_some_and(|c| !c.is_ascii_alphabetic()) {
            split = Some(i);
            break;
        }
    }
    let (name, version) = match split {
        Some(i) => (s[..i].to_owned(), s[i + 1..].to_owned()),
        None => (s.clone(), String::new()),
    };
    Ok(Value::attrs(vec![
        Attr {
            name: known().name,
            value: Value::string(name),
            pos: PosIdx::NONE,
        },
        Attr {
            name: Symbol::intern("version"),
            value: Value::string(version),
            pos: PosIdx::NONE,
        },
    ]))
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "toString",
        arity: 1,
        f: to_string,
    },
    PrimOp {
        name: "stringLength",
        arity: 1,
        f: |m, a, _| {
            let mut ctx = Context::default();
            let s = m.coerce_to_string(&a[0], &mut ctx, false, true)?;
            Ok(Value::Int(s.len() as i64))
        },
    },
    PrimOp {
        name: "substring",
        arity: 3,
        f: substring,
    },
    PrimOp {
        name: "concatStringsSep",
        arity: 2,
        f: concat_sep,
    },
    PrimOp {
        name: "replaceStrings",
        arity: 3,
        f: replace_strings,
    },
    PrimOp {
        name: "baseNameOf",
        arity: 1,
        f: base_name_of,
    },
    PrimOp {
        name: "dirOf",
        arity: 1,
        f: dir_of,
    },
    PrimOp {
        name: "readFile",
        arity: 1,
        f: read_file,
    },
    PrimOp {
        name: "pathExists",
        arity: 1,
        f: path_exists,
    },
    PrimOp {
        name: "readDir",
        arity: 1,
        f: read_dir,
    },
    PrimOp {
        name: "readFileType",
        arity: 1,
        f: read_file_type,
    },
    PrimOp {
        name: "toFile",
        arity: 2,
        f: to_file,
    },
    PrimOp {
        name: "toPath",
        arity: 1,
        f: |m, a, _| {
            let p = path_of(m, &a[0])?;
            Ok(Value::string(p))
        },
    },
    PrimOp {
        name: "compareVersions",
        arity: 2,
        f: |m, a, _| {
            let x = m.str_of(&a[0])?;
            let y = m.str_of(&a[1])?;
            Ok(Value::Int(compare_versions(&x.text(), &y.text())))
        },
    },
    PrimOp {
        name: "splitVersion",
        arity: 1,
        f: |m, a, _| {
            let x = m.str_of(&a[0])?;
            Ok(Value::list(
                split_version(&x.text())
                    .into_iter()
                    .map(Value::string)
                    .collect(),
            ))
        },
    },
    PrimOp {
        name: "parseDrvName",
        arity: 1,
        f: parse_drv_name,
    },
];
