//! `genericClosure` (Nix's `prim_genericClosure`): a breadth-first walk from `startSet`
//! through `operator`, keeping the first element of each `key`. Keys are compared with `<`
//! as Nix's ordered set compares them, so incomparable keys fail with Nix's message; keys of
//! one type of integer, string or path go through a hash set instead (same result, no
//! quadratic insertion).

use std::collections::{HashSet, VecDeque};

use super::PrimOp;
use super::args::{arg, function};
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::print::brief;
use crate::eval::symbol::Symbol;
use crate::eval::value::Value;

/// The keys seen so far.
enum Seen {
    Ints(HashSet<i64>),
    Strs(HashSet<Box<[u8]>>),
    Paths(HashSet<crate::eval::value::PathStr>),
    /// Any keys, sorted by `<`.
    Sorted(Vec<Value>),
}

impl Seen {
    /// Adds `key`; false when an equal key was there.
    fn insert(&mut self, m: &mut Machine, key: &Value) -> R<bool> {
        match (&mut *self, key) {
            (Seen::Ints(s), Value::Int(n)) => return Ok(s.insert(*n)),
            (Seen::Strs(s), Value::Str(x)) => return Ok(s.insert(x.s.clone())),
            (Seen::Paths(s), Value::Path(p)) => return Ok(s.insert(p.clone())),
            (Seen::Sorted(_), _) => {}
            _ => self.generalise(m)?,
        }
        let Seen::Sorted(v) = self else {
            unreachable!("generalised above")
        };
        // Binary search, the new key on the left of each comparison as in Nix's std::map.
        let (mut lo, mut hi) = (0, v.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if m.less(key, &v[mid])? {
                hi = mid;
            } else if m.less(&v[mid], key)? {
                lo = mid + 1;
            } else {
                return Ok(false);
            }
        }
        v.insert(lo, key.clone());
        Ok(true)
    }

    /// Turns a typed set into the sorted list of its keys.
    fn generalise(&mut self, m: &mut Machine) -> R<()> {
        let mut keys: Vec<Value> = match self {
            Seen::Ints(s) => s.iter().map(|n| Value::Int(*n)).collect(),
            Seen::Strs(s) => s.iter().map(|x| Value::string(x.to_vec())).collect(),
            Seen::Paths(s) => s.iter().map(|p| Value::Path(p.clone())).collect(),
            Seen::Sorted(_) => return Ok(()),
        };
        // Keys of one type: the comparison cannot fail.
        let mut failed = None;
        keys.sort_by(|x, y| match (m.less(x, y), m.less(y, x)) {
            (Ok(true), _) => std::cmp::Ordering::Less,
            (Ok(false), Ok(true)) => std::cmp::Ordering::Greater,
            (Ok(false), Ok(false)) => std::cmp::Ordering::Equal,
            (Err(e), _) | (_, Err(e)) => {
                failed = Some(e);
                std::cmp::Ordering::Equal
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        *self = Seen::Sorted(keys);
        Ok(())
    }
}

fn generic_closure(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let set = arg(
        m.attrs_of(&a[0]),
        "while evaluating the first argument passed to builtins.genericClosure",
    )?;
    let Some(start) = set.get(Symbol::intern("startSet")) else {
        return arg(
            err("attribute 'startSet' missing"),
            "in the attrset passed as argument to builtins.genericClosure",
        );
    };
    let start = arg(
        m.list_of(&start.value.clone()),
        "while evaluating the 'startSet' attribute passed as argument to builtins.genericClosure",
    )?;
    if start.is_empty() {
        return Ok(Value::List(start));
    }
    let Some(op) = set.get(Symbol::intern("operator")) else {
        return arg(
            err("attribute 'operator' missing"),
            "in the attrset passed as argument to builtins.genericClosure",
        );
    };
    let op = function(
        m,
        &op.value.clone(),
        "while evaluating the 'operator' attribute passed as argument to builtins.genericClosure",
    )?;
    let key_sym = Symbol::intern("key");
    let mut work: VecDeque<Value> = start.iter().cloned().collect();
    let mut seen: Option<Seen> = None;
    let mut out = Vec::new();
    while let Some(e) = work.pop_front() {
        let elem = m
            .attrs_of(&e)
            .map_err(|x| x.frame(format!("in genericClosure element {}", brief(&e)), pos))?;
        let Some(key) = elem.get(key_sym) else {
            return err("attribute 'key' missing")
                .map_err(|x| x.frame(format!("in genericClosure element {}", brief(&e)), pos));
        };
        let key = m.force(&key.value.clone())?;
        let seen = seen.get_or_insert_with(|| match &key {
            Value::Int(_) => Seen::Ints(HashSet::new()),
            Value::Str(_) => Seen::Strs(HashSet::new()),
            Value::Path(_) => Seen::Paths(HashSet::new()),
            _ => Seen::Sorted(Vec::new()),
        });
        let fresh = seen
            .insert(m, &key)
            .map_err(|x| x.frame(format!("while checking key of element {}", brief(&e)), pos))?;
        if !fresh {
            continue;
        }
        out.push(e.clone());
        let step = (|| {
            let next = m.call(op.clone(), e.clone(), pos)?;
            let next = arg(
                m.list_of(&next),
                "while evaluating the return value of the `operator` passed to builtins.genericClosure",
            )?;
            for x in next.iter() {
                m.force(x)?;
                work.push_back(x.clone());
            }
            Ok(())
        })();
        step.map_err(|x: Box<crate::eval::error::EvalError>| {
            x.frame(
                format!(
                    "while calling operator on genericClosure element {}",
                    brief(&e)
                ),
                pos,
            )
        })?;
    }
    Ok(Value::list(out))
}

pub static OPS: &[PrimOp] = &[PrimOp {
    name: "genericClosure",
    arity: 1,
    f: generic_closure,
}];
