//! Control and reflection: `throw`, `abort`, `tryEval`, `seq`, `deepSeq`, `trace`, `warn`,
//! `addErrorContext`, `import`, `scopedImport`, `getEnv`, `functionArgs`,
//! `unsafeGetAttrPos`, `currentTime`-style impure values.

use super::PrimOp;
use crate::eval::context::Context;
use crate::eval::error::{Kind, R, err, err_kind};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Value};

fn message(m: &mut Machine, v: &Value) -> R<String> {
    let mut ctx = Context::default();
    let s = m.coerce_to_string(v, &mut ctx, false, false)?;
    Ok(String::from_utf8_lossy(&s).into_owned())
}

/// The path a value names for `import`, `readFile`, … (a path, or a string that is an
/// absolute path).
pub fn path_of(m: &mut Machine, v: &Value) -> R<String> {
    let v = m.force(v)?;
    match &v {
        Value::Path(p) => Ok(p.to_string()),
        _ => {
            let mut ctx = Context::default();
            let s = m.coerce_to_string(&v, &mut ctx, false, false)?;
            let s = String::from_utf8_lossy(&s).into_owned();
            if !s.starts_with('/') {
                return err(format!("string '{s}' doesn't represent an absolute path"));
            }
            Ok(crate::eval::paths::canonicalise(&s))
        }
    }
}

/// [`path_of`], after building the derivation outputs the value's string context names
/// (import from derivation: Nix's `realisePath`), so that reading the path finds them.
pub fn realised_path_of(m: &mut Machine, v: &Value) -> R<String> {
    let v = m.force(v)?;
    if let Value::Path(p) = &v {
        return Ok(p.to_string());
    }
    let mut ctx = Context::default();
    let s = m.coerce_to_string(&v, &mut ctx, false, false)?;
    let s = String::from_utf8_lossy(&s).into_owned();
    if !s.starts_with('/') {
        return err(format!("string '{s}' doesn't represent an absolute path"));
    }
    let outputs: Vec<(String, String)> = ctx
        .iter()
        .filter_map(|e| match e {
            crate::eval::context::CtxElem::Built { drv, output } => {
                Some((drv.to_string(), output.to_string()))
            }
            _ => None,
        })
        .collect();
    if !outputs.is_empty()
        && let Err(e) = m.io.realise(&outputs)
    {
        return err(e);
    }
    Ok(crate::eval::paths::canonicalise(&s))
}

fn import(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let p = realised_path_of(m, &a[0])?;
    m.import(&p)
}

fn try_eval(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let k = known();
    let (ok, v) = match m.force(&a[0]) {
        Ok(v) => (true, v),
        Err(e) if e.catchable() => (false, Value::Bool(false)),
        Err(e) => return Err(e),
    };
    Ok(Value::attrs(vec![
        Attr {
            name: k.success,
            value: Value::Bool(ok),
            pos: PosIdx::NONE,
        },
        Attr {
            name: k.value,
            value: v,
            pos: PosIdx::NONE,
        },
    ]))
}

fn function_args(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    match m.force(&a[0])? {
        Value::Lambda(c) => {
            let entries = match &c.lambda.formals {
                Some(f) => f
                    .entries
                    .iter()
                    .map(|e| Attr {
                        name: e.name,
                        value: Value::Bool(e.default.is_some()),
                        pos: e.pos,
                    })
                    .collect(),
                None => Vec::new(),
            };
            Ok(Value::attrs(entries))
        }
        Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(Value::attrs(Vec::new())),
        _ => err("'functionArgs' requires a function"),
    }
}

fn attr_pos(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let name = m.str_of(&a[0])?;
    let set = m.attrs_of(&a[1])?;
    match set.get(Symbol::intern(&name.text())) {
        Some(attr) => Ok(m.pos_attrs(attr.pos)),
        None => Ok(Value::Null),
    }
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "throw",
        arity: 1,
        f: |m, a, _| {
            let msg = message(m, &a[0])?;
            err_kind(Kind::Throw, msg)
        },
    },
    PrimOp {
        name: "abort",
        arity: 1,
        f: |m, a, _| {
            let msg = message(m, &a[0])?;
            err_kind(
                Kind::Abort,
                format!("evaluation aborted with the following error message: '{msg}'"),
            )
        },
    },
    PrimOp {
        name: "tryEval",
        arity: 1,
        f: try_eval,
    },
    PrimOp {
        name: "seq",
        arity: 2,
        f: |m, a, _| {
            m.force(&a[0])?;
            m.force(&a[1])
        },
    },
    PrimOp {
        name: "deepSeq",
        arity: 2,
        f: |m, a, _| {
            m.force_deep(&a[0])?;
            m.force(&a[1])
        },
    },
    PrimOp {
        name: "trace",
        arity: 2,
        f: |m, a, _| {
            let v = m.force(&a[0])?;
            let shown = match &v {
                Value::Str(s) => s.text().into_owned(),
                other => String::from_utf8_lossy(&crate::eval::print::print(m, other, false)?)
                    .into_owned(),
            };
            m.io.message(&format!("trace: {shown}"));
            m.force(&a[1])
        },
    },
    PrimOp {
        name: "traceVerbose",
        arity: 2,
        f: |m, a, _| m.force(&a[1]),
    },
    PrimOp {
        name: "warn",
        arity: 2,
        f: |m, a, _| {
            let s = m.str_of(&a[0])?;
            m.io.message(&format!("evaluation warning: {}", s.text()));
            if m.opts.abort_on_warn {
                // As Nix: not an error `tryEval` catches.
                return err_kind(
                    Kind::Eval,
                    "aborting to reveal stack trace of warning, as abort-on-warn is set",
                );
            }
            m.force(&a[1])
        },
    },
    PrimOp {
        name: "addErrorContext",
        arity: 2,
        f: |m, a, pos| match m.force(&a[1]) {
            Ok(v) => Ok(v),
            Err(e) => {
                let msg = message(m, &a[0]).unwrap_or_default();
                Err(e.frame(msg, pos))
            }
        },
    },
    PrimOp {
        name: "import",
        arity: 1,
        f: import,
    },
    PrimOp {
        name: "scopedImport",
        arity: 2,
        f: |m, a, _| {
            let p = path_of(m, &a[1])?;
            let scope = a[0].clone();
            m.attrs_of(&scope)?;
            m.scoped_import(scope, &p)
        },
    },
    PrimOp {
        name: "getEnv",
        arity: 1,
        f: |m, a, _| {
            let name = m.str_of(&a[0])?;
            if m.opts.pure {
                return Ok(Value::string(""));
            }
            Ok(Value::string(
                m.io.get_env(&name.text()).unwrap_or_default(),
            ))
        },
    },
    PrimOp {
        name: "functionArgs",
        arity: 1,
        f: function_args,
    },
    PrimOp {
        name: "unsafeGetAttrPos",
        arity: 2,
        f: attr_pos,
    },
    PrimOp {
        name: "break",
        arity: 1,
        f: |m, a, _| m.force(&a[0]),
    },
];
