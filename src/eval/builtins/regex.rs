//! `match` and `split` (Nix's `prim_match`, `prim_split`): POSIX extended regular expressions
//! as Nix compiles them (`std::regex::extended` of libstdc++), translated into the syntax of
//! the `regex` crate and compiled once per pattern ([`Cache`]).
//!
//! The translation keeps libstdc++'s reading of the syntax: strings are bytes (`.` is one
//! byte and matches a newline), a backslash escapes only `.[\()*+?{|^$` (any other escape is
//! an invalid expression), a backslash is literal inside brackets, `]` first in a bracket is
//! literal, `[:d:]`/`[:w:]`/`[:s:]` are classes, quantifiers stack (`a**` is `(a*)*`; `a*?`
//! is `(a*)?`, not a lazy star). Where the engines differ (the crate's leftmost-first
//! alternation against libstdc++'s longest alternative) is in `docs/deviations.md`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use regex::bytes::{Regex, RegexBuilder};

use super::PrimOp;
use super::args::{arg, str_no_ctx};
use crate::eval::error::{R, err};
use crate::eval::machine::Machine;
use crate::eval::pos::PosIdx;
use crate::eval::value::Value;

/// Compiled expressions by pattern (and whether the whole string must match).
#[derive(Default)]
pub struct Cache(RefCell<HashMap<Key, Rc<Regex>>>);

/// A pattern, and whether it must match the whole string.
type Key = (Box<[u8]>, bool);

/// Why a pattern is refused.
enum Bad {
    /// Not a valid POSIX extended regular expression.
    Syntax,
    /// Larger than the engine's size limit.
    TooBig,
}

impl Cache {
    fn get(&self, pattern: &[u8], whole: bool) -> R<Rc<Regex>> {
        let key = (Box::from(pattern), whole);
        if let Some(r) = self.0.borrow().get(&key) {
            return Ok(r.clone());
        }
        let text = String::from_utf8_lossy(pattern);
        let compiled = translate(pattern).and_then(|t| {
            let t = if whole { format!("^(?:{t})$") } else { t };
            RegexBuilder::new(&t)
                .unicode(false)
                .dot_matches_new_line(true)
                .size_limit(32 << 20)
                .build()
                .map_err(|e| match e {
                    regex::Error::CompiledTooBig(_) => Bad::TooBig,
                    _ => Bad::Syntax,
                })
        });
        match compiled {
            Ok(r) => {
                let r = Rc::new(r);
                self.0.borrow_mut().insert(key, r.clone());
                Ok(r)
            }
            Err(Bad::Syntax) => err(format!("invalid regular expression '{text}'")),
            Err(Bad::TooBig) => err(format!(
                "memory limit exceeded by regular expression '{text}'"
            )),
        }
    }
}

// --- POSIX ERE → regex crate syntax -------------------------------------------------------

/// Nesting deeper than this is refused (the crate's own limit is lower still).
const MAX_DEPTH: usize = 200;

struct Parser<'a> {
    p: &'a [u8],
    i: usize,
    out: String,
}

fn translate(p: &[u8]) -> Result<String, Bad> {
    let mut ps = Parser {
        p,
        i: 0,
        out: String::with_capacity(p.len() * 2),
    };
    ps.disjunction(0)?;
    if ps.i != p.len() {
        return Err(Bad::Syntax);
    }
    Ok(ps.out)
}

fn push_byte(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b' ' {
        out.push(b as char);
    } else {
        out.push_str(&format!("\\x{b:02X}"));
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.p.get(self.i).copied()
    }

    fn disjunction(&mut self, depth: usize) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad::Syntax);
        }
        self.alternative(depth)?;
        while self.peek() == Some(b'|') {
            self.i += 1;
            self.out.push('|');
            self.alternative(depth)?;
        }
        Ok(())
    }

    fn alternative(&mut self, depth: usize) -> Result<(), Bad> {
        loop {
            match self.peek() {
                None | Some(b'|') | Some(b')') => return Ok(()),
                Some(b'^') => {
                    self.i += 1;
                    self.out.push('^');
                }
                Some(b'$') => {
                    self.i += 1;
                    self.out.push('$');
                }
                Some(b'*' | b'+' | b'?' | b'{') => return Err(Bad::Syntax),
                Some(_) => {
                    let mut atom = String::new();
                    std::mem::swap(&mut atom, &mut self.out);
                    let r = self.atom(depth);
                    std::mem::swap(&mut atom, &mut self.out);
                    r?;
                    self.quantified(atom)?;
                }
            }
        }
    }

    /// Emits `atom` with the quantifiers that follow it, each applying to all before it.
    fn quantified(&mut self, atom: String) -> Result<(), Bad> {
        let mut quants: Vec<String> = Vec::new();
        while let Some(q) = self.quantifier()? {
            quants.push(q);
        }
        if quants.is_empty() {
            self.out.push_str(&atom);
            return Ok(());
        }
        for _ in 1..quants.len() {
            self.out.push_str("(?:");
        }
        self.out.push_str("(?:");
        self.out.push_str(&atom);
        self.out.push(')');
        for (k, q) in quants.iter().enumerate() {
            self.out.push_str(q);
            if k + 1 < quants.len() {
                self.out.push(')');
            }
        }
        Ok(())
    }

    fn quantifier(&mut self) -> Result<Option<String>, Bad> {
        match self.peek() {
            Some(c @ (b'*' | b'+' | b'?')) => {
                self.i += 1;
                Ok(Some((c as char).to_string()))
            }
            Some(b'{') => {
                self.i += 1;
                let min = self.number().ok_or(Bad::Syntax)?;
                let max = if self.peek() == Some(b',') {
                    self.i += 1;
                    if self.peek() == Some(b'}') {
                        None
                    } else {
                        Some(self.number().ok_or(Bad::Syntax)?)
                    }
                } else {
                    Some(min)
                };
                if self.peek() != Some(b'}') {
                    return Err(Bad::Syntax);
                }
                self.i += 1;
                match max {
                    Some(max) if max < min => Err(Bad::Syntax),
                    Some(max) if max == min => Ok(Some(format!("{{{min}}}"))),
                    Some(max) => Ok(Some(format!("{{{min},{max}}}"))),
                    None => Ok(Some(format!("{{{min},}}"))),
                }
            }
            _ => Ok(None),
        }
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.p[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    fn atom(&mut self, depth: usize) -> Result<(), Bad> {
        let Some(c) = self.peek() else {
            return Err(Bad::Syntax);
        };
        self.i += 1;
        match c {
            b'.' => self.out.push('.'),
            b'(' => {
                self.out.push('(');
                self.disjunction(depth + 1)?;
                if self.peek() != Some(b')') {
                    return Err(Bad::Syntax);
                }
                self.i += 1;
                self.out.push(')');
            }
            b'\\' => match self.peek() {
                Some(e) if b".[\\()*+?{|^$".contains(&e) => {
                    self.i += 1;
                    push_byte(&mut self.out, e);
                }
                _ => return Err(Bad::Syntax),
            },
            b'[' => self.bracket()?,
            c => push_byte(&mut self.out, c),
        }
        Ok(())
    }

    /// A bracket expression, after its `[`.
    fn bracket(&mut self) -> Result<(), Bad> {
        self.out.push('[');
        if self.peek() == Some(b'^') {
            self.i += 1;
            self.out.push('^');
        }
        let mut first = true;
        let mut any = false;
        loop {
            let Some(c) = self.peek() else {
                return Err(Bad::Syntax);
            };
            if c == b']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            // A class `[:name:]`: not a range endpoint.
            if c == b'[' && self.p.get(self.i + 1) == Some(&b':') {
                let name = self.delimited(b':')?;
                let class = match name.as_slice() {
                    b"d" | b"digit" => "digit",
                    b"w" => "word",
                    b"s" | b"space" => "space",
                    b"alnum" => "alnum",
                    b"alpha" => "alpha",
                    b"blank" => "blank",
                    b"cntrl" => "cntrl",
                    b"graph" => "graph",
                    b"lower" => "lower",
                    b"print" => "print",
                    b"punct" => "punct",
                    b"upper" => "upper",
                    b"xdigit" => "xdigit",
                    _ => return Err(Bad::Syntax),
                };
                self.out.push_str(&format!("[:{class}:]"));
                any = true;
                continue;
            }
            let lo = self.bracket_char()?;
            // A range `lo-hi` (a `-` before the closing `]` is literal).
            if self.peek() == Some(b'-') && self.p.get(self.i + 1).is_some_and(|&n| n != b']') {
                self.i += 1;
                if self.peek() == Some(b'[') && self.p.get(self.i + 1) == Some(&b':') {
                    return Err(Bad::Syntax);
                }
                let hi = self.bracket_char()?;
                if hi < lo {
                    return Err(Bad::Syntax);
                }
                push_byte(&mut self.out, lo);
                self.out.push('-');
                push_byte(&mut self.out, hi);
            } else {
                push_byte(&mut self.out, lo);
            }
            any = true;
        }
        if !any {
            return Err(Bad::Syntax);
        }
        self.out.push(']');
        Ok(())
    }

    /// One character of a bracket: a byte, `[.c.]` or `[=c=]`.
    fn bracket_char(&mut self) -> Result<u8, Bad> {
        let c = self.peek().ok_or(Bad::Syntax)?;
        if c == b'[' && matches!(self.p.get(self.i + 1), Some(b'.' | b'=')) {
            let d = self.p[self.i + 1];
            let name = self.delimited(d)?;
            return match name.as_slice() {
                [one] => Ok(*one),
                _ => Err(Bad::Syntax),
            };
        }
        self.i += 1;
        Ok(c)
    }

    /// The text of `[dNAMEd]` at the cursor (which is at its `[`).
    fn delimited(&mut self, d: u8) -> Result<Vec<u8>, Bad> {
        let start = self.i + 2;
        let mut j = start;
        while j + 1 < self.p.len() {
            if self.p[j] == d && self.p[j + 1] == b']' {
                self.i = j + 2;
                return Ok(self.p[start..j].to_vec());
            }
            j += 1;
        }
        Err(Bad::Syntax)
    }
}

// --- the builtins ---------------------------------------------------------------------------

fn groups(caps: &regex::bytes::Captures<'_>) -> Value {
    Value::list(
        (1..caps.len())
            .map(|i| match caps.get(i) {
                Some(m) => Value::string(m.as_bytes()),
                None => Value::Null,
            })
            .collect(),
    )
}

fn prim_match(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let re = str_no_ctx(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.match",
    )?;
    let regex = m.regexes.get(&re, true)?;
    let s = arg(
        m.str_of(&a[1]),
        "while evaluating the second argument passed to builtins.match",
    )?;
    Ok(match regex.captures(&s.s) {
        Some(c) => groups(&c),
        None => Value::Null,
    })
}

fn prim_split(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let re = str_no_ctx(
        m,
        &a[0],
        "while evaluating the first argument passed to builtins.split",
    )?;
    let regex = m.regexes.get(&re, false)?;
    let v = m.force(&a[1])?;
    let s = arg(
        m.str_of(&v),
        "while evaluating the second argument passed to builtins.split",
    )?;
    let hay: &[u8] = &s.s;
    let mut out = Vec::new();
    // libstdc++'s regex_iterator: after an empty match, a non-empty match at the same place,
    // else the next search starts one byte further; the text between matches is kept.
    let mut prefix_start = 0;
    let mut next = regex.captures_at(hay, 0);
    while let Some(c) = next {
        let whole = c.get(0).expect("group 0 is the match");
        out.push(Value::string(&hay[prefix_start..whole.start()]));
        out.push(groups(&c));
        prefix_start = whole.end();
        next = if whole.is_empty() {
            if whole.end() >= hay.len() {
                None
            } else {
                match regex.captures_at(hay, whole.end()) {
                    Some(n)
                        if n.get(0)
                            .is_some_and(|x| x.start() == whole.end() && !x.is_empty()) =>
                    {
                        Some(n)
                    }
                    _ => regex.captures_at(hay, whole.end() + 1),
                }
            }
        } else {
            regex.captures_at(hay, whole.end())
        };
    }
    if out.is_empty() {
        return Ok(Value::list(vec![v]));
    }
    out.push(Value::string(&hay[prefix_start..]));
    Ok(Value::list(out))
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "match",
        arity: 2,
        f: prim_match,
    },
    PrimOp {
        name: "split",
        arity: 2,
        f: prim_split,
    },
];
