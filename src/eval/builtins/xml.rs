//! `toXML` (Nix's `value-to-xml.cc` with its `XMLWriter`): the value forced deeply and
//! written as Nix's XML, two-space indented, attributes of an element sorted by name,
//! derivations shown once (later occurrences are `<repeated />`), functions as their
//! argument pattern, built-in functions as `<unevaluated />`.

use std::collections::HashSet;

use super::PrimOp;
use crate::eval::context::Context;
use crate::eval::error::R;
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::symbol::known;
use crate::eval::value::Value;

struct Writer<'a> {
    out: Vec<u8>,
    ctx: &'a mut Context,
    drvs_seen: HashSet<Vec<u8>>,
}

fn indent(out: &mut Vec<u8>, depth: usize) {
    out.resize(out.len() + depth * 2, b' ');
}

/// ` name="value"` pairs, sorted by name, escaped as the XMLWriter escapes them.
fn attrs(out: &mut Vec<u8>, pairs: &mut [(&str, &[u8])]) {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in pairs.iter() {
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        for &c in value.iter() {
            match c {
                b'"' => out.extend_from_slice(b"&quot;"),
                b'<' => out.extend_from_slice(b"&lt;"),
                b'>' => out.extend_from_slice(b"&gt;"),
                b'&' => out.extend_from_slice(b"&amp;"),
                b'\n' => out.extend_from_slice(b"&#xA;"),
                c => out.push(c),
            }
        }
        out.push(b'"');
    }
}

impl Writer<'_> {
    fn empty(&mut self, depth: usize, name: &str, mut pairs: Vec<(&str, &[u8])>) {
        indent(&mut self.out, depth);
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        attrs(&mut self.out, &mut pairs);
        self.out.extend_from_slice(b" />\n");
    }

    fn open(&mut self, depth: usize, name: &str, mut pairs: Vec<(&str, &[u8])>) {
        indent(&mut self.out, depth);
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        attrs(&mut self.out, &mut pairs);
        self.out.extend_from_slice(b">\n");
    }

    fn close(&mut self, depth: usize, name: &str) {
        indent(&mut self.out, depth);
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b">\n");
    }

    fn value(&mut self, m: &mut Machine, v: &Value, depth: usize) -> R<()> {
        stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
            self.value_inner(m, v, depth)
        })
    }

    fn show_attrs(
        &mut self,
        m: &mut Machine,
        set: &crate::eval::value::Attrs,
        depth: usize,
    ) -> R<()> {
        for a in set.sorted_by_name() {
            self.open(depth, "attr", vec![("name", a.name.as_str().as_bytes())]);
            let v = a.value.clone();
            self.value(m, &v, depth + 1)?;
            self.close(depth, "attr");
        }
        Ok(())
    }

    fn value_inner(&mut self, m: &mut Machine, v: &Value, depth: usize) -> R<()> {
        let v = m.force(v)?;
        match &v {
            Value::Int(n) => self.empty(depth, "int", vec![("value", n.to_string().as_bytes())]),
            Value::Bool(b) => self.empty(
                depth,
                "bool",
                vec![("value", if *b { b"true" } else { b"false" })],
            ),
            Value::Str(s) => {
                self.ctx.extend(&s.ctx);
                self.empty(depth, "string", vec![("value", &s.s)]);
            }
            Value::Path(p) => self.empty(depth, "path", vec![("value", p.as_bytes())]),
            Value::Null => self.empty(depth, "null", vec![]),
            Value::Float(f) => self.empty(
                depth,
                "float",
                vec![("value", crate::eval::print::float(*f).as_bytes())],
            ),
            Value::Attrs(set) => {
                if m.is_derivation(set)? {
                    let k = known();
                    let found = |m: &mut Machine, name| -> R<Option<Vec<u8>>> {
                        match set.get(name) {
                            Some(a) => match m.force(&a.value.clone())? {
                                Value::Str(s) => Ok(Some(s.s.to_vec())),
                                _ => Ok(None),
                            },
                            None => Ok(None),
                        }
                    };
                    let drv = found(m, k.drv_path)?;
                    let out = found(m, k.out_path)?;
                    let mut pairs: Vec<(&str, &[u8])> = Vec::new();
                    if let Some(d) = &drv {
                        pairs.push(("drvPath", d));
                    }
                    if let Some(o) = &out {
                        pairs.push(("outPath", o));
                    }
                    self.open(depth, "derivation", pairs);
                    let first = match &drv {
                        Some(d) if !d.is_empty() => self.drvs_seen.insert(d.clone()),
                        _ => false,
                    };
                    if first {
                        self.show_attrs(m, set, depth + 1)?;
                    } else {
                        self.empty(depth + 1, "repeated", vec![]);
                    }
                    self.close(depth, "derivation");
                } else {
                    self.open(depth, "attrs", vec![]);
                    self.show_attrs(m, set, depth + 1)?;
                    self.close(depth, "attrs");
                }
            }
            Value::List(l) => {
                self.open(depth, "list", vec![]);
                for x in l.iter() {
                    self.value(m, x, depth + 1)?;
                }
                self.close(depth, "list");
            }
            Value::Lambda(c) => {
                self.open(depth, "function", vec![]);
                let lambda = &c.lambda;
                match &lambda.formals {
                    Some(formals) => {
                        let mut pairs: Vec<(&str, &[u8])> = Vec::new();
                        if let Some(arg) = lambda.arg {
                            pairs.push(("name", arg.as_str().as_bytes()));
                        }
                        if formals.ellipsis {
                            pairs.push(("ellipsis", b"1"));
                        }
                        self.open(depth + 1, "attrspat", pairs);
                        let mut names: Vec<&str> =
                            formals.entries.iter().map(|e| e.name.as_str()).collect();
                        names.sort_unstable();
                        for n in names {
                            self.empty(depth + 2, "attr", vec![("name", n.as_bytes())]);
                        }
                        self.close(depth + 1, "attrspat");
                    }
                    None => {
                        let name = lambda.arg.map(|a| a.as_str()).unwrap_or("");
                        self.empty(depth + 1, "varpat", vec![("name", name.as_bytes())]);
                    }
                }
                self.close(depth, "function");
            }
            Value::PrimOp(_) | Value::PrimOpApp(_) | Value::Thunk(_) => {
                self.empty(depth, "unevaluated", vec![])
            }
        }
        Ok(())
    }
}

fn to_xml(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let mut ctx = Context::default();
    let mut w = Writer {
        out: b"<?xml version='1.0' encoding='utf-8'?>\n<expr>\n".to_vec(),
        ctx: &mut ctx,
        drvs_seen: HashSet::new(),
    };
    w.value(m, &a[0], 1)?;
    w.out.extend_from_slice(b"</expr>\n");
    let out = w.out;
    Ok(Value::string_with(out, ctx))
}

pub static OPS: &[PrimOp] = &[PrimOp {
    name: "toXML",
    arity: 1,
    f: to_xml,
}];
