//! List builtins (`length`, `elemAt`, `map`, `filter`, `foldl'`, `genList`, `sort`, …):
//! results share elements with their arguments, and element functions are applied lazily
//! where Nix applies them lazily (`map`, `genList`).

use std::rc::Rc;

use super::PrimOp;
use super::args::{arg, function, str_no_ctx};
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Attrs, Value};

fn head(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = arg(
        m.list_of(&a[0]),
        "while evaluating the first argument passed to 'builtins.head'",
    )?;
    match l.first() {
        Some(v) => m.force(v),
        None => err("'builtins.head' called on an empty list"),
    }
}

fn tail(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = arg(
        m.list_of(&a[0]),
        "while evaluating the first argument passed to 'builtins.tail'",
    )?;
    if l.is_empty() {
        return err("'builtins.tail' called on an empty list");
    }
    Ok(Value::list(l[1..].to_vec()))
}

fn elem_at(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let n = arg(
        m.int_of(&a[1]),
        "while evaluating the second argument passed to 'builtins.elemAt'",
    )?;
    let l = arg(
        m.list_of(&a[0]),
        "while evaluating the first argument passed to 'builtins.elemAt'",
    )?;
    match usize::try_from(n).ok().and_then(|i| l.get(i)) {
        Some(v) => m.force(v),
        None => err(format!(
            "'builtins.elemAt' called with index {n} on a list of size {}",
            l.len()
        )),
    }
}

fn map(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = arg(
        m.list_of(&a[1]),
        "while evaluating the second argument passed to builtins.map",
    )?;
    if l.is_empty() {
        return Ok(Value::List(l));
    }
    let f = &function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.map",
    )?;
    Ok(Value::list(
        l.iter()
            .map(|x| Value::apply_lazily(f.clone(), x.clone()))
            .collect(),
    ))
}

fn filter(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let l = arg(
        m.list_of(&a[1]),
        "while evaluating the second argument passed to builtins.filter",
    )?;
    if l.is_empty() {
        return Ok(Value::List(l));
    }
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.filter",
    )?;
    let mut out = Vec::new();
    for x in l.iter() {
        let keep = m.call(f.clone(), x.clone(), pos)?;
        if arg(
            m.bool_value(&keep),
            "while evaluating the return value of the filtering function passed to builtins.filter",
        )? {
            out.push(x.clone());
        }
    }
    if out.len() == l.len() {
        return Ok(Value::List(l));
    }
    Ok(Value::list(out))
}

fn foldl(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.foldlStrict",
    )?;
    let l = arg(
        m.list_of(&a[2]),
        "while evaluating the third argument passed to builtins.foldlStrict",
    )?;
    let mut acc = a[1].clone();
    for x in l.iter() {
        acc = m.call2(&f, acc, x.clone(), pos)?;
    }
    m.force(&acc)
}

fn gen_list(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let n = arg(
        m.int_of(&a[1]),
        "while evaluating the second argument passed to builtins.genList",
    )?;
    if n < 0 {
        return err(format!("cannot create list of size {n}"));
    }
    m.charge(n as u64)?;
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.genList",
    )?;
    Ok(Value::list(
        (0..n)
            .map(|i| Value::apply_lazily(f.clone(), Value::Int(i)))
            .collect(),
    ))
}

fn concat_lists(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = arg(
        m.list_of(&a[0]),
        "while evaluating the first argument passed to builtins.concatLists",
    )?;
    let mut out = Vec::new();
    for x in l.iter() {
        let inner = arg(
            m.list_of(x),
            "while evaluating a value of the list passed to builtins.concatLists",
        )?;
        out.extend(inner.iter().cloned());
    }
    Ok(Value::list(out))
}

fn concat_map(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.concatMap",
    )?;
    let l = arg(
        m.list_of(&a[1]),
        "while evaluating the second argument passed to builtins.concatMap",
    )?;
    let mut out = Vec::new();
    for x in l.iter() {
        let r = m.call(f.clone(), x.clone(), pos)?;
        let inner = arg(
            m.list_of(&r),
            "while evaluating the return value of the function passed to builtins.concatMap",
        )?;
        out.extend(inner.iter().cloned());
    }
    Ok(Value::list(out))
}

fn elem(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let l = arg(
        m.list_of(&a[1]),
        "while evaluating the second argument passed to builtins.elem",
    )?;
    for x in l.iter() {
        if m.equal(&a[0], x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn any_all(m: &mut Machine, a: &[Value], pos: PosIdx, want: bool) -> R<Value> {
    let name = if want { "any" } else { "all" };
    let f = function(
        m,
        &a[0],
        &format!("while evaluating the first argument passed to builtins.{name}"),
    )?;
    let l = arg(
        m.list_of(&a[1]),
        &format!("while evaluating the second argument passed to builtins.{name}"),
    )?;
    for x in l.iter() {
        let r = m.call(f.clone(), x.clone(), pos)?;
        if arg(
            m.bool_value(&r),
            &format!("while evaluating the return value of the function passed to builtins.{name}"),
        )? == want
        {
            return Ok(Value::Bool(want));
        }
    }
    Ok(Value::Bool(!want))
}

fn sort(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let l = arg(
        m.list_of(&a[1]),
        "while evaluating the second argument passed to builtins.sort",
    )?;
    if l.is_empty() {
        return Ok(Value::List(l));
    }
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.sort",
    )?;
    let mut items: Vec<Value> = l.iter().cloned().collect();
    for x in items.iter_mut() {
        *x = m.force(x)?;
    }
    // `lessThan` as the comparator is compared directly, as Nix does.
    let direct = matches!(&f, Value::PrimOp(op) if op.name == "lessThan");
    if direct && let Some(sorted) = sort_plain(&mut items) {
        return Ok(sorted);
    }
    // A stable merge sort that calls the comparator (which may fail) at most n log n times.
    let mut failed = None;
    let mut less = |m: &mut Machine, x: &Value, y: &Value| -> bool {
        if failed.is_some() {
            return false;
        }
        let r = if direct {
            arg(
                m.less(x, y),
                "while evaluating the ordering function passed to builtins.sort",
            )
        } else {
            m.call2(&f, x.clone(), y.clone(), pos).and_then(|r| {
                    arg(
                        m.bool_value(&r),
                        "while evaluating the return value of the sorting function passed to builtins.sort",
                    )
                })
        };
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

/// `sort lessThan` of a list of only integers or only strings: these compare without
/// forcing or failing, so the standard library's stable sort gives the same order as the
/// merge sort below (equal integers are indistinguishable; equal strings keep their order,
/// which matters when their contexts differ).
fn sort_plain(items: &mut [Value]) -> Option<Value> {
    if items.iter().all(|v| matches!(v, Value::Int(_))) {
        items.sort_by_key(|v| match v {
            Value::Int(n) => *n,
            _ => 0,
        });
    } else if items.iter().all(|v| matches!(v, Value::Str(_))) {
        items.sort_by(|a, b| match (a, b) {
            (Value::Str(x), Value::Str(y)) => x.s.cmp(&y.s),
            _ => std::cmp::Ordering::Equal,
        });
    } else {
        return None;
    }
    Some(Value::list(items.to_vec()))
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
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.partition",
    )?;
    let l = arg(
        m.list_of(&a[1]),
        "while evaluating the second argument passed to builtins.partition",
    )?;
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for x in l.iter() {
        m.force(x)?;
        let r = m.call(f.clone(), x.clone(), pos)?;
        if arg(
            m.bool_value(&r),
            "while evaluating the return value of the partition function passed to builtins.partition",
        )? {
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
    let f = function(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.groupBy",
    )?;
    let l = arg(
        m.list_of(&a[1]),
        "while evaluating the second argument passed to builtins.groupBy",
    )?;
    let mut groups: Vec<(Symbol, Vec<Value>)> = Vec::new();
    let mut index: std::collections::HashMap<Symbol, usize> = Default::default();
    for x in l.iter() {
        let k = m.call(f.clone(), x.clone(), pos)?;
        let k = str_no_ctx(
            m,
            &k,
            "while evaluating the return value of the grouping function passed to builtins.groupBy",
        )?;
        let s = Symbol::intern(&String::from_utf8_lossy(&k));
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
        f: |m, a, _| {
            let l = arg(
                m.list_of(&a[0]),
                "while evaluating the first argument passed to builtins.length",
            )?;
            Ok(Value::Int(l.len() as i64))
        },
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
