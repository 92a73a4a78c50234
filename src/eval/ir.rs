//! The lowered expression form the evaluator runs (Nix's `Expr` classes in `nixexpr.hh`
//! after `bindVars`): every variable is already a slot in an environment `depth` levels up,
//! a global, or a lookup through the enclosing `with`s; attribute names are symbols; nested
//! attribute paths (`a.b.c = …`) are merged into nested sets. Children are behind `Rc` so a
//! thunk is a pointer to its code plus its environment.
#![allow(missing_docs)] // node fields are named for the syntax they hold

use std::rc::Rc;

use super::pos::PosIdx;
use super::symbol::Symbol;
use super::value::Value;

/// An expression.
pub enum Expr {
    /// A constant (literals, globals).
    Const(Value),
    /// A variable bound in an environment `depth` levels up, in `slot`.
    Var { depth: u32, slot: u32 },
    /// A variable found in no lexical scope: looked up in the `with`s at these depths,
    /// innermost first.
    WithVar {
        name: Symbol,
        withs: Rc<[u32]>,
        pos: PosIdx,
    },
    /// `e.a.b or d`.
    Select {
        e: Rc<Expr>,
        path: Box<[AttrName]>,
        default: Option<Rc<Expr>>,
        pos: PosIdx,
    },
    /// `e ? a.b`.
    HasAttr { e: Rc<Expr>, path: Box<[AttrName]> },
    /// `{ … }` or `rec { … }`.
    Attrs(Rc<AttrsExpr>),
    /// `[ … ]`.
    List(Box<[Rc<Expr>]>),
    /// `x: …` or `{ … }: …`.
    Lambda(Rc<Lambda>),
    /// `f a b …`.
    Call {
        f: Rc<Expr>,
        args: Box<[Rc<Expr>]>,
        pos: PosIdx,
    },
    /// `let … in body`: a new environment with one slot per binding.
    Let { binds: Rc<Binds>, body: Rc<Expr> },
    /// `with e; body`: a new environment whose one slot holds `e`.
    With { attrs: Rc<Expr>, body: Rc<Expr> },
    /// `if c then t else e`.
    If {
        cond: Rc<Expr>,
        then: Rc<Expr>,
        else_: Rc<Expr>,
        pos: PosIdx,
    },
    /// `assert c; body`; `text` is the condition as Nix shows it.
    Assert {
        cond: Rc<Expr>,
        body: Rc<Expr>,
        text: Rc<str>,
        pos: PosIdx,
    },
    /// A binary operator.
    Bin {
        op: BinOp,
        l: Rc<Expr>,
        r: Rc<Expr>,
        pos: PosIdx,
    },
    /// `!e`.
    Not { e: Rc<Expr>, pos: PosIdx },
    /// `"…${e}…"`, or a path with interpolations when `path` is set.
    Interp {
        parts: Box<[Rc<Expr>]>,
        path: bool,
        pos: PosIdx,
    },
    /// A `~/…` or relative path resolved at run time (home directory).
    HomePath { rest: Rc<str>, pos: PosIdx },
    /// `__curPos`.
    CurPos(PosIdx),
}

/// An attribute name in a path: known when lowering, or computed.
pub enum AttrName {
    Static(Symbol),
    Dynamic(Rc<Expr>),
}

/// Binary operators (after desugaring `-e` to `0 - e` and `a > b` to `b < a`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinOp {
    Eq,
    NotEq,
    Less,
    LessEq,
    More,
    MoreEq,
    And,
    Or,
    Impl,
    Update,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    PipeRight,
    PipeLeft,
}

/// A binding's value: code evaluated in the new environment, or (for `inherit x;`) in the
/// enclosing one.
pub struct Bind {
    pub name: Symbol,
    pub value: Rc<Expr>,
    /// Evaluated in the environment around the `let`/`rec` (plain `inherit`).
    pub outer: bool,
    pub pos: PosIdx,
}

/// The static bindings of a `let` or `rec { }` (sorted by symbol; the slot is the index).
pub struct Binds {
    pub binds: Box<[Bind]>,
}

/// `{ … }`: static attributes (sorted by symbol), then dynamic ones in source order.
pub struct AttrsExpr {
    /// `rec { … }`: the static attributes are also an environment for the values.
    pub rec: bool,
    pub binds: Binds,
    pub dynamic: Box<[DynAttr]>,
    pub pos: PosIdx,
}

/// `"${k}" = v;`.
pub struct DynAttr {
    pub name: Rc<Expr>,
    pub value: Rc<Expr>,
    pub pos: PosIdx,
}

/// A function.
pub struct Lambda {
    /// The name it was bound to (`f = x: …` is `f`), for error messages.
    pub name: Option<Symbol>,
    /// `x:` or `{ … }@x:`: the slot of `x` (the last slot).
    pub arg: Option<Symbol>,
    /// `{ a, b ? d, … }`: in slot order (sorted by symbol), before `arg`'s slot.
    pub formals: Option<Formals>,
    pub body: Rc<Expr>,
    pub pos: PosIdx,
}

/// A formal argument set.
pub struct Formals {
    pub entries: Box<[Formal]>,
    pub ellipsis: bool,
}

/// One formal argument.
pub struct Formal {
    pub name: Symbol,
    pub default: Option<Rc<Expr>>,
    pub pos: PosIdx,
}

impl Lambda {
    /// How many slots a call's environment has.
    pub fn slots(&self) -> usize {
        self.formals.as_ref().map_or(0, |f| f.entries.len()) + usize::from(self.arg.is_some())
    }
}
