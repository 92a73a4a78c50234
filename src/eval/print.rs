//! Printing values as `nix eval` and `nix-instantiate --eval --strict` do (Nix's `Printer` in
//! `print.cc`): strings quoted and escaped, attribute names bare when they are identifiers,
//! sets sorted by name, `«repeated»` for a set (or a list reached through the same variable)
//! printed before, and the bounded form error messages use (`errorPrintOptions`: ten levels,
//! ten attributes and ten list items in all, 1024 bytes of a string, the rest elided).

use std::collections::HashSet;
use std::rc::Rc;

use super::error::{Kind, R, err_kind};
use super::machine::Machine;
use super::value::{ThunkState, Value};

/// How much to print and whether to force (Nix's `PrintOptions`).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Force thunks (otherwise they print as `«thunk»`).
    pub force: bool,
    /// Print a derivation as `«derivation /nix/store/….drv»` (needs `force`).
    pub derivation_paths: bool,
    /// Sets and lists nested deeper print as `{ ... }` / `[ ... ]`.
    pub max_depth: usize,
    /// Attributes printed in all; a set's rest is `«N attributes elided»`.
    pub max_attrs: usize,
    /// List items printed in all; a list's rest is `«N items elided»`.
    pub max_items: usize,
    /// Bytes of a string printed; the rest is `«N bytes elided»`.
    pub max_string: usize,
}

/// `nix eval`'s output.
pub const EVAL: Options = Options {
    force: true,
    derivation_paths: true,
    max_depth: usize::MAX,
    max_attrs: usize::MAX,
    max_items: usize::MAX,
    max_string: usize::MAX,
};

/// `trace` and `nix-instantiate --eval` without `--strict`: nothing forced, nothing cut.
pub const LAZY: Options = Options {
    force: false,
    derivation_paths: false,
    ..EVAL
};

/// Values quoted in error messages (Nix's `errorPrintOptions`).
pub const ERROR: Options = Options {
    force: false,
    derivation_paths: false,
    max_depth: 10,
    max_attrs: 10,
    max_items: 10,
    max_string: 1024,
};

/// Nix's quoting of a string (`"…"`, with `\"`, `\\`, `\n`, `\r`, `\t`, `\${`).
pub fn quote(s: &[u8], out: &mut Vec<u8>) {
    quote_max(s, usize::MAX, out);
}

fn quote_max(s: &[u8], max: usize, out: &mut Vec<u8>) {
    out.push(b'"');
    for (i, c) in s.iter().enumerate() {
        if i >= max {
            out.extend_from_slice(b"\" ");
            elided(s.len() - i, "byte", "bytes", out);
            return;
        }
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'$' if s.get(i + 1) == Some(&b'{') => out.extend_from_slice(b"\\$"),
            c => out.push(*c),
        }
    }
    out.push(b'"');
}

fn elided(n: usize, one: &str, many: &str, out: &mut Vec<u8>) {
    let word = if n == 1 { one } else { many };
    out.extend_from_slice(format!("«{n} {word} elided»").as_bytes());
}

/// Whether an attribute name prints without quotes (Nix's `isVarName`).
pub fn is_identifier(s: &str) -> bool {
    let Some(c) = s.bytes().next() else {
        return false;
    };
    !c.is_ascii_digit()
        && c != b'-'
        && c != b'\''
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'\''))
        && !is_keyword(s)
}

/// The words an attribute name must be quoted to use.
pub fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "if" | "then" | "else" | "assert" | "with" | "let" | "in" | "rec" | "inherit"
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

/// Prints a value, forcing everything in it when `strict` (as `nix eval` does, derivations
/// as `«derivation …»`); without, a thunk not forced yet prints as `«thunk»`.
pub fn print(m: &mut Machine, v: &Value, strict: bool) -> R<Vec<u8>> {
    print_with(m, v, if strict { EVAL } else { LAZY })
}

/// Prints a value with `opts`.
pub fn print_with(m: &mut Machine, v: &Value, opts: Options) -> R<Vec<u8>> {
    let mut p = Printer {
        m: Some(m),
        opts,
        seen: HashSet::new(),
        attrs: 0,
        items: 0,
        out: Vec::new(),
    };
    p.value(v, 0)?;
    Ok(p.out)
}

/// A short rendering for error messages (no forcing, bounded as Nix's `errorPrintOptions`):
/// `123`, `"abc"`, `{ a = 1; b = «thunk»; }`.
pub fn brief(v: &Value) -> String {
    let mut p = Printer {
        m: None,
        opts: ERROR,
        seen: HashSet::new(),
        attrs: 0,
        items: 0,
        out: Vec::new(),
    };
    // Without a machine nothing is forced, so nothing can fail.
    let _ = p.value(v, 0);
    String::from_utf8_lossy(&p.out).into_owned()
}

struct Printer<'a> {
    /// The evaluator, when values may be forced.
    m: Option<&'a mut Machine>,
    opts: Options,
    /// Sets (by their attributes) and lists (by the thunk that held them) printed so far.
    seen: HashSet<usize>,
    /// Attributes and list items printed so far, in all.
    attrs: usize,
    items: usize,
    out: Vec<u8>,
}

impl Printer<'_> {
    fn value(&mut self, v: &Value, depth: usize) -> R<()> {
        stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || self.value_inner(v, depth))
    }

    fn value_inner(&mut self, v: &Value, depth: usize) -> R<()> {
        if let Some(m) = &self.m
            && depth > m.opts.max_call_depth
        {
            return err_kind(
                Kind::StackOverflow,
                "stack overflow; max-call-depth exceeded",
            );
        }
        // A list's identity is the variable (thunk) it was reached through, as a `Value *` is
        // in Nix; a set's is its attributes.
        let holder = match v {
            Value::Thunk(t) => Some(Rc::as_ptr(t) as *const u8 as usize),
            _ => None,
        };
        let v = match (self.opts.force, &mut self.m) {
            (true, Some(m)) => m.force(v)?,
            _ => match v {
                Value::Thunk(t) => match &*t.0.borrow() {
                    ThunkState::Done(v) => v.clone(),
                    ThunkState::Blackhole => {
                        self.out
                            .extend_from_slice("«potential infinite recursion»".as_bytes());
                        return Ok(());
                    }
                    _ => {
                        self.out.extend_from_slice("«thunk»".as_bytes());
                        return Ok(());
                    }
                },
                v => v.clone(),
            },
        };
        match &v {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(n) => self.out.extend_from_slice(n.to_string().as_bytes()),
            Value::Float(f) => self.out.extend_from_slice(float(*f).as_bytes()),
            Value::Str(s) => quote_max(&s.s, self.opts.max_string, &mut self.out),
            Value::Path(p) => self.out.extend_from_slice(p.as_bytes()),
            Value::Attrs(a) => {
                if !self.seen.insert(Rc::as_ptr(a) as *const u8 as usize) {
                    self.out.extend_from_slice("«repeated»".as_bytes());
                    return Ok(());
                }
                if self.opts.force
                    && self.opts.derivation_paths
                    && let Some(m) = &mut self.m
                    && m.is_derivation(a)?
                {
                    self.out.extend_from_slice("«derivation".as_bytes());
                    if let Some(d) = a.get(super::symbol::Symbol::intern("drvPath")) {
                        let d = d.value.clone();
                        let mut ctx = super::context::Context::default();
                        let s = m.coerce_to_string(&d, &mut ctx, false, false)?;
                        self.out.push(b' ');
                        self.out.extend_from_slice(&s);
                    }
                    self.out.extend_from_slice("»".as_bytes());
                    return Ok(());
                }
                if depth >= self.opts.max_depth {
                    self.out.extend_from_slice(b"{ ... }");
                    return Ok(());
                }
                let mut sorted = a.sorted_by_name();
                if self.opts.max_attrs != usize::MAX {
                    // Bounded printing shows `type` and `_type` first.
                    sorted.sort_by_key(|x| !matches!(x.name.as_str(), "type" | "_type"));
                }
                self.out.push(b'{');
                let n = sorted.len();
                for (i, attr) in sorted.into_iter().enumerate() {
                    self.out.push(b' ');
                    if self.attrs >= self.opts.max_attrs {
                        elided(n - i, "attribute", "attributes", &mut self.out);
                        break;
                    }
                    attr_name(attr.name.as_str(), &mut self.out);
                    self.out.extend_from_slice(b" = ");
                    self.value(&attr.value, depth + 1)?;
                    self.out.push(b';');
                    self.attrs += 1;
                }
                self.out.extend_from_slice(b" }");
            }
            Value::List(l) => {
                if !l.is_empty()
                    && let Some(h) = holder
                    && !self.seen.insert(h)
                {
                    self.out.extend_from_slice("«repeated»".as_bytes());
                    return Ok(());
                }
                if depth >= self.opts.max_depth {
                    self.out.extend_from_slice(b"[ ... ]");
                    return Ok(());
                }
                self.out.push(b'[');
                let n = l.len();
                for (i, item) in l.iter().enumerate() {
                    self.out.push(b' ');
                    if self.items >= self.opts.max_items {
                        elided(n - i, "item", "items", &mut self.out);
                        break;
                    }
                    self.value(item, depth + 1)?;
                    self.items += 1;
                }
                self.out.extend_from_slice(b" ]");
            }
            Value::Lambda(c) => {
                self.out.extend_from_slice("«lambda".as_bytes());
                if let Some(n) = c.lambda.name {
                    self.out.push(b' ');
                    self.out.extend_from_slice(n.as_str().as_bytes());
                }
                if let Some(r) = super::pos::resolve(c.lambda.pos) {
                    self.out
                        .extend_from_slice(format!(" @ {}", r.location()).as_bytes());
                }
                self.out.extend_from_slice("»".as_bytes());
            }
            Value::PrimOp(p) => self
                .out
                .extend_from_slice(format!("«primop {}»", p.name).as_bytes()),
            Value::PrimOpApp(p) => self
                .out
                .extend_from_slice(format!("«partially applied primop {}»", p.op.name).as_bytes()),
            Value::Thunk(_) => self.out.extend_from_slice("«thunk»".as_bytes()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::symbol::Symbol;
    use crate::eval::value::Attr;

    fn set(n: usize, v: impl Fn(usize) -> Value) -> Value {
        Value::attrs(
            (0..n)
                .map(|i| Attr {
                    name: Symbol::intern(&format!("k{i:02}")),
                    value: v(i),
                    pos: crate::eval::pos::PosIdx::NONE,
                })
                .collect(),
        )
    }

    #[test]
    fn error_printing_elides_past_ten_in_all() {
        let cases = [
            (
                "flat",
                set(12, |i| Value::Int(i as i64)),
                "{ k00 = 0; k01 = 1; k02 = 2; k03 = 3; k04 = 4; k05 = 5; k06 = 6; k07 = 7; k08 = 8; k09 = 9; «2 attributes elided» }",
            ),
            (
                "list",
                Value::list((0..11).map(Value::Int).collect()),
                "[ 0 1 2 3 4 5 6 7 8 9 «1 item elided» ]",
            ),
            (
                "string",
                Value::string("x".repeat(1030)),
                &format!("\"{}\" «6 bytes elided»", "x".repeat(1024)),
            ),
        ];
        for (name, v, want) in cases {
            assert_eq!(brief(&v), want, "{name}");
        }
    }

    #[test]
    fn names_quoted_only_when_needed() {
        for (s, bare) in [
            ("or", true),
            ("in", false),
            ("a-b'", true),
            ("1a", false),
            ("", false),
        ] {
            assert_eq!(is_identifier(s), bare, "{s}");
        }
    }
}
