//! `toJSON` and `fromJSON` (Nix's `value-to-json.cc`, `json-to-value.cc`): sets with
//! `__toString` or `outPath` become strings, paths are copied to the store, keys sorted by
//! name, floats printed with 17 significant digits where needed.

use std::rc::Rc;

use super::PrimOp;
use crate::eval::context::Context;
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::{Symbol, known};
use crate::eval::value::{Attr, Attrs, Value};

fn escape(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let text = String::from_utf8_lossy(s);
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
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
    stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
        to_json_inner(m, v, ctx, out)
    })
}

fn to_json_inner(m: &mut Machine, v: &Value, ctx: &mut Context, out: &mut Vec<u8>) -> R<()> {
    let v = m.force(v)?;
    match &v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(json_float(*f).as_bytes()),
        Value::Str(s) => {
            ctx.extend(&s.ctx);
            escape(&s.s, out);
        }
        Value::Path(p) => {
            let sp = m.copy_path_to_store(p)?;
            ctx.insert(crate::eval::context::CtxElem::Opaque(sp.clone().into()));
            escape(sp.as_bytes(), out);
        }
        Value::List(l) => {
            out.push(b'[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                to_json_ctx(m, x, ctx, out)?;
            }
            out.push(b']');
        }
        Value::Attrs(a) => {
            let k = known();
            if a.get(k.to_string).is_some() {
                let s = m.coerce_to_string(&v, ctx, false, true)?;
                escape(&s, out);
                return Ok(());
            }
            if let Some(o) = a.get(k.out_path) {
                let o = o.value.clone();
                return to_json_ctx(m, &o, ctx, out);
            }
            out.push(b'{');
            for (i, attr) in a.sorted_by_name().into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                escape(attr.name.as_str().as_bytes(), out);
                out.push(b':');
                let value = attr.value.clone();
                to_json_ctx(m, &value, ctx, out).map_err(|e| {
                    e.frame(
                        format!("while evaluating attribute '{}'", attr.name),
                        attr.pos,
                    )
                })?;
            }
            out.push(b'}');
        }
        other => {
            return err(format!("cannot convert {} to JSON", other.show_type()));
        }
    }
    Ok(())
}

/// `toJSON` without the context (for `--json`).
pub fn to_json(m: &mut Machine, v: &Value) -> R<Vec<u8>> {
    let mut ctx = Context::default();
    let mut out = Vec::new();
    to_json_ctx(m, v, &mut ctx, &mut out)?;
    Ok(out)
}

/// `fromJSON`'s parse: serde_json drives a visitor that builds evaluator values directly,
/// with no intermediate `serde_json::Value` tree (half the peak memory on large documents).
struct NixValueSeed;

impl<'de> serde::de::DeserializeSeed<'de> for NixValueSeed {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(NixValueVisitor)
    }
}

struct NixValueVisitor;

impl<'de> serde::de::Visitor<'de> for NixValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        // Beyond i64: a float, as serde_json's `Number::as_i64` then `as_f64` gave.
        Ok(i64::try_from(n).map_or(Value::Float(n as f64), Value::Int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::string(s))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::string(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(NixValueSeed)? {
            items.push(v);
        }
        items.shrink_to_fit();
        Ok(Value::list(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(NixValueSeed)?;
            entries.push(Attr {
                name,
                value,
                pos: PosIdx::NONE,
            });
        }
        Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(entries))))
    }
}

/// An object's key, interned straight from the parser's buffer.
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = Symbol;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Symbol, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = Symbol;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E>(self, s: &str) -> Result<Symbol, E> {
        Ok(Symbol::intern(s))
    }
}

/// Parses JSON text into a value.
fn from_json(text: &[u8]) -> Result<Value, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut d = serde_json::Deserializer::from_slice(text);
    let v = NixValueSeed.deserialize(&mut d)?;
    d.end()?;
    Ok(v)
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
            match from_json(&s.s) {
                Ok(v) => Ok(v),
                Err(e) => err(format!("{e}")),
            }
        },
    },
];
