//! Printing values as `nix-instantiate --eval --strict` and `nix eval` do (Nix's
//! `printValue` in `print.cc`): strings quoted and escaped, attribute names bare when they
//! are identifiers, sets sorted by name, `«repeated»` for a set or list already printed on
//! the way down, and short forms for error messages.

use std::collections::HashSet;
use std::rc::Rc;

use super::error::R;
use super::machine::Machine;
use super::value::{ThunkState, Value};

/// Nix's quoting of a string (`"…"`, with `\"`, `\\`, `\n`, `\r`, `\t`, `\${`).
pub fn quote(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'$' if s.get(i + 1) == Some(&b'{') => out.extend_from_slice(b"\\$"),
            c => out.push(c),
        }
        i += 1;
    }
    out.push(b'"');
}

/// Whether a name prints without quotes.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let ok_start = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    ok_start
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
        && !matches!(
            s,
            "if" | "then" | "else" | "assert" | "with" | "let" | "in" | "rec" | "inherit" | "or"
        )
}

/// An attribute name as printed.
pub fn attr_name(s: &str, out: &mut Vec<u8>) {
    if is_identifier(s) {
        out.extend_from_slice(s.as_bytes());
    } else {
        quote(s.as_bytes(), out);
    }
}

/// A float as C++'s `ostream << double` prints it (six significant digits, `%g`).
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    // %g: scientific when the exponent is < -4 or >= precision.
    let sci = format!("{:.5e}", f);
    let (mant, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    if !(-4..6).contains(&e) {
        let mant = trim_zeros(mant);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", e.abs());
    }
    let decimals = (5 - e).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, f)).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Prints a value, forcing everything in it when `strict` (a thunk left unforced prints as
/// `«thunk»` otherwise… as Nix's `nix-instantiate --eval` without `--strict` does).
pub fn print(m: &mut Machine, v: &Value, strict: bool) -> R<Vec<u8>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    print_into(m, v, strict, &mut out, &mut seen)?;
    Ok(out)
}

fn print_into(
    m: &mut Machine,
    v: &Value,
    strict: bool,
    out: &mut Vec<u8>,
    seen: &mut HashSet<usize>,
) -> R<()> {
    stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
        print_inner(m, v, strict, out, seen)
    })
}

fn print_inner(
    m: &mut Machine,
    v: &Value,
    strict: bool,
    out: &mut Vec<u8>,
    seen: &mut HashSet<usize>,
) -> R<()> {
    let v = if strict {
        m.force(v)?
    } else {
        match v {
            Value::Thunk(t) => match &*t.0.borrow() {
                ThunkState::Done(v) => v.clone(),
                _ => {
                    out.extend_from_slice("«thunk»".as_bytes());
                    return Ok(());
                }
            },
            v => v.clone(),
        }
    };
    match &v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(float(*f).as_bytes()),
        Value::Str(s) => quote(&s.s, out),
        Value::Path(p) => out.extend_from_slice(p.as_bytes()),
        Value::Attrs(a) => {
            let id = Rc::as_ptr(a) as *const u8 as usize;
            if !seen.insert(id) {
                out.extend_from_slice("«repeated»".as_bytes());
                return Ok(());
            }
            if a.is_empty() {
                out.extend_from_slice(b"{ }");
            } else {
                out.extend_from_slice(b"{ ");
                for attr in a.sorted_by_name() {
                    attr_name(attr.name.as_str(), out);
                    out.extend_from_slice(b" = ");
                    print_into(m, &attr.value, strict, out, seen)?;
                    out.extend_from_slice(b"; ");
                }
                out.push(b'}');
            }
            seen.remove(&id);
        }
        Value::List(l) => {
            let id = Rc::as_ptr(l) as *const u8 as usize;
            if !seen.insert(id) {
                out.extend_from_slice("«repeated»".as_bytes());
                return Ok(());
            }
            if l.is_empty() {
                out.extend_from_slice(b"[ ]");
            } else {
                out.extend_from_slice(b"[ ");
                for item in l.iter() {
                    print_into(m, item, strict, out, seen)?;
                    out.push(b' ');
                }
                out.push(b']');
            }
            seen.remove(&id);
        }
        Value::Lambda(_) => out.extend_from_slice(b"<LAMBDA>"),
        Value::PrimOp(_) => out.extend_from_slice(b"<PRIMOP>"),
        Value::PrimOpApp(_) => out.extend_from_slice(b"<PRIMOP-APP>"),
        Value::Thunk(_) => out.extend_from_slice("«thunk»".as_bytes()),
    }
    Ok(())
}

/// A short rendering for error messages (no forcing): `123`, `"abc"`, `{ a = 1; … }`.
pub fn brief(v: &Value) -> String {
    let mut out = Vec::new();
    brief_into(v, &mut out, 0);
    String::from_utf8_lossy(&out).into_owned()
}

fn brief_into(v: &Value, out: &mut Vec<u8>, depth: usize) {
    let v = match v.ready() {
        Some(v) => v,
        None => {
            out.extend_from_slice("«thunk»".as_bytes());
            return;
        }
    };
    match &v {
        Value::Str(s) => quote(&s.s, out),
        Value::Attrs(a) => {
            if depth > 0 {
                out.extend_from_slice(b"{ ... }");
                return;
            }
            if a.is_empty() {
                out.extend_from_slice(b"{ }");
                return;
            }
            out.extend_from_slice(b"{ ");
            for attr in a.sorted_by_name() {
                attr_name(attr.name.as_str(), out);
                out.extend_from_slice(b" = ");
                brief_into(&attr.value, out, depth + 1);
                out.extend_from_slice(b"; ");
            }
            out.push(b'}');
        }
        Value::List(l) => {
            if depth > 0 {
                out.extend_from_slice(b"[ ... ]");
                return;
            }
            out.extend_from_slice(b"[ ");
            for item in l.iter() {
                brief_into(item, out, depth + 1);
                out.push(b' ');
            }
            out.push(b']');
        }
        Value::Lambda(c) => {
            let at = super::pos::resolve(c.lambda.pos)
                .map(|r| r.location())
                .unwrap_or_default();
            out.extend_from_slice(format!("«lambda @ {at}»").as_bytes());
        }
        Value::PrimOp(p) => out.extend_from_slice(format!("«primop {}»", p.name).as_bytes()),
        Value::PrimOpApp(p) => {
            out.extend_from_slice(format!("«partially applied primop {}»", p.op.name).as_bytes())
        }
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(float(*f).as_bytes()),
        Value::Path(p) => out.extend_from_slice(p.as_bytes()),
        Value::Thunk(_) => out.extend_from_slice("«thunk»".as_bytes()),
    }
}
