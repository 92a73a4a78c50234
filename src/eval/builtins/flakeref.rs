//! `parseFlakeRef` and `flakeRefToString` (Nix's `libflake/flake-primops.cc`): a flake
//! reference's URL form to its attributes and back, through [`crate::flakeref`].

use super::PrimOp;
use super::fetch::string_no_ctx;
use crate::eval::error::{R, err};
use crate::eval::machine::{Machine, io_error};
use crate::eval::pos::PosIdx;
use crate::eval::symbol::Symbol;
use crate::eval::value::{Attr, Value};
use crate::flakeref::{Attr as RefAttr, Attrs as RefAttrs, FlakeRef, ParseOptions};
use crate::report::Silent;

fn parse_flake_ref(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let s = string_no_ctx(m, &a[0])?;
    let r = crate::flakeref::parse(&s, &ParseOptions::default(), &Silent)
        .map_err(|e| io_error(e.to_string()))?;
    let entries = r
        .to_attrs()
        .into_iter()
        .map(|(k, v)| Attr {
            name: Symbol::intern(&k),
            value: match v {
                RefAttr::Str(s) => Value::string(s),
                RefAttr::Int(n) => Value::Int(n as i64),
                RefAttr::Bool(b) => Value::Bool(b),
            },
            pos: PosIdx::NONE,
        })
        .collect();
    Ok(Value::attrs(entries))
}

fn flake_ref_to_string(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let set = m.attrs_of(&a[0])?;
    let mut attrs = RefAttrs::new();
    for at in &set.entries {
        let name = at.name.as_str();
        let v = m.force(&at.value)?;
        let value = match &v {
            Value::Int(n) => match u64::try_from(*n) {
                Ok(n) => RefAttr::Int(n),
                Err(_) => {
                    return err(format!(
                        "negative value given for flake ref attr {name}: {n}"
                    ));
                }
            },
            Value::Bool(b) => RefAttr::Bool(*b),
            Value::Str(s) => RefAttr::Str(s.text().into_owned()),
            other => {
                return err(format!(
                    "flake reference attribute sets may only contain integers, Booleans, and strings, but attribute '{name}' is {}",
                    other.show_type()
                ));
            }
        };
        attrs.insert(name.to_owned(), value);
    }
    let r = FlakeRef::from_attrs(attrs, &Silent).map_err(|e| io_error(e.to_string()))?;
    let s = r.to_url_string().map_err(|e| io_error(e.to_string()))?;
    Ok(Value::string(s))
}

/// The flake-reference builtins.
pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "parseFlakeRef",
        arity: 1,
        f: parse_flake_ref,
    },
    PrimOp {
        name: "flakeRefToString",
        arity: 1,
        f: flake_ref_to_string,
    },
];
