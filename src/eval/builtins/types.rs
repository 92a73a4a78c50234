//! Type predicates and arithmetic (`isInt`, `typeOf`, `add`, `lessThan`, `bitAnd`, …).

use super::PrimOp;
use crate::eval::error::{R, err};
use crate::eval::ir::BinOp;
use crate::eval::machine::{Machine, arith};
use crate::eval::value::Value;

fn is(m: &mut Machine, a: &[Value], p: fn(&Value) -> bool) -> R<Value> {
    let v = m.force(&a[0])?;
    Ok(Value::Bool(p(&v)))
}

fn num_op(m: &mut Machine, a: &[Value], op: BinOp) -> R<Value> {
    let x = m.force(&a[0])?;
    let y = m.force(&a[1])?;
    arith(op, &x, &y)
}

fn bits(m: &mut Machine, a: &[Value], f: fn(i64, i64) -> i64) -> R<Value> {
    let x = m.int_of(&a[0])?;
    let y = m.int_of(&a[1])?;
    Ok(Value::Int(f(x, y)))
}

fn rounding(m: &mut Machine, a: &[Value], f: fn(f64) -> f64) -> R<Value> {
    match m.force(&a[0])? {
        Value::Int(n) => Ok(Value::Int(n)),
        Value::Float(x) => {
            let r = f(x);
            if !(-9.223372036854776e18..9.223372036854776e18).contains(&r) {
                return err(format!(
                    "float {} does not fit in a 64-bit integer",
                    crate::eval::print::float(x)
                ));
            }
            Ok(Value::Int(r as i64))
        }
        other => m.type_error("a float", &other),
    }
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "isNull",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::Null)),
    },
    PrimOp {
        name: "isInt",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::Int(_))),
    },
    PrimOp {
        name: "isFloat",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::Float(_))),
    },
    PrimOp {
        name: "isBool",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::Bool(_))),
    },
    PrimOp {
        name: "isString",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::Str(_))),
    },
    PrimOp {
        name: "isPath",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::Path(_))),
    },
    PrimOp {
        name: "isAttrs",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::Attrs(_))),
    },
    PrimOp {
        name: "isList",
        arity: 1,
        f: |m, a, _| is(m, a, |v| matches!(v, Value::List(_))),
    },
    PrimOp {
        name: "isFunction",
        arity: 1,
        f: |m, a, _| {
            is(m, a, |v| {
                matches!(v, Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_))
            })
        },
    },
    PrimOp {
        name: "typeOf",
        arity: 1,
        f: |m, a, _| {
            let v = m.force(&a[0])?;
            Ok(Value::string(v.type_of()))
        },
    },
    PrimOp {
        name: "add",
        arity: 2,
        f: |m, a, _| num_op(m, a, BinOp::Add),
    },
    PrimOp {
        name: "sub",
        arity: 2,
        f: |m, a, _| num_op(m, a, BinOp::Sub),
    },
    PrimOp {
        name: "mul",
        arity: 2,
        f: |m, a, _| num_op(m, a, BinOp::Mul),
    },
    PrimOp {
        name: "div",
        arity: 2,
        f: |m, a, _| num_op(m, a, BinOp::Div),
    },
    PrimOp {
        name: "lessThan",
        arity: 2,
        f: |m, a, _| Ok(Value::Bool(m.less(&a[0], &a[1])?)),
    },
    PrimOp {
        name: "bitAnd",
        arity: 2,
        f: |m, a, _| bits(m, a, |x, y| x & y),
    },
    PrimOp {
        name: "bitOr",
        arity: 2,
        f: |m, a, _| bits(m, a, |x, y| x | y),
    },
    PrimOp {
        name: "bitXor",
        arity: 2,
        f: |m, a, _| bits(m, a, |x, y| x ^ y),
    },
    PrimOp {
        name: "ceil",
        arity: 1,
        f: |m, a, _| rounding(m, a, f64::ceil),
    },
    PrimOp {
        name: "floor",
        arity: 1,
        f: |m, a, _| rounding(m, a, f64::floor),
    },
];
