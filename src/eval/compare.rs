//! Comparing values (Nix's `eqValues`, `assertEqValues` and `CompareValues`): `==` deep and
//! lazy in what it forces, `<` on numbers, strings, paths and lists, and the detailed
//! messages of a failed `assert a == b`. A nested value compared with itself (the same
//! variable reached twice) is equal without looking, functions included, as Nix's pointer
//! check makes it; both sides are still forced first.

use std::rc::Rc;

use super::error::{Kind, R, err, err_kind};
use super::machine::Machine;
use super::pos::PosIdx;
use super::print::brief;
use super::symbol::known;
use super::value::Value;

/// Whether two (unforced) references are the same value in Nix's sense: one variable, one
/// thunk, one closure.
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Thunk(x), Value::Thunk(y)) => Rc::ptr_eq(x, y),
        (Value::Lambda(x), Value::Lambda(y)) => Rc::ptr_eq(x, y),
        (Value::PrimOp(x), Value::PrimOp(y)) => std::ptr::eq(*x, *y),
        (Value::PrimOpApp(x), Value::PrimOpApp(y)) => Rc::ptr_eq(x, y),
        (Value::Attrs(x), Value::Attrs(y)) => Rc::ptr_eq(x, y),
        (Value::List(x), Value::List(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

fn assertion<T>(msg: String) -> R<T> {
    err_kind(Kind::Assert, msg)
}

impl Machine {
    /// Deep equality (`==`): numbers across int and float, strings ignoring context, sets
    /// and lists element by element, derivations by `outPath`, functions never (unless the
    /// very same value is compared inside a set or list).
    pub fn equal(&mut self, a: &Value, b: &Value) -> R<bool> {
        self.equal_at(a, b, false)
    }

    fn equal_at(&mut self, a0: &Value, b0: &Value, nested: bool) -> R<bool> {
        self.enter_call(PosIdx::NONE)?;
        let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
            self.equal_inner(a0, b0, nested)
        });
        self.leave_call();
        r
    }

    fn equal_inner(&mut self, a0: &Value, b0: &Value, nested: bool) -> R<bool> {
        let a = self.force(a0)?;
        let b = self.force(b0)?;
        if nested && identical(a0, b0) {
            return Ok(true);
        }
        Ok(match (&a, &b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Int(x), Value::Float(y)) => (*x as f64) == *y,
            (Value::Float(x), Value::Int(y)) => *x == (*y as f64),
            (Value::Str(x), Value::Str(y)) => x.s == y.s,
            (Value::Path(x), Value::Path(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (p, q) in x.iter().zip(y.iter()) {
                    if !self.equal_at(p, q, true)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                let k = known();
                if self.is_derivation(x)?
                    && self.is_derivation(y)?
                    && let (Some(p), Some(q)) = (x.get(k.out_path), y.get(k.out_path))
                {
                    let (p, q) = (p.value.clone(), q.value.clone());
                    return self.equal_at(&p, &q, true);
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (p, q) in x.entries.iter().zip(y.entries.iter()) {
                    if p.name != q.name {
                        return Ok(false);
                    }
                    let (pv, qv) = (p.value.clone(), q.value.clone());
                    if !self.equal_at(&pv, &qv, true)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }

    /// Explains why `a == b` is false, as Nix's `assertEqValues` does: an assertion error
    /// naming the first difference, with frames for the list elements and attributes on the
    /// way. `Ok` when they are equal after all.
    pub fn assert_eq_values(&mut self, a: &Value, b: &Value, pos: PosIdx) -> R<()> {
        self.assert_eq_at(a, b, pos, false)
    }

    fn assert_eq_at(&mut self, a0: &Value, b0: &Value, pos: PosIdx, nested: bool) -> R<()> {
        self.enter_call(pos)?;
        let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
            self.assert_eq_inner(a0, b0, pos, nested)
        });
        self.leave_call();
        r
    }

    fn assert_eq_inner(&mut self, a0: &Value, b0: &Value, pos: PosIdx, nested: bool) -> R<()> {
        let a = self.force(a0)?;
        let b = self.force(b0)?;
        if nested && identical(a0, b0) {
            return Ok(());
        }
        let num = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
        if num(&a) && num(&b) {
            if self.equal(&a, &b)? {
                return Ok(());
            }
            return assertion(format!(
                "{} with value '{}' is not equal to {} with value '{}'",
                a.show_type(),
                brief(&a),
                b.show_type(),
                brief(&b)
            ));
        }
        if a.type_of() != b.type_of() {
            return assertion(format!(
                "{} of value '{}' is not equal to {} of value '{}'",
                a.show_type(),
                brief(&a),
                b.show_type(),
                brief(&b)
            ));
        }
        match (&a, &b) {
            (Value::Bool(x), Value::Bool(y)) if x != y => assertion(format!(
                "boolean '{}' is not equal to boolean '{}'",
                brief(&a),
                brief(&b)
            )),
            (Value::Str(x), Value::Str(y)) if x.s != y.s => assertion(format!(
                "string '{}' is not equal to string '{}'",
                brief(&a),
                brief(&b)
            )),
            (Value::Path(x), Value::Path(y)) if x != y => assertion(format!(
                "path '{}' is not equal to path '{}'",
                brief(&a),
                brief(&b)
            )),
            (Value::List(x), Value::List(y)) => {
                if x.len() != y.len() {
                    return assertion(format!(
                        "list of size '{}' is not equal to list of size '{}', left hand side is '{}', right hand side is '{}'",
                        x.len(),
                        y.len(),
                        brief(&a),
                        brief(&b)
                    ));
                }
                for (n, (p, q)) in x.iter().zip(y.iter()).enumerate() {
                    self.assert_eq_at(p, q, pos, true)
                        .map_err(|e| e.frame(format!("while comparing list element {n}"), pos))?;
                }
                Ok(())
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                let k = known();
                if self.is_derivation(x)?
                    && self.is_derivation(y)?
                    && let (Some(p), Some(q)) = (x.get(k.out_path), y.get(k.out_path))
                {
                    let (p, q) = (p.value.clone(), q.value.clone());
                    return self.assert_eq_at(&p, &q, pos, true).map_err(|e| {
                        e.frame(
                            "while comparing a derivation by its 'outPath' attribute",
                            pos,
                        )
                    });
                }
                if x.len() != y.len() {
                    return assertion(format!(
                        "attribute names of attribute set '{}' differs from attribute set '{}'",
                        brief(&a),
                        brief(&b)
                    ));
                }
                for (p, q) in x.entries.iter().zip(y.entries.iter()) {
                    if p.name != q.name {
                        if y.get(p.name).is_none() {
                            return assertion(format!(
                                "attribute name '{}' is contained in '{}', but not in '{}'",
                                p.name,
                                brief(&a),
                                brief(&b)
                            ));
                        }
                        return assertion(format!(
                            "attribute name '{}' is missing in '{}', but is contained in '{}'",
                            q.name,
                            brief(&a),
                            brief(&b)
                        ));
                    }
                    let (pv, qv) = (p.value.clone(), q.value.clone());
                    self.assert_eq_at(&pv, &qv, pos, true).map_err(|e| {
                        let mut e = e;
                        if q.pos.is_some() {
                            e = e.frame("where right hand side is", q.pos);
                        }
                        if p.pos.is_some() {
                            e = e.frame("where left hand side is", p.pos);
                        }
                        e.frame(format!("while comparing attribute '{}'", p.name), pos)
                    })?;
                }
                Ok(())
            }
            (
                Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_),
                Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_),
            ) => assertion(
                "distinct functions and immediate comparisons of identical functions compare as unequal"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// `<`: numbers, strings, paths, and lists lexicographically.
    pub fn less(&mut self, a: &Value, b: &Value) -> R<bool> {
        // Numbers and strings need no forcing, no call depth and no stack check.
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => return Ok(x < y),
            (Value::Float(x), Value::Float(y)) => return Ok(x < y),
            (Value::Str(x), Value::Str(y)) => return Ok(x.s < y.s),
            _ => {}
        }
        self.enter_call(PosIdx::NONE)?;
        let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || self.less_inner(a, b));
        self.leave_call();
        r
    }

    fn less_inner(&mut self, a: &Value, b: &Value) -> R<bool> {
        let a = self.force(a)?;
        let b = self.force(b)?;
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => Ok(x < y),
            (Value::Float(x), Value::Float(y)) => Ok(x < y),
            (Value::Int(x), Value::Float(y)) => Ok((*x as f64) < *y),
            (Value::Float(x), Value::Int(y)) => Ok(*x < (*y as f64)),
            (Value::Str(x), Value::Str(y)) => Ok(x.s < y.s),
            (Value::Path(x), Value::Path(y)) => Ok(x < y),
            (Value::List(x), Value::List(y)) => {
                for (p, q) in x.iter().zip(y.iter()) {
                    if !self.equal_at(p, q, true)? {
                        return self.less(p, q).map_err(|e| {
                            e.frame("while comparing two list elements", PosIdx::NONE)
                        });
                    }
                }
                Ok(x.len() < y.len())
            }
            _ if a.type_of() != b.type_of() => err(format!(
                "cannot compare {} with {}; values are {} and {}",
                a.show_type(),
                b.show_type(),
                brief(&a),
                brief(&b)
            )),
            _ => err(format!(
                "cannot compare {} with {}; values of that type are incomparable (values are {} and {})",
                a.show_type(),
                b.show_type(),
                brief(&a),
                brief(&b)
            )),
        }
    }
}
