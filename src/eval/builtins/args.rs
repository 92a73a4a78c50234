//! Argument checks shared by the builtins, with Nix's trace frames (`… while evaluating the
//! first argument passed to builtins.X`) and Nix's `forceStringNoCtx` refusal.

use std::rc::Rc;

use crate::eval::context::CtxElem;
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::value::{NixStr, Value};

/// Adds the frame `what` to an error of `r`.
pub fn arg<T>(r: R<T>, what: &str) -> R<T> {
    r.map_err(|e| e.frame(what, PosIdx::NONE))
}

/// How Nix shows a context element in messages (`display`).
pub fn display(e: &CtxElem) -> String {
    match e {
        CtxElem::Opaque(p) => p.to_string(),
        CtxElem::Deep(d) => format!("{d} (deep)"),
        CtxElem::Built { drv, output } => format!("{drv}^{output}"),
    }
}

/// Forces a string that must have no context (`forceStringNoCtx`).
pub fn str_no_ctx(m: &mut Machine, v: &Value, what: &str) -> R<Vec<u8>> {
    let s = arg(m.str_of(v), what)?;
    no_ctx(&s, what)?;
    Ok(s.s.to_vec())
}

/// Refuses a string with context as `forceStringNoCtx` does.
pub fn no_ctx(s: &Rc<NixStr>, what: &str) -> R<()> {
    if let Some(e) = s.ctx.iter().next() {
        return arg(
            err(format!(
                "the string '{}' is not allowed to refer to a store path (such as '{}')",
                s.text(),
                display(e)
            )),
            what,
        );
    }
    Ok(())
}

/// Forces a function (`forceFunction`).
pub fn function(m: &mut Machine, v: &Value, what: &str) -> R<Value> {
    let f = m.force(v)?;
    match &f {
        Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(f),
        Value::Attrs(a) if a.get(crate::eval::symbol::known().functor).is_some() => Ok(f),
        other => arg(m.type_error("a function", other), what),
    }
}
