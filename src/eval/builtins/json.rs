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

/// The first value `fromJSON` cannot represent (a string with a NUL byte, an unsigned number
/// past the integer range): Nix's parser stops at it, in document order, before any later
/// syntax error, with its own message (not serde's, which would add a position).
type Refused<'a> = &'a std::cell::RefCell<Option<String>>;

/// `fromJSON`'s parse: serde_json drives a visitor that builds evaluator values directly,
/// with no intermediate `serde_json::Value` tree (half the peak memory on large documents).
struct NixValueSeed<'a>(Refused<'a>);

impl<'de> serde::de::DeserializeSeed<'de> for NixValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl NixValueSeed<'_> {
    fn refuse<E: serde::de::Error>(&self, msg: String) -> E {
        self.0.borrow_mut().get_or_insert(msg);
        E::custom("refused")
    }

    fn string<E: serde::de::Error>(&self, s: &str) -> Result<Value, E> {
        if s.contains('\0') {
            return Err(self.refuse(nul_message(s)));
        }
        Ok(Value::string(s))
    }
}

/// Nix strings cannot hold NUL bytes.
fn nul_message(s: &str) -> String {
    format!(
        "input string '{}' cannot be represented as Nix string because it contains null bytes",
        s.replace('\0', "\u{2400}")
    )
}

impl<'de> serde::de::Visitor<'de> for NixValueSeed<'_> {
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

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Value, E> {
        match i64::try_from(n) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Err(self.refuse(format!(
                "unsigned json number {n} outside of Nix integer range"
            ))),
        }
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
        self.string(s)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(NixValueSeed(self.0))? {
            items.push(v);
        }
        items.shrink_to_fit();
        Ok(Value::list(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed(self.0))? {
            let value = map.next_value_seed(NixValueSeed(self.0))?;
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
struct KeySeed<'a>(Refused<'a>);

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Symbol;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Symbol, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed<'_> {
    type Value = Symbol;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Symbol, E> {
        if s.contains('\0') {
            self.0.borrow_mut().get_or_insert(nul_message(s));
            return Err(E::custom("refused"));
        }
        Ok(Symbol::intern(s))
    }
}

/// Parses JSON text into a value: serde_json's message for a syntax error, or the message
/// of the first value Nix cannot represent.
fn from_json(text: &[u8]) -> Result<Value, String> {
    use serde::de::DeserializeSeed;
    let refused = std::cell::RefCell::new(None);
    let mut d = serde_json::Deserializer::from_slice(text);
    let r = NixValueSeed(&refused)
        .deserialize(&mut d)
        .and_then(|v| d.end().map(|()| v));
    match (r, refused.into_inner()) {
        (_, Some(msg)) => Err(msg),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(format!("{e}")),
    }
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
            from_json(&s.s).or_else(err)
        },
    },
];
