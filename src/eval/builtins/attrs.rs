//! Attribute set builtins (`attrNames`, `getAttr`, `listToAttrs`, `mapAttrs`,
//! `removeAttrs`, `intersectAttrs`, `catAttrs`, `zipAttrsWith`, …).

use std::rc::Rc;

use super::PrimOp;
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Attrs, Value};

fn sym_of(m: &mut Machine, v: &Value) -> R<Symbol> {
    let s = m.str_of(v)?;
    Ok(Symbol::intern(&s.text()))
}

fn get_attr(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let name = sym_of(m, &a[0])?;
    let set = m.attrs_of(&a[1])?;
    match set.get(name) {
        Some(x) => {
            let v = x.value.clone();
            m.force(&v)
        }
        None => err(format!("attribute '{name}' missing")),
    }
}

fn remove_attrs(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let set = m.attrs_of(&a[0])?;
    let names = m.list_of(&a[1])?;
    let mut drop = Vec::with_capacity(names.len());
    for n in names.iter() {
        drop.push(sym_of(m, n)?);
    }
    drop.sort();
    let entries: Vec<Attr> = set
        .entries
        .iter()
        .filter(|e| drop.binary_search(&e.name).is_err())
        .cloned()
        .collect();
    Ok(Value::Attrs(Rc::new(Attrs { entries })))
}

fn list_to_attrs(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = m.list_of(&a[0])?;
    let k = known();
    let mut entries: Vec<Attr> = Vec::with_capacity(l.len());
    for item in l.iter() {
        let item = m.attrs_of(item)?;
        let Some(name) = item.get(k.name) else {
            return err("attribute 'name' missing");
        };
        let name = name.value.clone();
        let name = sym_of(m, &name)?;
        let Some(value) = item.get(k.value) else {
            return err("attribute 'value' missing");
        };
        entries.push(Attr {
            name,
            value: value.value.clone(),
            pos: value.pos,
        });
    }
    // The first of equal names wins: a stable sort, then keep the first of each run.
    entries.sort_by_key(|e| e.name);
    entries.dedup_by_key(|e| e.name);
    Ok(Value::Attrs(Rc::new(Attrs { entries })))
}

fn map_attrs(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let set = m.attrs_of(&a[1])?;
    let f = a[0].clone();
    let entries = set
        .entries
        .iter()
        .map(|e| {
            let g = Value::apply_lazily(f.clone(), Value::string(e.name.as_str()));
            Attr {
                name: e.name,
                value: Value::apply_lazily(g, e.value.clone()),
                // As Nix: the new attributes have no position (`unsafeGetAttrPos` gives null).
                pos: PosIdx::NONE,
            }
        })
        .collect();
    Ok(Value::Attrs(Rc::new(Attrs { entries })))
}

fn intersect(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let x = m.attrs_of(&a[0])?;
    let y = m.attrs_of(&a[1])?;
    let entries = y
        .entries
        .iter()
        .filter(|e| x.get(e.name).is_some())
        .cloned()
        .collect();
    Ok(Value::Attrs(Rc::new(Attrs { entries })))
}

fn cat_attrs(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let name = sym_of(m, &a[0])?;
    let l = m.list_of(&a[1])?;
    let mut out = Vec::new();
    for x in l.iter() {
        let s = m.attrs_of(x)?;
        if let Some(v) = s.get(name) {
            out.push(v.value.clone());
        }
    }
    Ok(Value::list(out))
}

fn zip_attrs_with(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    m.function_of(&a[0])?;
    let l = m.list_of(&a[1])?;
    let mut by: std::collections::BTreeMap<Symbol, Vec<Value>> = Default::default();
    for x in l.iter() {
        let s = m.attrs_of(x)?;
        for e in &s.entries {
            by.entry(e.name).or_default().push(e.value.clone());
        }
    }
    let f = a[0].clone();
    let entries = by
        .into_iter()
        .map(|(name, vals)| {
            let g = Value::apply_lazily(f.clone(), Value::string(name.as_str()));
            Attr {
                name,
                value: Value::apply_lazily(g, Value::list(vals)),
                pos: PosIdx::NONE,
            }
        })
        .collect();
    Ok(Value::Attrs(Rc::new(Attrs { entries })))
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "attrNames",
        arity: 1,
        f: |m, a, _| {
            let set = m.attrs_of(&a[0])?;
            Ok(Value::list(
                set.sorted_by_name()
                    .iter()
                    .map(|e| Value::string(e.name.as_str()))
                    .collect(),
            ))
        },
    },
    PrimOp {
        name: "attrValues",
        arity: 1,
        f: |m, a, _| {
            let set = m.attrs_of(&a[0])?;
            Ok(Value::list(
                set.sorted_by_name()
                    .iter()
                    .map(|e| e.value.clone())
                    .collect(),
            ))
        },
    },
    PrimOp {
        name: "getAttr",
        arity: 2,
        f: get_attr,
    },
    PrimOp {
        name: "hasAttr",
        arity: 2,
        f: |m, a, _| {
            let name = sym_of(m, &a[0])?;
            let set = m.attrs_of(&a[1])?;
            Ok(Value::Bool(set.get(name).is_some()))
        },
    },
    PrimOp {
        name: "removeAttrs",
        arity: 2,
        f: remove_attrs,
    },
    PrimOp {
        name: "listToAttrs",
        arity: 1,
        f: list_to_attrs,
    },
    PrimOp {
        name: "mapAttrs",
        arity: 2,
        f: map_attrs,
    },
    PrimOp {
        name: "intersectAttrs",
        arity: 2,
        f: intersect,
    },
    PrimOp {
        name: "catAttrs",
        arity: 2,
        f: cat_attrs,
    },
    PrimOp {
        name: "zipAttrsWith",
        arity: 2,
        f: zip_attrs_with,
    },
];
