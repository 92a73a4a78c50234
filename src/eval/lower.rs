//! Lowering rnix's syntax tree into [`ir::Expr`](super::ir::Expr) (Nix's parser actions in
//! `parser.y` plus `bindVars` in `nixexpr.cc`): variables resolved to (depth, slot), globals
//! to constants, everything else to a lookup through the enclosing `with`s; nested
//! attribute paths merged; relative paths made absolute against the file's directory;
//! `<p>` turned into `__findFile __nixPath "p"`; `-e` into `0 - e`.

use std::collections::HashMap;
use std::rc::Rc;

use rnix::SyntaxNode;
use rnix::ast::{self, AstToken, HasEntry, InterpolPart};

use super::error::{EvalError, Kind, R};
use super::ir::{AttrName, AttrsExpr, BinOp, Bind, Binds, DynAttr, Expr, Formal, Formals, Lambda};
use super::parse::lexer;
use super::paths::canonicalise;
use super::pos::PosIdx;
use super::symbol::Symbol;
use super::value::Value;

/// What lowering needs from outside the file.
pub struct Context<'a> {
    /// The global names (`builtins`, `true`, `map`, `__add`, …).
    pub globals: &'a HashMap<Symbol, Value>,
    /// The base of the file's positions ([`super::pos::add_source`]).
    pub base: u32,
    /// The directory relative paths are resolved against.
    pub dir: &'a str,
    /// Names bound around the whole file, dynamically (`scopedImport`): looked up like a
    /// `with` at depth 0 of the file's environment.
    pub scoped: bool,
    /// The `lint-*` settings.
    pub lints: Lints,
    /// The `pipe-operators` experimental feature (`|>`, `<|`).
    pub pipes: bool,
    /// Warnings of `warn` lints, with their positions, for the caller to show.
    pub warnings: std::cell::RefCell<Vec<(String, PosIdx)>>,
}

/// What a lint setting asks for (Nix's `Diagnose`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Diagnose {
    /// Nothing.
    #[default]
    Ignore,
    /// A warning.
    Warn,
    /// An error.
    Fatal,
}

impl Diagnose {
    /// Parses `ignore`, `warn` or `fatal`.
    pub fn parse(s: &str) -> Option<Diagnose> {
        match s {
            "ignore" => Some(Diagnose::Ignore),
            "warn" => Some(Diagnose::Warn),
            "fatal" => Some(Diagnose::Fatal),
            _ => None,
        }
    }
}

/// The parser's lint settings (`lint-absolute-path-literals`, `lint-short-path-literals`,
/// `lint-url-literals`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Lints {
    /// `lint-absolute-path-literals` (also `~/…`).
    pub absolute_paths: Diagnose,
    /// `lint-short-path-literals`.
    pub short_paths: Diagnose,
    /// `lint-url-literals`.
    pub urls: Diagnose,
}

enum Scope {
    /// Variables of one environment, by slot.
    Vars(Vec<Symbol>),
    /// A `with`: one slot holding the set.
    With,
}

/// Lowers the file's top expression.
pub fn lower(root: &rnix::Root, cx: &Context<'_>) -> R<Rc<Expr>> {
    let mut l = Lowerer {
        cx,
        scopes: Vec::new(),
    };
    if cx.scoped {
        l.scopes.push(Scope::With);
    }
    match root.expr() {
        Some(e) => l.expr(e),
        None => Err(error(
            "syntax error, unexpected end of file",
            PosIdx(cx.base),
        )),
    }
}

struct Lowerer<'a> {
    cx: &'a Context<'a>,
    scopes: Vec<Scope>,
}

fn error(msg: impl Into<String>, pos: PosIdx) -> Box<EvalError> {
    Box::new(EvalError {
        kind: Kind::Eval,
        msg: msg.into(),
        pos,
        frames: Vec::new(),
    })
}

fn node<T: ast::AstNode>(n: &T) -> &SyntaxNode {
    n.syntax()
}

/// One attribute while a set's entries are collected.
enum PVal {
    Expr(ast::Expr),
    /// `inherit x;`.
    Inherit(Symbol, PosIdx),
    /// `inherit (e) x;`: the index of `e`.
    InheritFrom(usize, Symbol, PosIdx),
    /// A set built from attribute paths (`a.b = …; a.c = …;`).
    Nested(PAttrs),
}

#[derive(Default)]
struct PAttrs {
    statics: Vec<(Symbol, PVal, PosIdx)>,
    dynamic: Vec<(ast::Attr, PVal, PosIdx)>,
    /// The expressions of `inherit (e) …;`, indexed by `PVal::InheritFrom`.
    froms: Vec<ast::Expr>,
    /// `rec { … }`.
    rec: bool,
    /// Position of the set (for nested sets, of the first path).
    pos: PosIdx,
}

impl PAttrs {
    fn find(&mut self, s: Symbol) -> Option<usize> {
        self.statics.iter().position(|(n, _, _)| *n == s)
    }
}

impl Lowerer<'_> {
    /// Applies a lint: nothing, a warning, or the error (Nix's `diagnose`).
    fn diagnose(&self, d: Diagnose, setting: &str, msg: String, pos: PosIdx) -> R<()> {
        let msg = format!("{msg} ({setting})");
        match d {
            Diagnose::Ignore => Ok(()),
            Diagnose::Warn => {
                self.cx.warnings.borrow_mut().push((msg, pos));
                Ok(())
            }
            Diagnose::Fatal => Err(error(msg, pos)),
        }
    }

    fn pos_of(&self, n: &SyntaxNode) -> PosIdx {
        PosIdx(self.cx.base + u32::from(n.text_range().start()))
    }

    fn expr(&mut self, e: ast::Expr) -> R<Rc<Expr>> {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(e))
    }

    fn expr_inner(&mut self, e: ast::Expr) -> R<Rc<Expr>> {
        let pos = self.pos_of(node(&e));
        Ok(Rc::new(match e {
            ast::Expr::Paren(p) => return self.opt(p.expr(), pos),
            ast::Expr::Root(r) => return self.opt(r.expr(), pos),
            ast::Expr::Literal(l) => self.literal(&l, pos)?,
            ast::Expr::Str(s) => return self.string(&s, pos),
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) => {
                return self.path(&e, pos);
            }
            ast::Expr::PathSearch(p) => {
                let name = p.content().map(|c| c.text().to_owned()).unwrap_or_default();
                let name = name
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned();
                let find = self.var(Symbol::intern("__findFile"), pos)?;
                let nix_path = self.var(Symbol::intern("__nixPath"), pos)?;
                Expr::Call {
                    f: find,
                    args: vec![nix_path, Rc::new(Expr::Const(Value::string(name)))].into(),
                    pos,
                }
            }
            ast::Expr::Ident(i) => return self.var(ident(&i), pos),
            ast::Expr::CurPos(_) => Expr::CurPos(pos),
            ast::Expr::List(l) => {
                let mut items = Vec::new();
                for i in l.items() {
                    items.push(self.expr(i)?);
                }
                Expr::List(items.into())
            }
            ast::Expr::Apply(a) => {
                let mut args = Vec::new();
                let mut f = ast::Expr::Apply(a);
                while let ast::Expr::Apply(a) = f {
                    args.push(a.argument());
                    f = match a.lambda() {
                        Some(f) => f,
                        None => return Err(error("syntax error", pos)),
                    };
                }
                let f = self.expr(f)?;
                let mut lowered = Vec::new();
                for a in args.into_iter().rev() {
                    lowered.push(self.opt(a, pos)?);
                }
                Expr::Call {
                    f,
                    args: lowered.into(),
                    pos,
                }
            }
            ast::Expr::Select(s) => {
                let e = self.opt(s.expr(), pos)?;
                let path = self.attrpath(s.attrpath())?;
                let default = match s.default_expr() {
                    Some(d) => Some(self.expr(d)?),
                    None => None,
                };
                Expr::Select {
                    e,
                    path,
                    default,
                    pos,
                }
            }
            ast::Expr::HasAttr(h) => {
                let e = self.opt(h.expr(), pos)?;
                let path = self.attrpath(h.attrpath())?;
                Expr::HasAttr { e, path }
            }
            ast::Expr::IfElse(i) => Expr::If {
                cond: self.opt(i.condition(), pos)?,
                then: self.opt(i.body(), pos)?,
                else_: self.opt(i.else_body(), pos)?,
                pos,
            },
            ast::Expr::Assert(a) => Expr::Assert {
                text: a
                    .condition()
                    .map(|c| super::show::show(&c, self.cx.dir))
                    .unwrap_or_default()
                    .into(),
                cond: self.opt(a.condition(), pos)?,
                body: self.opt(a.body(), pos)?,
                pos,
            },
            ast::Expr::With(w) => {
                let attrs = self.opt(w.namespace(), pos)?;
                self.scopes.push(Scope::With);
                let body = self.opt(w.body(), pos);
                self.scopes.pop();
                Expr::With { attrs, body: body? }
            }
            ast::Expr::UnaryOp(u) => {
                let e = self.opt(u.expr(), pos)?;
                match u.operator() {
                    Some(ast::UnaryOpKind::Invert) => Expr::Not { e, pos },
                    _ => Expr::Bin {
                        op: BinOp::Sub,
                        l: Rc::new(Expr::Const(Value::Int(0))),
                        r: e,
                        pos,
                    },
                }
            }
            ast::Expr::BinOp(b) => {
                let l = self.opt(b.lhs(), pos)?;
                let r = self.opt(b.rhs(), pos)?;
                use ast::BinOpKind as K;
                let op = match b.operator() {
                    Some(K::Concat) => BinOp::Concat,
                    Some(K::Update) => BinOp::Update,
                    Some(K::Add) => BinOp::Add,
                    Some(K::Sub) => BinOp::Sub,
                    Some(K::Mul) => BinOp::Mul,
                    Some(K::Div) => BinOp::Div,
                    Some(K::And) => BinOp::And,
                    Some(K::Equal) => BinOp::Eq,
                    Some(K::Implication) => BinOp::Impl,
                    Some(K::Less) => BinOp::Less,
                    Some(K::LessOrEq) => BinOp::LessEq,
                    Some(K::More) => BinOp::More,
                    Some(K::MoreOrEq) => BinOp::MoreEq,
                    Some(K::NotEqual) => BinOp::NotEq,
                    Some(K::Or) => BinOp::Or,
                    Some(K::PipeRight | K::PipeLeft) if !self.cx.pipes => {
                        return Err(error(
                            "experimental Nix feature 'pipe-operators' is disabled; add '--extra-experimental-features pipe-operators' to enable it",
                            pos,
                        ));
                    }
                    Some(K::PipeRight) => BinOp::PipeRight,
                    Some(K::PipeLeft) => BinOp::PipeLeft,
                    None => return Err(error("syntax error", pos)),
                };
                let opos = node(&b)
                    .children_with_tokens()
                    .filter_map(|c| c.into_token())
                    .find(|t| ast::BinOpKind::from_kind(t.kind()).is_some())
                    .map_or(pos, |t| {
                        PosIdx(self.cx.base + u32::from(t.text_range().start()))
                    });
                Expr::Bin {
                    op,
                    l,
                    r,
                    pos: opos,
                }
            }
            ast::Expr::Lambda(l) => return self.lambda(&l, None, pos),
            ast::Expr::LetIn(l) => {
                let attrs = self.collect(&l, true)?;
                let body = l.body();
                return self.let_(attrs, |me| me.opt(body, pos));
            }
            ast::Expr::LegacyLet(l) => {
                let attrs = self.collect(&l, false)?;
                let body = Symbol::intern("body");
                let set = self.attrs(attrs, true, pos)?;
                Expr::Select {
                    e: set,
                    path: vec![AttrName::Static(body)].into(),
                    default: None,
                    pos,
                }
            }
            ast::Expr::AttrSet(a) => {
                let rec = a.rec_token().is_some();
                let attrs = self.collect(&a, false)?;
                return self.attrs(attrs, rec, pos);
            }
            ast::Expr::Error(_) => return Err(error("syntax error", pos)),
        }))
    }

    fn opt(&mut self, e: Option<ast::Expr>, pos: PosIdx) -> R<Rc<Expr>> {
        match e {
            Some(e) => self.expr(e),
            None => Err(error("syntax error, unexpected end of file", pos)),
        }
    }

    fn literal(&self, l: &ast::Literal, pos: PosIdx) -> R<Expr> {
        Ok(match l.kind() {
            ast::LiteralKind::Integer(i) => match i.value() {
                Ok(n) => Expr::Const(Value::Int(n)),
                Err(_) => {
                    return Err(error(
                        format!("invalid integer '{}'", i.syntax().text()),
                        pos,
                    ));
                }
            },
            ast::LiteralKind::Float(f) => {
                let text = f.syntax().text();
                let v = text.parse::<f64>().or_else(|_| {
                    // `.5` and `1.` forms.
                    format!("0{text}").parse::<f64>()
                });
                match v {
                    Ok(v) => Expr::Const(Value::Float(v)),
                    Err(_) => {
                        return Err(error(format!("invalid float '{text}'"), pos));
                    }
                }
            }
            ast::LiteralKind::Uri(u) => {
                let text = u.syntax().text();
                let fatal = self.cx.lints.urls == Diagnose::Fatal;
                self.diagnose(
                    self.cx.lints.urls,
                    "lint-url-literals",
                    format!(
                        "URL literals are {}. Consider using a string literal \"{text}\" instead",
                        if fatal { "disallowed" } else { "discouraged" }
                    ),
                    pos,
                )?;
                Expr::Const(Value::string(text.to_owned()))
            }
        })
    }

    fn string(&mut self, s: &ast::Str, pos: PosIdx) -> R<Rc<Expr>> {
        let mut parts: Vec<Rc<Expr>> = Vec::new();
        let mut all_literal = true;
        let mut text = String::new();
        for p in s.normalized_parts() {
            match p {
                InterpolPart::Literal(l) => {
                    text.push_str(&l);
                    parts.push(Rc::new(Expr::Const(Value::string(lexer::literal_bytes(l)))));
                }
                InterpolPart::Interpolation(i) => {
                    all_literal = false;
                    let ipos = self.pos_of(node(&i));
                    parts.push(self.opt(i.expr(), ipos)?);
                }
            }
        }
        if all_literal {
            return Ok(Rc::new(Expr::Const(Value::string(lexer::literal_bytes(
                text,
            )))));
        }
        Ok(Rc::new(Expr::Interp {
            parts: parts.into(),
            path: false,
            pos,
        }))
    }

    fn path(&mut self, e: &ast::Expr, pos: PosIdx) -> R<Rc<Expr>> {
        let parts = match e {
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) => {
                path_parts(node(e)).ok_or_else(|| error("syntax error", pos))?
            }
            _ => Vec::new(),
        };
        let home = matches!(e, ast::Expr::PathHome(_));
        if let Some(InterpolPart::Literal(first)) = parts.first() {
            let literal = first.text();
            let lints = self.cx.lints;
            if home {
                self.diagnose(
                    lints.absolute_paths,
                    "lint-absolute-path-literals",
                    format!("home path literals are not portable. Consider replacing path literal '{literal}' by a string, relative path, or parameter"),
                    pos,
                )?;
            } else if literal.starts_with('/') {
                self.diagnose(
                    lints.absolute_paths,
                    "lint-absolute-path-literals",
                    format!("absolute path literals are not portable. Consider replacing path literal '{literal}' by a string, relative path, or parameter"),
                    pos,
                )?;
            } else if !literal.starts_with('.') {
                self.diagnose(
                    lints.short_paths,
                    "lint-short-path-literals",
                    format!("relative path literal '{literal}' should be prefixed with '.' for clarity: './{literal}'"),
                    pos,
                )?;
            }
        }
        let mut out: Vec<Rc<Expr>> = Vec::new();
        for (i, p) in parts.into_iter().enumerate() {
            match p {
                InterpolPart::Literal(l) => {
                    let mut t = l.text().to_owned();
                    if i == 0 && !home && !t.starts_with('/') {
                        t = format!("{}/{t}", self.cx.dir.trim_end_matches('/'));
                        if self.cx.dir == "/" {
                            t = format!("/{}", l.text());
                        }
                    }
                    out.push(Rc::new(Expr::Const(Value::string(t))));
                }
                InterpolPart::Interpolation(x) => {
                    let ipos = self.pos_of(node(&x));
                    out.push(self.opt(x.expr(), ipos)?);
                }
            }
        }
        if home {
            let first = match out.first().map(|e| &**e) {
                Some(Expr::Const(Value::Str(s))) => s.text().trim_start_matches('~').to_owned(),
                _ => String::new(),
            };
            if out.len() == 1 {
                return Ok(Rc::new(Expr::HomePath {
                    rest: first.into(),
                    pos,
                }));
            }
            out[0] = Rc::new(Expr::HomePath {
                rest: first.into(),
                pos,
            });
        }
        if out.len() == 1
            && let Expr::Const(Value::Str(s)) = &*out[0]
        {
            return Ok(Rc::new(Expr::Const(Value::Path(
                canonicalise(&s.text()).into(),
            ))));
        }
        Ok(Rc::new(Expr::Interp {
            parts: out.into(),
            path: true,
            pos,
        }))
    }

    /// A variable: lexical, global, or through the `with`s.
    fn var(&mut self, name: Symbol, pos: PosIdx) -> R<Rc<Expr>> {
        let mut withs = Vec::new();
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            let depth = depth as u32;
            match scope {
                Scope::With => withs.push(depth),
                Scope::Vars(v) => {
                    if let Some(slot) = v.iter().position(|s| *s == name) {
                        return Ok(Rc::new(Expr::Var {
                            depth,
                            slot: slot as u32,
                        }));
                    }
                }
            }
        }
        if let Some(v) = self.cx.globals.get(&name) {
            // A file imported with `scopedImport` sees its set before the globals.
            if !self.cx.scoped || withs.is_empty() {
                return Ok(Rc::new(Expr::Const(v.clone())));
            }
        }
        if withs.is_empty() {
            return Err(error(format!("undefined variable '{name}'"), pos));
        }
        Ok(Rc::new(Expr::WithVar {
            name,
            withs: withs.into(),
            pos,
        }))
    }

    fn attrpath(&mut self, p: Option<ast::Attrpath>) -> R<Box<[AttrName]>> {
        let mut out = Vec::new();
        if let Some(p) = p {
            for a in p.attrs() {
                out.push(self.attr_name(a)?);
            }
        }
        Ok(out.into())
    }

    fn attr_name(&mut self, a: ast::Attr) -> R<AttrName> {
        let pos = self.pos_of(node(&a));
        Ok(match static_name(&a) {
            Some(s) => AttrName::Static(s),
            None => AttrName::Dynamic(match a {
                ast::Attr::Dynamic(d) => self.opt(d.expr(), pos)?,
                ast::Attr::Str(s) => self.string(&s, pos)?,
                ast::Attr::Ident(i) => Rc::new(Expr::Const(Value::string(ident(&i).as_str()))),
            }),
        })
    }

    fn lambda(&mut self, l: &ast::Lambda, name: Option<Symbol>, pos: PosIdx) -> R<Rc<Expr>> {
        let (arg, formals) = match l.param() {
            Some(ast::Param::IdentParam(i)) => (i.ident().map(|i| ident(&i)), None),
            Some(ast::Param::Pattern(p)) => {
                let arg = p.pat_bind().and_then(|b| b.ident()).map(|i| ident(&i));
                let mut entries: Vec<(Symbol, Option<ast::Expr>, PosIdx)> = Vec::new();
                for e in p.pat_entries() {
                    let Some(i) = e.ident() else { continue };
                    let s = ident(&i);
                    let epos = self.pos_of(node(&i));
                    if entries.iter().any(|(n, _, _)| *n == s) || arg == Some(s) {
                        return Err(error(
                            format!("duplicate formal function argument '{s}'"),
                            epos,
                        ));
                    }
                    entries.push((s, e.default(), epos));
                }
                entries.sort_by_key(|(s, _, _)| *s);
                (arg, Some((entries, p.ellipsis_token().is_some())))
            }
            None => return Err(error("syntax error", pos)),
        };
        let mut vars: Vec<Symbol> = formals
            .as_ref()
            .map(|(e, _)| e.iter().map(|(s, _, _)| *s).collect())
            .unwrap_or_default();
        if let Some(a) = arg {
            vars.push(a);
        }
        self.scopes.push(Scope::Vars(vars));
        let result = (|| {
            let formals = match formals {
                Some((entries, ellipsis)) => {
                    let mut out = Vec::new();
                    for (name, default, pos) in entries {
                        let default = match default {
                            Some(d) => Some(self.expr(d)?),
                            None => None,
                        };
                        out.push(Formal { name, default, pos });
                    }
                    Some(Formals {
                        entries: out.into(),
                        ellipsis,
                    })
                }
                None => None,
            };
            let body = self.opt(l.body(), pos)?;
            Ok(Rc::new(Expr::Lambda(Rc::new(Lambda {
                name,
                arg,
                formals,
                body,
                pos,
            }))))
        })();
        self.scopes.pop();
        result
    }

    /// Collects a set's (or `let`'s) entries, merging attribute paths and set literals
    /// bound to one name, as Nix's parser does (`addAttr`).
    fn collect(&mut self, n: &impl HasEntry, is_let: bool) -> R<PAttrs> {
        let mut attrs = PAttrs {
            pos: self.pos_of(n.syntax()),
            ..Default::default()
        };
        for entry in n.entries() {
            match entry {
                ast::Entry::Inherit(i) => {
                    let from = match i.from() {
                        Some(f) => {
                            let fpos = self.pos_of(node(&f));
                            let Some(e) = f.expr() else {
                                return Err(error("syntax error", fpos));
                            };
                            attrs.froms.push(e);
                            Some(attrs.froms.len() - 1)
                        }
                        None => None,
                    };
                    for a in i.attrs() {
                        let apos = self.pos_of(node(&a));
                        let Some(s) = static_name(&a) else {
                            return Err(error("dynamic attributes not allowed in inherit", apos));
                        };
                        let v = match from {
                            Some(f) => PVal::InheritFrom(f, s, apos),
                            None => PVal::Inherit(s, apos),
                        };
                        if let Some(i) = attrs.find(s) {
                            return Err(already(s.as_str(), attrs.statics[i].2, apos));
                        }
                        attrs.statics.push((s, v, apos));
                    }
                }
                ast::Entry::AttrpathValue(av) => {
                    let path: Vec<ast::Attr> = av
                        .attrpath()
                        .map(|p| p.attrs().collect())
                        .unwrap_or_default();
                    let Some(value) = av.value() else {
                        return Err(error("syntax error", self.pos_of(node(&av))));
                    };
                    let value = self.pvalue(value)?;
                    // Every attribute a binding defines is positioned at its start, as in
                    // Nix's parser (`addAttr`): `a.b.c = 1;` defines `b` and `c` at `a`.
                    let bpos = path.first().map_or(PosIdx::NONE, |a| self.pos_of(node(a)));
                    self.add_attr(&mut attrs, &path, value, is_let, String::new(), bpos)?;
                }
            }
        }
        Ok(attrs)
    }

    /// A binding's value: a set literal is kept open, so later bindings of the same name
    /// can merge into it.
    fn pvalue(&mut self, value: ast::Expr) -> R<PVal> {
        let mut inner = value.clone();
        while let ast::Expr::Paren(p) = &inner {
            match p.expr() {
                Some(e) => inner = e,
                None => break,
            }
        }
        if let ast::Expr::AttrSet(set) = &inner {
            let mut sub = self.collect(set, false)?;
            sub.rec = set.rec_token().is_some();
            sub.pos = self.pos_of(node(set));
            return Ok(PVal::Nested(sub));
        }
        Ok(PVal::Expr(value))
    }

    fn add_attr(
        &mut self,
        attrs: &mut PAttrs,
        path: &[ast::Attr],
        value: PVal,
        is_let: bool,
        prefix: String,
        bpos: PosIdx,
    ) -> R<()> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(());
        };
        let apos = self.pos_of(node(first));
        let here = |s: &str| {
            if prefix.is_empty() {
                s.to_owned()
            } else {
                format!("{prefix}.{s}")
            }
        };
        match static_name(first) {
            Some(s) if rest.is_empty() => add_static(attrs, s, value, bpos, &here(s.as_str())),
            Some(s) => {
                let here = here(s.as_str());
                let i = match attrs.find(s) {
                    Some(i) => {
                        if !matches!(attrs.statics[i].1, PVal::Nested(_)) {
                            return Err(already(&here, attrs.statics[i].2, bpos));
                        }
                        i
                    }
                    None => {
                        attrs.statics.push((
                            s,
                            PVal::Nested(PAttrs {
                                pos: apos,
                                ..Default::default()
                            }),
                            bpos,
                        ));
                        attrs.statics.len() - 1
                    }
                };
                let PVal::Nested(sub) = &mut attrs.statics[i].1 else {
                    return Ok(());
                };
                self.add_attr(sub, rest, value, false, here, bpos)
            }
            None => {
                if is_let {
                    return Err(error("dynamic attributes not allowed in let", apos));
                }
                if rest.is_empty() {
                    attrs.dynamic.push((first.clone(), value, bpos));
                } else {
                    let mut sub = PAttrs {
                        pos: apos,
                        ..Default::default()
                    };
                    self.add_attr(&mut sub, rest, value, false, here("${…}"), bpos)?;
                    attrs.dynamic.push((first.clone(), PVal::Nested(sub), bpos));
                }
                Ok(())
            }
        }
    }

    /// Lowers collected entries as a set.
    fn attrs(&mut self, mut attrs: PAttrs, rec: bool, pos: PosIdx) -> R<Rc<Expr>> {
        attrs.statics.sort_by_key(|(s, _, _)| *s);
        let names: Vec<Symbol> = attrs.statics.iter().map(|(s, _, _)| *s).collect();
        if rec {
            self.scopes.push(Scope::Vars(names));
        }
        let result = (|| {
            let froms = self.froms(std::mem::take(&mut attrs.froms))?;
            let binds = self.binds(std::mem::take(&mut attrs.statics), &froms, rec)?;
            let mut dynamic = Vec::new();
            for (name, value, dpos) in std::mem::take(&mut attrs.dynamic) {
                let name = match self.attr_name(name)? {
                    AttrName::Static(s) => Rc::new(Expr::Const(Value::string(s.as_str()))),
                    AttrName::Dynamic(e) => e,
                };
                let value = self.pval(value, &froms, None)?;
                dynamic.push(DynAttr {
                    name,
                    value,
                    pos: dpos,
                });
            }
            Ok(Rc::new(Expr::Attrs(Rc::new(AttrsExpr {
                rec,
                binds,
                dynamic: dynamic.into(),
                pos,
            }))))
        })();
        if rec {
            self.scopes.pop();
        }
        result
    }

    /// Lowers a `let`: its bindings in a new scope, then the body.
    fn let_(
        &mut self,
        mut attrs: PAttrs,
        body: impl FnOnce(&mut Self) -> R<Rc<Expr>>,
    ) -> R<Rc<Expr>> {
        attrs.statics.sort_by_key(|(s, _, _)| *s);
        let names: Vec<Symbol> = attrs.statics.iter().map(|(s, _, _)| *s).collect();
        self.scopes.push(Scope::Vars(names));
        let result = (|| {
            let froms = self.froms(std::mem::take(&mut attrs.froms))?;
            let binds = self.binds(attrs.statics, &froms, true)?;
            let body = body(self)?;
            Ok(Rc::new(Expr::Let {
                binds: Rc::new(binds),
                body,
            }))
        })();
        self.scopes.pop();
        result
    }

    fn froms(&mut self, froms: Vec<ast::Expr>) -> R<Vec<Rc<Expr>>> {
        froms.into_iter().map(|e| self.expr(e)).collect()
    }

    fn binds(
        &mut self,
        statics: Vec<(Symbol, PVal, PosIdx)>,
        froms: &[Rc<Expr>],
        inner_scope: bool,
    ) -> R<Binds> {
        let mut out = Vec::with_capacity(statics.len());
        for (name, value, pos) in statics {
            let outer = matches!(value, PVal::Inherit(..)) && inner_scope;
            let value = if outer {
                // `inherit x;` reads `x` around the `let`/`rec`.
                let saved = self.scopes.pop();
                let v = self.pval(value, froms, Some(name));
                if let Some(s) = saved {
                    self.scopes.push(s);
                }
                v?
            } else {
                self.pval(value, froms, Some(name))?
            };
            out.push(Bind {
                name,
                value,
                outer,
                pos,
            });
        }
        Ok(Binds { binds: out.into() })
    }

    fn pval(&mut self, v: PVal, froms: &[Rc<Expr>], name: Option<Symbol>) -> R<Rc<Expr>> {
        match v {
            PVal::Expr(ast::Expr::Lambda(l)) => {
                let pos = self.pos_of(node(&l));
                self.lambda(&l, name, pos)
            }
            PVal::Expr(e) => self.expr(e),
            PVal::Inherit(s, pos) => self.var(s, pos),
            PVal::InheritFrom(i, s, pos) => Ok(Rc::new(Expr::Select {
                e: froms[i].clone(),
                path: vec![AttrName::Static(s)].into(),
                default: None,
                pos,
            })),
            PVal::Nested(p) => {
                let (pos, rec) = (p.pos, p.rec);
                self.attrs(p, rec, pos)
            }
        }
    }
}

/// Adds `name = value` to `attrs`; a name bound twice is an error unless both values are set
/// literals, which merge (the first one's `rec` wins, as in Nix).
fn add_static(attrs: &mut PAttrs, name: Symbol, value: PVal, pos: PosIdx, shown: &str) -> R<()> {
    let Some(i) = attrs.find(name) else {
        attrs.statics.push((name, value, pos));
        return Ok(());
    };
    let (PVal::Nested(existing), PVal::Nested(new)) = (&mut attrs.statics[i].1, value) else {
        return Err(already(shown, attrs.statics[i].2, pos));
    };
    let offset = existing.froms.len();
    for (s, v, p) in new.statics {
        let v = match v {
            PVal::InheritFrom(f, s, p) => PVal::InheritFrom(f + offset, s, p),
            v => v,
        };
        add_static(existing, s, v, p, &format!("{shown}.{s}"))?;
    }
    existing.dynamic.extend(new.dynamic);
    existing.froms.extend(new.froms);
    Ok(())
}

fn already(name: &str, first: PosIdx, pos: PosIdx) -> Box<EvalError> {
    let at = super::pos::resolve(first)
        .map(|r| r.location())
        .unwrap_or_default();
    error(format!("attribute '{name}' already defined at {at}"), pos)
}

fn ident(i: &ast::Ident) -> Symbol {
    Symbol::intern(&node(i).text().to_string())
}

/// The name of an attribute known without evaluating: an identifier or a string without
/// interpolation.
fn static_name(a: &ast::Attr) -> Option<Symbol> {
    static_name_text(a).map(|t| Symbol::intern(&t))
}

/// The text of `static_name` (also used to show code in messages).
pub fn static_name_text(a: &ast::Attr) -> Option<String> {
    match a {
        ast::Attr::Ident(i) => Some(node(i).text().to_string()),
        ast::Attr::Str(s) => {
            let mut text = String::new();
            for p in s.normalized_parts() {
                match p {
                    InterpolPart::Literal(l) => text.push_str(&l),
                    InterpolPart::Interpolation(_) => return None,
                }
            }
            Some(text)
        }
        // `${"a"}` is static.
        ast::Attr::Dynamic(d) => match d.expr() {
            Some(ast::Expr::Str(s)) => static_name_text(&ast::Attr::Str(s)),
            _ => None,
        },
    }
}

/// The literal pieces and interpolations of a path node. rnix's own `parts` asserts that every
/// token is a path piece, which a malformed path can break (fuzzing found
/// `${1 /${ s1 }}`-like inputs that rnix parses without an error): such a path is a syntax
/// error here, as Nix rejects the input.
fn path_parts(path: &SyntaxNode) -> Option<Vec<InterpolPart<ast::PathContent>>> {
    use rnix::NodeOrToken;
    path.children_with_tokens()
        .map(|child| match child {
            NodeOrToken::Token(t) => ast::PathContent::cast(t).map(InterpolPart::Literal),
            NodeOrToken::Node(n) => {
                <ast::Interpol as rowan::ast::AstNode>::cast(n).map(InterpolPart::Interpolation)
            }
        })
        .collect()
}
