//! `toJSON` and `fromJSON` (Nix's `value-to-json.cc`, `json-to-value.cc`): sets are peeled
//! through `__toString` and `outPath` first (Nix's `peelToStringOutPath`), paths are copied to
//! the store, keys sorted by name, floats printed with 17 significant digits where needed.
//! Each level counts against `max-call-depth`, as in Nix; text that is not UTF-8 fails as
//! nlohmann's serialiser fails, once the whole value is converted.

use std::rc::Rc;

use super::PrimOp;
use crate::eval::context::Context;
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::print::brief;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Attrs, Value};

/// A JSON text being written: the output, the string context met, and the first string that
/// is not UTF-8 (nlohmann's serialiser rejects it when it writes the text).
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    ctx: &'a mut Context,
    bad_utf8: Option<String>,
}

/// nlohmann's `type_error.316` text for a string that is not UTF-8: the index (in the
/// string) of the byte its decoder rejects, or the last byte of a sequence cut short.
fn utf8_error(s: &[u8], e: std::str::Utf8Error) -> String {
    let start = e.valid_up_to();
    let Some(len) = e.error_len() else {
        let last = s.last().copied().unwrap_or(0);
        return format!("incomplete UTF-8 string; last byte: 0x{last:02X}");
    };
    // A valid lead byte is rejected at the byte after the bytes it accepted; any other
    // byte is rejected where it stands.
    let at = if (0xC2..=0xF4).contains(&s[start]) {
        start + len
    } else {
        start
    };
    let byte = s.get(at).copied().unwrap_or(0);
    format!("invalid UTF-8 byte at index {at}: 0x{byte:02X}")
}

impl Writer<'_> {
    fn escape(&mut self, s: &[u8]) {
        let text = match std::str::from_utf8(s) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(e) => {
                if self.bad_utf8.is_none() {
                    self.bad_utf8 = Some(utf8_error(s, e));
                }
                String::from_utf8_lossy(s)
            }
        };
        let out = &mut *self.out;
        out.push(b'"');
        for c in text.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => {
                    let mut b = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        out.push(b'"');
    }
}

/// A float as nlohmann's JSON serialiser prints it (shortest round-trip form).
fn json_float(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e16 {
        return format!("{f:.1}");
    }
    let s = format!("{f:?}");
    s.replace("e", "e+").replace("e+-", "e-")
}

/// The JSON text of `v` (forcing it), collecting string context into `ctx`.
pub fn to_json_ctx(m: &mut Machine, v: &Value, ctx: &mut Context, out: &mut Vec<u8>) -> R<()> {
    let mut w = Writer {
        out,
        ctx,
        bad_utf8: None,
    };
    value(m, &mut w, v, PosIdx::NONE, true)?;
    match w.bad_utf8 {
        Some(e) => err(format!(
            "JSON serialization error: [json.exception.type_error.316] {e}"
        )),
        None => Ok(()),
    }
}

/// One value, counted against `max-call-depth` (Nix's `addCallDepth` in `printValueAsJSON`).
fn value(m: &mut Machine, w: &mut Writer, v: &Value, pos: PosIdx, copy: bool) -> R<()> {
    m.enter_call(pos)?;
    let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
        value_inner(m, w, v, pos, copy)
    });
    m.leave_call();
    r
}

fn value_inner(m: &mut Machine, w: &mut Writer, v: &Value, pos: PosIdx, copy: bool) -> R<()> {
    let v = m.force(v)?;
    match &v {
        Value::Null => w.out.extend_from_slice(b"null"),
        Value::Bool(b) => w.out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(n) => w.out.extend_from_slice(n.to_string().as_bytes()),
        Value::Float(f) => w.out.extend_from_slice(json_float(*f).as_bytes()),
        Value::Str(s) => {
            w.ctx.extend(&s.ctx);
            w.escape(&s.s);
        }
        Value::Path(p) if copy => {
            let sp = m.copy_path_to_store(p)?;
            w.ctx
                .insert(crate::eval::context::CtxElem::Opaque(sp.clone().into()));
            w.escape(sp.as_bytes());
        }
        Value::Path(p) => w.escape(p.as_bytes()),
        Value::List(l) => {
            w.out.push(b'[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                value(m, w, x, pos, copy).map_err(|e| {
                    e.frame(format!("while evaluating list element at index {i}"), pos)
                })?;
            }
            w.out.push(b']');
        }
        Value::Attrs(_) => return attrs(m, w, v.clone(), pos, copy),
        other => {
            return err(format!("cannot convert {} to JSON", other.show_type()));
        }
    }
    Ok(())
}

/// A set: peeled through `__toString` (whose result must be a string or a path) and
/// `outPath` until a value without either remains, then written.
fn attrs(m: &mut Machine, w: &mut Writer, v: Value, pos: PosIdx, copy: bool) -> R<()> {
    let k = known();
    let mut cur = v;
    let mut pos = pos;
    let mut through_to_string = false;
    let mut levels = 0;
    let r = loop {
        let a = match m.force(&cur) {
            Ok(Value::Attrs(a)) => a,
            Ok(other) => {
                if through_to_string && !matches!(other, Value::Str(_) | Value::Path(_)) {
                    break err(format!(
                        "`__toString` should return a string, but got {}: {}",
                        other.show_type(),
                        brief(&other)
                    ))
                    .map_err(|e| e.at(pos));
                }
                break value(m, w, &other, pos, copy && !through_to_string);
            }
            Err(e) => break Err(e),
        };
        let next = if let Some(f) = a.get(k.to_string) {
            let (f, fpos) = (f.value.clone(), f.pos);
            match m.call(f, cur.clone(), fpos) {
                Ok(r) => {
                    through_to_string = true;
                    (r, fpos)
                }
                Err(e) => break Err(e.frame("while calling the `__toString` attribute", fpos)),
            }
        } else if let Some(o) = a.get(k.out_path) {
            (o.value.clone(), o.pos)
        } else if through_to_string {
            break err(format!(
                "`__toString` must return a string, but got a set: {}",
                brief(&cur)
            ))
            .map_err(|e| e.at(pos));
        } else {
            break object(m, w, &a, copy);
        };
        if let Err(e) = m.enter_call(pos) {
            break Err(e);
        }
        levels += 1;
        (cur, pos) = next;
    };
    for _ in 0..levels {
        m.leave_call();
    }
    r
}

fn object(m: &mut Machine, w: &mut Writer, a: &Attrs, copy: bool) -> R<()> {
    w.out.push(b'{');
    for (i, attr) in a.sorted_by_name().into_iter().enumerate() {
        if i > 0 {
            w.out.push(b',');
        }
        w.escape(attr.name.as_str().as_bytes());
        w.out.push(b':');
        let v = attr.value.clone();
        value(m, w, &v, attr.pos, copy).map_err(|e| {
            e.frame(
                format!("while evaluating attribute '{}'", attr.name),
                attr.pos,
            )
        })?;
    }
    w.out.push(b'}');
    Ok(())
}

/// `toJSON` without the context (for `--json`).
pub fn to_json(m: &mut Machine, v: &Value) -> R<Vec<u8>> {
    let mut ctx = Context::default();
    let mut out = Vec::new();
    to_json_ctx(m, v, &mut ctx, &mut out)?;
    Ok(out)
}

/// A string of `fromJSON`'s result: Nix strings cannot hold NUL bytes.
fn no_nul(s: String) -> Result<String, String> {
    if s.contains('\0') {
        return Err(format!(
            "input string '{}' cannot be represented as Nix string because it contains null bytes",
            s.replace('\0', "\u{2400}")
        ));
    }
    Ok(s)
}

fn from_json_value(j: serde_json::Value) -> Result<Value, String> {
    Ok(match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => {
                return Err(format!(
                    "unsigned json number {u} outside of Nix integer range"
                ));
            }
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::string(no_nul(s)?),
        serde_json::Value::Array(a) => Value::list(
            a.into_iter()
                .map(from_json_value)
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(o) => {
            let mut entries = Vec::with_capacity(o.len());
            for (k, v) in o {
                entries.push(Attr {
                    name: Symbol::intern(&no_nul(k)?),
                    value: from_json_value(v)?,
                    pos: PosIdx::NONE,
                });
            }
            Value::Attrs(Rc::new(Attrs::from_unsorted(entries)))
        }
    })
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "toJSON",
        arity: 1,
        f: |m, a, _| {
            let mut ctx = Context::default();
            let mut out = Vec::new();
            to_json_ctx(m, &a[0], &mut ctx, &mut out)?;
            Ok(Value::string_with(out, ctx))
        },
    },
    PrimOp {
        name: "fromJSON",
        arity: 1,
        f: |m, a, _| {
            let s = m.str_of(&a[0])?;
            match serde_json::from_slice::<serde_json::Value>(&s.s) {
                Ok(j) => from_json_value(j).or_else(err),
                Err(e) => err(format!("{e}")),
            }
        },
    },
];
