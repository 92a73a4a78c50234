//! Values (Nix's `Value` in `value.hh`): 16 bytes (checked by a test below), immediates inline, everything else behind
//! an `Rc`, so copying a value is at most a reference-count increment. Strings are bytes
//! with a string context; attribute sets are vectors sorted by symbol; a thunk is shared and
//! updated in place when forced.
#![allow(missing_docs)] // variant and field names are the Nix types and parts they hold

use std::cell::RefCell;
use std::rc::Rc;

use super::builtins::PrimOp;
use super::context::Context;
use super::env::Env;
use super::ir::{Expr, Lambda};
use super::pos::PosIdx;
use super::symbol::Symbol;

/// A Nix value; `Thunk` only until forced.
#[derive(Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<NixStr>),
    /// An absolute, canonical path.
    Path(PathStr),
    Attrs(Rc<Attrs>),
    List(Rc<Vec<Value>>),
    Lambda(Rc<Closure>),
    PrimOp(&'static PrimOp),
    /// A primop applied to fewer arguments than it takes.
    PrimOpApp(Rc<PrimOpApp>),
    Thunk(Rc<Thunk>),
}

/// A path's text behind one thin pointer (an `Rc<str>` is two words and would make every
/// value 24 bytes instead of 16).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PathStr(Rc<Box<str>>);

impl std::ops::Deref for PathStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for PathStr {
    fn from(s: String) -> PathStr {
        PathStr(Rc::new(s.into_boxed_str()))
    }
}

impl From<&str> for PathStr {
    fn from(s: &str) -> PathStr {
        PathStr(Rc::new(s.into()))
    }
}

impl std::fmt::Display for PathStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// A string: bytes (not necessarily UTF-8) and the store paths it refers to.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NixStr {
    pub s: Box<[u8]>,
    pub ctx: Context,
}

/// An attribute.
#[derive(Clone)]
pub struct Attr {
    pub name: Symbol,
    pub value: Value,
    pub pos: PosIdx,
}

/// An attribute set: sorted by symbol, no duplicates.
#[derive(Clone, Default)]
pub struct Attrs {
    pub entries: Vec<Attr>,
}

/// A function value: its code and the environment it closes over.
pub struct Closure {
    pub lambda: Rc<Lambda>,
    pub env: Rc<Env>,
}

/// A partial application of a primop.
pub struct PrimOpApp {
    pub op: &'static PrimOp,
    pub args: Vec<Value>,
}

/// A delayed computation.
pub struct Thunk(pub RefCell<ThunkState>);

/// Native code a thunk runs.
pub type NativeFn = Rc<dyn Fn(&mut super::machine::Machine) -> super::error::R<Value>>;

/// Where a thunk is.
pub enum ThunkState {
    /// Code in an environment.
    Pending(Rc<Expr>, Rc<Env>),
    /// `f a`, applied when forced (lazy results of builtins such as `map`).
    Apply(Value, Value),
    /// Native code, run when forced.
    Native(NativeFn),
    /// Being forced: forcing it again is infinite recursion.
    Blackhole,
    /// Forced.
    Done(Value),
    /// Made, but its environment is not there yet (a `let` being set up).
    Blank,
}

impl Value {
    /// A string without context.
    pub fn string(s: impl Into<Vec<u8>>) -> Value {
        Value::Str(Rc::new(NixStr {
            s: s.into().into_boxed_slice(),
            ctx: Context::default(),
        }))
    }

    /// A string with a context.
    pub fn string_with(s: impl Into<Vec<u8>>, ctx: Context) -> Value {
        Value::Str(Rc::new(NixStr {
            s: s.into().into_boxed_slice(),
            ctx,
        }))
    }

    /// A list.
    pub fn list(v: Vec<Value>) -> Value {
        Value::List(Rc::new(v))
    }

    /// An attribute set from entries in any order (the last of equal names wins).
    pub fn attrs(entries: Vec<Attr>) -> Value {
        Value::Attrs(Rc::new(Attrs::from_unsorted(entries)))
    }

    /// A thunk of `f a`.
    pub fn apply_lazily(f: Value, a: Value) -> Value {
        Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Apply(f, a)))))
    }

    /// A thunk running native code.
    pub fn native(
        f: impl Fn(&mut super::machine::Machine) -> super::error::R<Value> + 'static,
    ) -> Value {
        Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Native(Rc::new(f))))))
    }

    /// The value, if it needs no forcing (a forced thunk gives its value).
    pub fn ready(&self) -> Option<Value> {
        match self {
            Value::Thunk(t) => match &*t.0.borrow() {
                ThunkState::Done(v) => Some(v.clone()),
                _ => None,
            },
            v => Some(v.clone()),
        }
    }

    /// Nix's name of the value's type, as `builtins.typeOf` gives it.
    pub fn type_of(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Path(_) => "path",
            Value::Attrs(_) => "set",
            Value::List(_) => "list",
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => "lambda",
            Value::Thunk(_) => "thunk",
        }
    }

    /// The type as Nix's error messages show it (`showType`).
    pub fn show_type(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(_) => "a Boolean".into(),
            Value::Int(_) => "an integer".into(),
            Value::Float(_) => "a float".into(),
            Value::Str(s) if s.ctx.is_empty() => "a string".into(),
            Value::Str(_) => "a string with context".into(),
            Value::Path(_) => "a path".into(),
            Value::Attrs(_) => "a set".into(),
            Value::List(_) => "a list".into(),
            Value::Lambda(_) => "a function".into(),
            Value::PrimOp(p) => format!("the built-in function '{}'", p.name),
            Value::PrimOpApp(a) => {
                format!("the partially applied built-in function '{}'", a.op.name)
            }
            Value::Thunk(_) => "a thunk".into(),
        }
    }
}

impl NixStr {
    /// The bytes as text (lossy for bytes that are not UTF-8).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.s)
    }
}

impl Attrs {
    /// Sorts `entries` by symbol; of equal names the last wins.
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        // A stable sort keeps equal names in order; keep the last of each run.
        entries.sort_by_key(|a| a.name);
        let mut out: Vec<Attr> = Vec::with_capacity(entries.len());
        for a in entries {
            match out.last_mut() {
                Some(last) if last.name == a.name => *last = a,
                _ => out.push(a),
            }
        }
        Attrs { entries: out }
    }

    /// The attribute `name`.
    pub fn get(&self, name: Symbol) -> Option<&Attr> {
        self.entries
            .binary_search_by_key(&name, |a| a.name)
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The number of attributes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `self // other` in one merge pass.
    pub fn update(&self, other: &Attrs) -> Attrs {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let (a, b) = (&self.entries, &other.entries);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].name.cmp(&b[j].name) {
                std::cmp::Ordering::Less => {
                    out.push(a[i].clone());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j].clone());
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(b[j].clone());
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        Attrs { entries: out }
    }

    /// The attributes sorted by name (as `attrNames` and printing see them).
    pub fn sorted_by_name(&self) -> Vec<&Attr> {
        let mut v: Vec<&Attr> = self.entries.iter().collect();
        v.sort_by(|x, y| x.name.as_str().cmp(y.name.as_str()));
        v
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_and_thunks_stay_small() {
        // Every list element, attribute and environment slot is a `Value`; a thunk is one
        // allocation of its state. Growing either costs memory on every workload.
        assert_eq!(std::mem::size_of::<super::Value>(), 16);
        assert!(std::mem::size_of::<super::ThunkState>() <= 32);
        // A string's header (bytes and context) is three words.
        assert_eq!(std::mem::size_of::<super::NixStr>(), 24);
    }
}
