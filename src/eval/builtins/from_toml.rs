//! `fromTOML` (Nix's `primops/fromTOML.cc`): a TOML document as a Nix value, through the
//! `toml` crate. Dates and times are refused unless the `parse-toml-timestamps` experimental
//! feature is on; then each is `{ _type = "timestamp"; value = "…"; }` with the text Nix
//! prints: an upper-case `T`, seconds always, and the fraction cut to 3, 6 or 9 digits.

use std::rc::Rc;

use toml::value::{Datetime, Offset};

use super::PrimOp;
use super::args::str_no_ctx;
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::Symbol;
use crate::eval::value::{Attr, Attrs, Value};

/// Why a document is refused (the text after `while parsing TOML: `).
struct Refused(String);

fn no_nul(s: &str) -> Result<(), Refused> {
    if s.contains('\0') {
        return Err(Refused(format!(
            "error: input string '{}' cannot be represented as Nix string because it contains null bytes",
            s.replace('\0', "\u{2400}")
        )));
    }
    Ok(())
}

/// The fraction of a second as toml11 3.x printed it: none, or 3, 6 or 9 digits.
fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    }
}

fn timestamp(d: &Datetime) -> Result<String, Refused> {
    let mut out = String::new();
    if let Some(date) = &d.date {
        out.push_str(&format!(
            "{:04}-{:02}-{:02}",
            date.year, date.month, date.day
        ));
    }
    if let Some(time) = &d.time {
        // TOML 1.0 (which Nix parses) requires the seconds.
        let Some(second) = time.second else {
            return Err(Refused(format!(
                "[error] toml::parse: invalid time: missing seconds in '{d}'"
            )));
        };
        if d.date.is_some() {
            out.push('T');
        }
        out.push_str(&format!(
            "{:02}:{:02}:{:02}{}",
            time.hour,
            time.minute,
            second,
            fraction(time.nanosecond.unwrap_or(0))
        ));
    }
    match d.offset {
        Some(Offset::Z) => out.push('Z'),
        Some(Offset::Custom { minutes }) => {
            let sign = if minutes < 0 { '-' } else { '+' };
            let m = minutes.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
        }
        None => {}
    }
    Ok(out)
}

fn convert(m: &Machine, v: toml::Value) -> Result<Value, Refused> {
    Ok(match v {
        toml::Value::String(s) => {
            no_nul(&s)?;
            Value::string(s)
        }
        toml::Value::Integer(n) => Value::Int(n),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => {
            if !m.opts.features.iter().any(|f| f == "parse-toml-timestamps") {
                return Err(Refused("Dates and times are not supported".into()));
            }
            Value::attrs(vec![
                Attr {
                    name: Symbol::intern("_type"),
                    value: Value::string("timestamp"),
                    pos: PosIdx::NONE,
                },
                Attr {
                    name: Symbol::intern("value"),
                    value: Value::string(timestamp(&d)?),
                    pos: PosIdx::NONE,
                },
            ])
        }
        toml::Value::Array(a) => Value::list(
            a.into_iter()
                .map(|x| convert(m, x))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => table(m, t)?,
    })
}

fn table(m: &Machine, t: toml::Table) -> Result<Value, Refused> {
    let mut entries = Vec::with_capacity(t.len());
    for (k, v) in t {
        no_nul(&k)?;
        entries.push(Attr {
            name: Symbol::intern(&k),
            value: convert(m, v)?,
            pos: PosIdx::NONE,
        });
    }
    Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(entries))))
}

/// The crate's parse error in toml11's words where Nix's tests pin them (integers out of
/// range), else the crate's own first line.
fn parse_error(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message();
    if msg.contains("too large") || msg.contains("invalid type: integer") {
        return "[error] toml::parse_dec_integer: too large integer: current max digits = 2^63"
            .into();
    }
    let at = e
        .span()
        .map(|s| {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            format!(" at line {line}")
        })
        .unwrap_or_default();
    format!("[error] {msg}{at}")
}

fn from_toml(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let text = str_no_ctx(
        m,
        &a[0],
        "while evaluating the argument passed to builtins.fromTOML",
    )?;
    let text = String::from_utf8_lossy(&text).into_owned();
    let parsed = match text.parse::<toml::Table>() {
        Ok(t) => table(m, t),
        Err(e) => Err(Refused(parse_error(&e, &text))),
    };
    match parsed {
        Ok(v) => Ok(v),
        Err(Refused(msg)) => err(format!("while parsing TOML: {msg}")),
    }
}

pub static OPS: &[PrimOp] = &[PrimOp {
    name: "fromTOML",
    arity: 1,
    f: from_toml,
}];
