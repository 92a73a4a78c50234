//! The literal reader: what Nix's evaluator holds for an expression of `flake.nix` before
//! anything is computed.
//!
//! Nix's parser merges attribute paths (`inputs.a.url = …;` next to `inputs = { b = …; };`) and
//! rejects duplicates; its evaluator then stores constants (strings, integers, floats, paths,
//! `true`/`false`/`null`, the empty list) as values and everything else as thunks. Only
//! "trivial" thunks, attribute-set literals without dynamic keys, lists and lambdas, are
//! forced by the flake reader; other thunks stay thunks (spec B1).

use std::collections::HashMap;

use rnix::SyntaxNode;
use rnix::ast::{self, AstToken};

use super::Pos;
use super::strings;
use super::syntax::{Source, cast, node, unparen};

/// A value of `flake.nix`, as far as a reader without an evaluator can know it.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Str(String),
    Int(i64),
    Float,
    Bool(bool),
    Null,
    /// A path literal as written; `absolute` for `/…`.
    Path {
        text: String,
        absolute: bool,
    },
    List(Vec<Value>),
    Set(Set),
    /// A lambda; its formal arguments if it takes an attribute set pattern.
    Lambda(Option<Vec<(String, Pos)>>),
    /// Anything that needs evaluation.
    Thunk,
}

/// An attribute-set literal, attributes in the order they were first written.
#[derive(Debug, Clone, Default)]
pub(super) struct Set {
    pub attrs: Vec<(String, Binding)>,
    /// Where each name is in `attrs`.
    index: HashMap<String, usize>,
    /// The position of the first dynamic attribute (`${e} = …`), which makes the set a
    /// computation.
    pub dynamic: Option<Pos>,
}

/// An attribute: where it was (first) defined, and its value.
#[derive(Debug, Clone)]
pub(super) struct Binding {
    /// The start of the attribute path that defined it (Nix's attribute position).
    pub pos: Pos,
    pub value: Value,
}

impl Set {
    /// The attribute `name`.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        self.index.get(name).map(|&i| &self.attrs[i].1)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Binding> {
        let i = *self.index.get(name)?;
        Some(&mut self.attrs[i].1)
    }

    fn push(&mut self, name: String, b: Binding) {
        self.index.insert(name.clone(), self.attrs.len());
        self.attrs.push((name, b));
    }
}

impl Value {
    /// The type Nix shows after forcing a trivial thunk (`expected a set but got …`).
    pub fn forced_type(&self) -> &'static str {
        match self {
            Value::List(_) => "a list",
            Value::Set(s) if s.dynamic.is_none() => "a set",
            Value::Lambda(_) => "a function",
            v => v.unforced_type(),
        }
    }

    /// The type Nix shows for a value it has not forced: every literal that is not a constant
    /// is a thunk.
    pub fn unforced_type(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float => "a float",
            Value::Bool(_) => "a Boolean",
            Value::Null => "null",
            Value::Path { .. } => "a path",
            Value::List(items) if items.is_empty() => "a list",
            _ => "a thunk",
        }
    }
}

/// A duplicate attribute (or another error of Nix's parser found while building a set), with
/// the offset at which Nix's parser would find it.
#[derive(Debug)]
pub(super) struct ParseFailure {
    /// The end of the binding that triggered it (bison reduces a binding at its end).
    pub key: usize,
    pub msg: String,
}

/// One element of an attribute path.
enum Key {
    Static(String),
    Dynamic,
}

/// Builds values from the syntax tree.
pub(super) struct Builder<'a> {
    pub src: &'a Source<'a>,
}

impl Builder<'_> {
    /// The value of an expression.
    pub fn value(&self, e: Option<ast::Expr>) -> Result<Value, ParseFailure> {
        let Some(e) = unparen(e) else {
            return Ok(Value::Thunk);
        };
        Ok(match e {
            ast::Expr::Literal(l) => match l.kind() {
                ast::LiteralKind::Integer(i) => i.value().map_or(Value::Thunk, Value::Int),
                ast::LiteralKind::Float(_) => Value::Float,
                ast::LiteralKind::Uri(u) => Value::Str(u.syntax().text().to_owned()),
            },
            ast::Expr::Str(s) => strings::literal(&s).map_or(Value::Thunk, Value::Str),
            ast::Expr::PathAbs(p) => path(node(&p), true),
            ast::Expr::PathRel(p) => path(node(&p), false),
            ast::Expr::Ident(i) => match node(&i).text().to_string().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => Value::Thunk,
            },
            ast::Expr::AttrSet(s) => Value::Set(self.entries(node(&s))?),
            ast::Expr::List(l) => Value::List(
                l.items()
                    .map(|i| self.value(Some(i)))
                    .collect::<Result<_, _>>()?,
            ),
            ast::Expr::Lambda(l) => Value::Lambda(match l.param() {
                Some(ast::Param::Pattern(p)) => Some(
                    p.pat_entries()
                        .filter_map(|e| e.ident())
                        .map(|i| {
                            let pos = self.src.pos(node(&i).text_range());
                            (node(&i).text().to_string(), pos)
                        })
                        .collect(),
                ),
                _ => None,
            }),
            _ => Value::Thunk,
        })
    }

    /// The attributes of an attribute set (or `let`) node, merged as Nix's parser merges them.
    pub fn entries(&self, set_node: &SyntaxNode) -> Result<Set, ParseFailure> {
        let mut set = Set::default();
        for child in set_node.children() {
            let end = usize::from(child.text_range().end());
            if let Some(b) = cast::<ast::AttrpathValue>(child.clone()) {
                let Some(path) = b.attrpath() else { continue };
                let pos = self.src.pos(node(&path).text_range());
                let keys: Vec<Key> = path.attrs().map(|a| key(&a)).collect();
                let value = self.value(b.value())?;
                self.add(&mut set, &keys, pos, value, end)?;
            } else if let Some(inherit) = cast::<ast::Inherit>(child) {
                let from = inherit.from().is_some();
                for attr in inherit.attrs() {
                    let pos = self.src.pos(node(&attr).text_range());
                    let Key::Static(name) = key(&attr) else {
                        return Err(ParseFailure {
                            key: end,
                            msg: format!(
                                "dynamic attributes not allowed in inherit, at {}",
                                self.src.at(pos)
                            ),
                        });
                    };
                    let value = match name.as_str() {
                        _ if from => Value::Thunk,
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => Value::Thunk,
                    };
                    if let Some(prev) = set.get(&name) {
                        return Err(self.dup(&name, prev.pos, pos, end));
                    }
                    set.push(name, Binding { pos, value });
                }
            }
        }
        Ok(set)
    }

    /// Adds `path = value`, creating and descending into nested sets (Nix's `addAttr`).
    fn add(
        &self,
        set: &mut Set,
        path: &[Key],
        pos: Pos,
        value: Value,
        end: usize,
    ) -> Result<(), ParseFailure> {
        let mut cur = set;
        let mut shown: Vec<String> = Vec::new();
        let Some((last, init)) = path.split_last() else {
            return Ok(());
        };
        for k in init {
            let Key::Static(name) = k else {
                cur.dynamic.get_or_insert(pos);
                return Ok(());
            };
            shown.push(name.clone());
            if cur.get(name).is_none() {
                cur.push(
                    name.clone(),
                    Binding {
                        pos,
                        value: Value::Set(Set::default()),
                    },
                );
            }
            let Some(b) = cur.get_mut(name) else {
                return Ok(());
            };
            let prev = b.pos;
            cur = match &mut b.value {
                Value::Set(s) => s,
                _ => return Err(self.dup(&shown.join("."), prev, pos, end)),
            };
        }
        match last {
            Key::Static(name) => {
                shown.push(name.clone());
                self.insert(cur, name, Binding { pos, value }, &mut shown, end)
            }
            Key::Dynamic => {
                cur.dynamic.get_or_insert(pos);
                Ok(())
            }
        }
    }

    /// Inserts an attribute; two set literals merge, anything else is a duplicate.
    fn insert(
        &self,
        set: &mut Set,
        name: &str,
        new: Binding,
        shown: &mut Vec<String>,
        end: usize,
    ) -> Result<(), ParseFailure> {
        let Some(old) = set.get_mut(name) else {
            set.push(name.to_owned(), new);
            return Ok(());
        };
        match (&mut old.value, new.value) {
            (Value::Set(old_set), Value::Set(new_set)) => {
                for (n, b) in new_set.attrs {
                    shown.push(n.clone());
                    self.insert(old_set, &n, b, shown, end)?;
                    shown.pop();
                }
                if old_set.dynamic.is_none() {
                    old_set.dynamic = new_set.dynamic;
                }
                Ok(())
            }
            _ => Err(self.dup(&shown.join("."), old.pos, new.pos, end)),
        }
    }

    fn dup(&self, path: &str, prev: Pos, pos: Pos, end: usize) -> ParseFailure {
        ParseFailure {
            key: end,
            msg: format!(
                "attribute '{path}' already defined at {}, at {}",
                self.src.at(prev),
                self.src.at(pos)
            ),
        }
    }
}

/// A path literal without interpolation; with interpolation it is a concatenation (a thunk).
fn path(node: &SyntaxNode, absolute: bool) -> Value {
    if node.children().next().is_some() {
        return Value::Thunk;
    }
    Value::Path {
        text: node.text().to_string(),
        absolute,
    }
}

/// An attribute name: an identifier, or a string (also `${"…"}`) that is a plain literal.
fn key(attr: &ast::Attr) -> Key {
    let s = match attr {
        ast::Attr::Ident(i) => return Key::Static(node(i).text().to_string()),
        ast::Attr::Str(s) => Some(s.clone()),
        ast::Attr::Dynamic(d) => match unparen(d.expr()) {
            Some(ast::Expr::Str(s)) => Some(s),
            _ => None,
        },
    };
    match s.as_ref().and_then(strings::literal) {
        Some(s) => Key::Static(s),
        None => Key::Dynamic,
    }
}
