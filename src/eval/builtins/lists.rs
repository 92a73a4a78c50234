//! List builtins (`length`, `elemAt`, `map`, `filter`, `foldl'`, `genList`, `sort`, …):
//! results share elements with their arguments, and element functions are applied lazily
//! where Nix applies them lazily (`map`, `genList`).

use std::rc::Rc;

use super::PrimOp;
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Attrs, Value};

fn head(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = m.list_of(&a[0])?;
    match l.first() {
        Some(v) => m.force(v),
        None => err("'builtins.head' called on an empty list"),
    }
}

fn tail(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = m.list_of(&a[0])?;
    if l.is_empty() {
        return err("'builtins.tail' called on an empty list");
    }
    Ok(Value::list(l[1..].to_vec()))
}

fn elem_at(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = m.list_of(&a[0])?;
    let n = m.int_of(&a[1])?;
    match usize::try_from(n).ok().and_then(|i| l.get(i)) {
        Some(v) => m.force(v),
        None => err(format!(
            "'builtins.elemAt' called with index {n} on a list of size {}",
            l.len()
        )),
    }
}

fn map(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = m.list_of(&a[1])?;
    if !l.is_empty() {
        m.function_of(&a[0])?;
    }
    let f = &a[0];
    Ok(Value::list(
        l.iter()
            .map(|x| Value::apply_lazily(f.clone(), x.clone()))
            .collect(),
    ))
}

fn filter(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let l = m.list_of(&a[1])?;
    if !l.is_empty() {
        m.function_of(&a[0])?;
    }
    let mut out = Vec::new();
    for x in l.iter() {
        let keep = m.call(a[0].clone(), x.clone(), pos)?;
        if m.bool_value(&keep)? {
            out.push(x.clone());
        }
    }
    if out.len() == l.len() {
        return Ok(Value::List(l));
    }
    Ok(Value::list(out))
}

fn foldl(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    m.function_of(&a[0])?;
    let l = m.list_of(&a[2])?;
    let mut acc = a[1].clone();
    let f = m.force(&a[0])?;
    for x in l.iter() {
        acc = m.call2(&f, acc, x.clone(), pos)?;
    }
    m.force(&acc)
}

fn gen_list(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let n = m.int_of(&a[1])?;
    if n < 0 {
        return err(format!("cannot create list of size {n}"));
    }
    m.function_of(&a[0])?;
    let f = a[0].clone();
    Ok(Value::list(
        (0..n)
            .map(|i| Value::apply_lazily(f.clone(), Value::Int(i)))
            .collect(),
    ))
}

fn concat_lists(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = m.list_of(&a[0])?;
    let mut out = Vec::new();
    for x in l.iter() {
        let inner = m.list_of(x)?;
        out.extend(inner.iter().cloned());
    }
    Ok(Value::list(out))
}

fn concat_map(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    m.function_of(&a[0])?;
    let l = m.list_of(&a[1])?;
    let mut out = Vec::new();
    for x in l.iter() {
        let r = m.call(a[0].clone(), x.clone(), pos)?;
        let inner = m.list_of(&r)?;
        out.extend(inner.iter().cloned());
    }
    Ok(Value::list(out))
}

fn elem(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = m.list_of(&a[1])?;
    for x in l.iter() {
        if m.equal(&a[0], x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn any_all(m: &mut Machine, a: &[Value], pos: PosIdx, want: bool) -> R<Value> {
    m.function_of(&a[0])?;
    let l = m.list_of(&a[1])?;
    for x in l.iter() {
        let r = m.call(a[0].clone(), x.clone(), pos)?;
        if m.bool_value(&r)? == want {
            return Ok(Value::Bool(want));
        }
    }
    Ok(Value::Bool(!want))
}

fn sort(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let l = m.list_of(&a[1])?;
    if !l.is_empty() {
        m.function_of(&a[0])?;
    }
    let mut items: Vec<Value> = l.iter().cloned().collect();
    for x in items.iter_mut() {
        *x = m.force(x)?;
    }
    // A stable merge sort that calls the comparator (which may fail) at most n log n times.
    let f = m.force(&a[0])?;
    let mut failed = None;
    let mut less = |m: &mut Machine, x: &Value, y: &Value| -> bool {
        if failed.is_some() {
            return false;
        }
        let r = m
            .call2(&f, x.clone(), y.clone(), pos)
            .and_then(|r| m.bool_value(&r));
        match r {
            Ok(b) => b,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    };
    let sorted = merge_sort(m, items, &mut less);
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Value::list(sorted))
}

fn merge_sort(
    m: &mut Machine,
    v: Vec<Value>,
    less: &mut impl FnMut(&mut Machine, &Value, &Value) -> bool,
) -> Vec<Value> {
    if v.len() <= 1 {
        return v;
    }
    // Bottom-up, stable: take the left element unless the right one is strictly less.
    let mut src = v;
    let n = src.len();
    let mut width = 1;
    while width < n {
        let mut dst = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            let mid = (i + width).min(n);
            let end = (i + 2 * width).min(n);
            let (mut l, mut r) = (i, mid);
            while l < mid && r < end {
                if less(m, &src[r], &src[l]) {
                    dst.push(src[r].clone());
                    r += 1;
                } else {
                    dst.push(src[l].clone());
                    l += 1;
                }
            }
            dst.extend_from_slice(&src[l..mid]);
            dst.extend_from_slice(&src[r..end]);
            i = end;
        }
        src = dst;
        width *= 2;
    }
    src
}

fn partition(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    m.function_of(&a[0])?;
    let l = m.list_of(&a[1])?;
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for x in l.iter() {
        let r = m.call(a[0].clone(), x.clone(), pos)?;
        if m.bool_value(&r)? {
            yes.push(x.clone());
        } else {
            no.push(x.clone());
        }
    }
    let k = known();
    Ok(Value::attrs(vec![
        Attr {
            name: k.right,
            value: Value::list(yes),
            pos: PosIdx::NONE,
        },
        Attr {
            name: k.wrong,
            value: Value::list(no),
            pos: PosIdx::NONE,
        },
    ]))
}

fn group_by(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    m.function_of(&a[0])?;
    let l = m.list_of(&a[1])?;
    let mut groups: Vec<(Symbol, Vec<Value>)> = Vec::new();
    let mut index: std::collections::HashMap<Symbol, usize> = Default::default();
    for x in l.iter() {
        let k = m.call(a[0].clone(), x.clone(), pos)?;
        let k = m.str_of(&k)?;
        let s = Symbol::intern(&k.text());
        match index.get(&s) {
            Some(i) => groups[*i].1.push(x.clone()),
            None => {
                index.insert(s, groups.len());
                groups.push((s, vec![x.clone()]));
            }
        }
    }
    Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(
        groups
            .into_iter()
            .map(|(name, v)| Attr {
                name,
                value: Value::list(v),
                pos: PosIdx::NONE,
            })
            .collect(),
    ))))
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "length",
        arity: 1,
        f: |m, a, _| Ok(Value::Int(m.list_of(&a[0])?.len() as i64)),
    },
    PrimOp {
        name: "head",
        arity: 1,
        f: head,
    },
    PrimOp {
        name: "tail",
        arity: 1,
        f: tail,
    },
    PrimOp {
        name: "elemAt",
        arity: 2,
        f: elem_at,
    },
    PrimOp {
        name: "map",
        arity: 2,
        f: map,
    },
    PrimOp {
        name: "filter",
        arity: 2,
        f: filter,
    },
    PrimOp {
        name: "foldl'",
        arity: 3,
        f: foldl,
    },
    PrimOp {
        name: "genList",
        arity: 2,
        f: gen_list,
    },
    PrimOp {
        name: "concatLists",
        arity: 1,
        f: concat_lists,
    },
    PrimOp {
        name: "concatMap",
        arity: 2,
        f: concat_map,
    },
    PrimOp {
        name: "elem",
        arity: 2,
        f: elem,
    },
    PrimOp {
        name: "any",
        arity: 2,
        f: |m, a, p| any_all(m, a, p, true),
    },
    PrimOp {
        name: "all",
        arity: 2,
        f: |m, a, p| any_all(m, a, p, false),
    },
    PrimOp {
        name: "sort",
        arity: 2,
        f: sort,
    },
    PrimOp {
        name: "partition",
        arity: 2,
        f: partition,
    },
    PrimOp {
        name: "groupBy",
        arity: 2,
        f: group_by,
    },
];
