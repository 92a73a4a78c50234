//! The string-context builtins (Nix's `primops/context.cc`): `getContext`, `appendContext`,
//! `hasContext`, `unsafeDiscardStringContext`, `unsafeDiscardOutputDependency` and
//! `addDrvOutputDependencies`.

use std::collections::BTreeMap;

use super::PrimOp;
use super::args::{arg, str_no_ctx};
use crate::eval::context::{Context, CtxElem};
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Value};
use crate::store::path::StoreDir;

/// `coerceToString` of the argument (paths copied to the store), with its context.
fn coerce(m: &mut Machine, v: &Value, builtin: &str) -> R<(Vec<u8>, Context)> {
    let mut ctx = Context::default();
    let s = arg(
        m.coerce_to_string(v, &mut ctx, false, true),
        &format!("while evaluating the argument passed to builtins.{builtin}"),
    )?;
    Ok((s, ctx))
}

fn attr(name: Symbol, value: Value) -> Attr {
    Attr {
        name,
        value,
        pos: PosIdx::NONE,
    }
}

fn get_context(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let s = arg(
        m.str_of(&a[0]),
        "while evaluating the argument passed to builtins.getContext",
    )?;
    // Per store path: in the context as a plain path, with all outputs, which outputs.
    let mut info: BTreeMap<&str, (bool, bool, Vec<Value>)> = BTreeMap::new();
    for e in s.ctx.iter() {
        match e {
            CtxElem::Opaque(p) => info.entry(p).or_default().0 = true,
            CtxElem::Deep(d) => info.entry(d).or_default().1 = true,
            CtxElem::Built { drv, output } => info
                .entry(drv)
                .or_default()
                .2
                .push(Value::string(output.as_bytes())),
        }
    }
    let k = known();
    let entries = info
        .into_iter()
        .map(|(path, (plain, all, outputs))| {
            let mut inner = Vec::new();
            if plain {
                inner.push(attr(k.path, Value::Bool(true)));
            }
            if all {
                inner.push(attr(k.all_outputs, Value::Bool(true)));
            }
            if !outputs.is_empty() {
                inner.push(attr(k.outputs, Value::list(outputs)));
            }
            attr(Symbol::intern(path), Value::attrs(inner))
        })
        .collect();
    Ok(Value::attrs(entries))
}

fn append_context(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let s = arg(
        m.str_of(&a[0]),
        "while evaluating the first argument passed to builtins.appendContext",
    )?;
    let set = arg(
        m.attrs_of(&a[1]),
        "while evaluating the second argument passed to builtins.appendContext",
    )?;
    let store = StoreDir::new(m.io.store_dir());
    let k = known();
    let mut ctx = s.ctx.clone();
    // In the set's own order, as Nix walks its bindings.
    for entry in set.entries.iter() {
        let name = entry.name.as_str();
        let at = |e: Box<crate::eval::error::EvalError>| e.at(entry.pos);
        if store.parse(name).is_err() {
            return err(format!("context key '{name}' is not a store path")).map_err(at);
        }
        let is_drv = name.ends_with(".drv");
        let info = arg(
            m.attrs_of(&entry.value.clone()),
            "while evaluating the value of a string context",
        )
        .map_err(at)?;
        if let Some(p) = info.get(k.path) {
            let on = arg(
                m.bool_value(&p.value.clone()),
                "while evaluating the `path` attribute of a string context",
            )?;
            if on {
                ctx.insert(CtxElem::Opaque(name.into()));
            }
        }
        if let Some(p) = info.get(k.all_outputs) {
            let on = arg(
                m.bool_value(&p.value.clone()),
                "while evaluating the `allOutputs` attribute of a string context",
            )?;
            if on {
                if !is_drv {
                    return err(format!(
                        "tried to add all-outputs context of {name}, which is not a derivation, to a string"
                    ))
                    .map_err(at);
                }
                ctx.insert(CtxElem::Deep(name.into()));
            }
        }
        if let Some(p) = info.get(k.outputs) {
            let outs = arg(
                m.list_of(&p.value.clone()),
                "while evaluating the `outputs` attribute of a string context",
            )?;
            if !outs.is_empty() && !is_drv {
                return err(format!(
                    "tried to add derivation output context of {name}, which is not a derivation, to a string"
                ))
                .map_err(at);
            }
            for o in outs.iter() {
                let o = str_no_ctx(
                    m,
                    o,
                    "while evaluating an output name within a string context",
                )?;
                ctx.insert(CtxElem::Built {
                    drv: name.into(),
                    output: String::from_utf8_lossy(&o).into(),
                });
            }
        }
    }
    Ok(Value::string_with(s.s.to_vec(), ctx))
}

fn add_drv_output_dependencies(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let (s, ctx) = coerce(m, &a[0], "addDrvOutputDependencies")?;
    let elems: Vec<&CtxElem> = ctx.iter().collect();
    let [only] = elems.as_slice() else {
        return err(format!(
            "context of string '{}' must have exactly one element, but has {}",
            String::from_utf8_lossy(&s),
            elems.len()
        ));
    };
    let deep = match only {
        CtxElem::Opaque(p) => {
            if !p.ends_with(".drv") {
                return err(format!("path '{p}' is not a derivation"));
            }
            CtxElem::Deep(p.clone())
        }
        CtxElem::Built { output, .. } => {
            return err(format!(
                "`addDrvOutputDependencies` can only act on derivations, not on a derivation output such as '{output}'"
            ));
        }
        CtxElem::Deep(_) => (*only).clone(),
    };
    Ok(Value::string_with(s, Context::one(deep)))
}

fn discard_output_dependency(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let (s, ctx) = coerce(m, &a[0], "unsafeDiscardOutputDependency")?;
    let mut out = Context::default();
    for e in ctx.iter() {
        match e {
            CtxElem::Deep(d) => out.insert(CtxElem::Opaque(d.clone())),
            e => out.insert(e.clone()),
        }
    }
    Ok(Value::string_with(s, out))
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "getContext",
        arity: 1,
        f: get_context,
    },
    PrimOp {
        name: "appendContext",
        arity: 2,
        f: append_context,
    },
    PrimOp {
        name: "hasContext",
        arity: 1,
        f: |m, a, _| {
            let s = arg(
                m.str_of(&a[0]),
                "while evaluating the argument passed to builtins.hasContext",
            )?;
            Ok(Value::Bool(!s.ctx.is_empty()))
        },
    },
    PrimOp {
        name: "unsafeDiscardStringContext",
        arity: 1,
        f: |m, a, _| {
            let (s, _) = coerce(m, &a[0], "unsafeDiscardStringContext")?;
            Ok(Value::string(s))
        },
    },
    PrimOp {
        name: "unsafeDiscardOutputDependency",
        arity: 1,
        f: discard_output_dependency,
    },
    PrimOp {
        name: "addDrvOutputDependencies",
        arity: 1,
        f: add_drv_output_dependencies,
    },
];
