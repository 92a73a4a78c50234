//! Builtins that put paths in the store or name paths already there (Nix's `primops.cc`
//! `prim_path`, `prim_filterSource`, `addPath`, `callPathFilter`, `prim_storePath`).
//!
//! `path` and `filterSource` add a file or tree as a content-addressed path: `source` for a
//! NAR with sha256, fixed-output otherwise; the filter gets each entry's path (a string) and
//! type and must return a Boolean. `storePath` names a path that is in the store already; it
//! is not available in pure evaluation.

use std::cell::RefCell;

use super::PrimOp;
use super::args::{arg, function, str_no_ctx};
use super::control::path_of;
use crate::eval::context::{Context, CtxElem};
use crate::eval::error::{EvalError, R, err};
use crate::eval::io::{AddPath, FileType};
use crate::eval::machine::{Machine, io_error};
use crate::eval::pos::PosIdx;
use crate::eval::value::Value;
use crate::hash::{Algo, Hash};

/// Nix's `addPath`: adds `path` (filtered by `filter`) and returns its store path string,
/// with the path as context.
fn add_path(
    m: &mut Machine,
    path: &str,
    name: &str,
    filter: Option<Value>,
    recursive: bool,
    expected: Option<&Hash>,
) -> R<Value> {
    let io = m.io.clone();
    let req = AddPath {
        path,
        name,
        recursive,
        expected,
        dry: m.opts.read_only,
    };
    // The filter's own error is kept here; the store only learns that it failed.
    let failed: RefCell<Option<Box<EvalError>>> = RefCell::new(None);
    let added = match filter {
        Some(f) => {
            let mut call = |p: &str, t: FileType| -> Result<bool, String> {
                match call_filter(m, &f, p, t) {
                    Ok(b) => Ok(b),
                    Err(e) => {
                        *failed.borrow_mut() = Some(e);
                        Err(String::new())
                    }
                }
            };
            io.add_path_filtered(&req, Some(&mut call))
        }
        None => io.add_path_filtered(&req, None),
    };
    let added = match (added, failed.into_inner()) {
        (_, Some(e)) => return Err(e),
        (r, None) => r.map_err(io_error)?,
    };
    let mut ctx = Context::default();
    ctx.insert(CtxElem::Opaque(added.as_str().into()));
    Ok(Value::string_with(added, ctx))
}

/// Nix's `callPathFilter`: `filter path type`, which must be a Boolean.
fn call_filter(m: &mut Machine, f: &Value, path: &str, t: FileType) -> R<bool> {
    let g = m.call(f.clone(), Value::string(path), PosIdx::NONE)?;
    let r = m.call(g, Value::string(t.name()), PosIdx::NONE)?;
    arg(
        m.bool_value(&r),
        "while evaluating the return value of the path filter function",
    )
}

fn filter_source(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let path = arg(
        path_of(m, &a[1]),
        "while evaluating the second argument (the path to filter) passed to 'builtins.filterSource'",
    )?;
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.filterSource",
    )?;
    let name = crate::eval::paths::base_name(&path).to_owned();
    add_path(m, &path, &name, Some(f), true, None).map_err(|e| adding(e, &path))
}

fn adding(e: Box<EvalError>, path: &str) -> Box<EvalError> {
    e.frame(format!("while adding path '{path}'"), PosIdx::NONE)
}

fn path(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let set = arg(
        m.attrs_of(&a[0]),
        "while evaluating the argument passed to 'builtins.path'",
    )?;
    let mut path: Option<String> = None;
    let mut name = String::new();
    let mut filter: Option<Value> = None;
    let mut recursive = true;
    let mut expected: Option<Hash> = None;
    for attr in set.entries.iter() {
        let v = &attr.value;
        let at = |e: Box<EvalError>| e.at(attr.pos);
        match attr.name.as_str() {
            "path" => {
                path = Some(
                    arg(
                        path_of(m, v),
                        "while evaluating the 'path' attribute passed to 'builtins.path'",
                    )
                    .map_err(at)?,
                )
            }
            "name" => {
                let s = str_no_ctx(
                    m,
                    v,
                    "while evaluating the `name` attribute passed to builtins.path",
                )
                .map_err(at)?;
                name = String::from_utf8_lossy(&s).into_owned();
            }
            "filter" => {
                filter = Some(
                    function(
                        m,
                        v,
                        "while evaluating the `filter` parameter passed to builtins.path",
                    )
                    .map_err(at)?,
                )
            }
            "recursive" => {
                recursive = arg(
                    m.bool_value(v),
                    "while evaluating the `recursive` attribute passed to builtins.path",
                )
                .map_err(at)?
            }
            "sha256" => {
                let s = str_no_ctx(
                    m,
                    v,
                    "while evaluating the `sha256` attribute passed to builtins.path",
                )
                .map_err(at)?;
                let s = String::from_utf8_lossy(&s).into_owned();
                expected = Some(if s.is_empty() {
                    Hash::zero(Algo::Sha256)
                } else {
                    Hash::parse_any(&s, Some(Algo::Sha256))
                        .map_err(|e| EvalError::boxed(e.to_string()).at(attr.pos))?
                });
            }
            other => {
                return err(format!("unsupported argument '{other}' to 'builtins.path'"))
                    .map_err(at);
            }
        }
    }
    let Some(path) = path else {
        return err("missing required 'path' attribute in the first argument to 'builtins.path'");
    };
    if name.is_empty() {
        name = crate::eval::paths::base_name(&path).to_owned();
    }
    add_path(m, &path, &name, filter, recursive, expected.as_ref()).map_err(|e| adding(e, &path))
}

fn store_path(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    if m.opts.pure {
        return err("'builtins.storePath' is not allowed in pure evaluation mode");
    }
    let p = arg(
        path_of(m, &a[0]),
        "while evaluating the first argument passed to 'builtins.storePath'",
    )?;
    let store_dir = m.io.store_dir().to_owned();
    let Some(rest) = p
        .strip_prefix(&store_dir)
        .and_then(|r| r.strip_prefix('/'))
        .filter(|r| !r.is_empty())
    else {
        return err(format!("path '{p}' is not in the Nix store"));
    };
    let base = rest.split('/').next().unwrap_or(rest);
    let sp = format!("{store_dir}/{base}");
    if m.io.lstat_type(&sp).map_err(io_error)?.is_none() {
        return err(format!("path '{sp}' is not valid"));
    }
    let mut ctx = Context::default();
    ctx.insert(CtxElem::Opaque(sp.as_str().into()));
    Ok(Value::string_with(p, ctx))
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "filterSource",
        arity: 2,
        f: filter_source,
    },
    PrimOp {
        name: "path",
        arity: 1,
        f: path,
    },
    PrimOp {
        name: "storePath",
        arity: 1,
        f: store_path,
    },
];
