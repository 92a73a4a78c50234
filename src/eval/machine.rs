//! The evaluator (Nix's `EvalState`, `eval.cc`): evaluating lowered expressions to weak head
//! normal form, forcing thunks (with blackholing), calling functions and primops, and the
//! value checks every builtin uses. Recursion grows the stack on the heap (`stacker`) and
//! function calls count against `max-call-depth`, so no input reaches a native overflow.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::builtins;
use super::context::Context;
use super::env::Env;
use super::error::{EvalError, Kind, R, err, err_kind};
use super::io::Io;
use super::ir::{AttrName, AttrsExpr, BinOp, Binds, Expr, Lambda};
use super::pos::PosIdx;
use super::symbol::{Symbol, known};
use super::value::{Attr, Attrs, Closure, NixStr, PrimOpApp, Thunk, ThunkState, Value};

/// How the evaluator behaves (settings and flags).
#[derive(Clone, Debug)]
pub struct Options {
    /// Pure evaluation: no `currentTime`, `getEnv`, … (flakes, unless `--impure`).
    pub pure: bool,
    /// `max-call-depth`.
    pub max_call_depth: usize,
    /// The search path (`-I`, `NIX_PATH`, `nix-path`), in order: `prefix=path` or `path`.
    pub nix_path: Vec<String>,
    /// `builtins.currentSystem`.
    pub system: String,
    /// `--read-only`: compute store paths, write nothing.
    pub read_only: bool,
    /// Experimental features enabled.
    pub features: Vec<String>,
    /// `show-trace`: errors are rendered with their frames.
    pub show_trace: bool,
    /// The parser's lint settings.
    pub lints: super::lower::Lints,
    /// `abort-on-warn`: `builtins.warn` fails (uncatchably) after its warning.
    pub abort_on_warn: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pure: false,
            max_call_depth: 10000,
            nix_path: Vec::new(),
            system: "x86_64-linux".into(),
            read_only: false,
            features: Vec::new(),
            show_trace: false,
            lints: super::lower::Lints::default(),
            abort_on_warn: false,
        }
    }
}

/// The evaluator's state.
pub struct Machine {
    /// The world.
    pub io: Rc<dyn Io>,
    /// Settings and flags.
    pub opts: Options,
    /// The names every file sees (builtins, `true`, …).
    pub globals: Rc<HashMap<Symbol, Value>>,
    /// The `builtins` set.
    pub builtins: Value,
    depth: usize,
    /// Nested `eval`s, for checking the native stack at every few levels.
    nesting: usize,
    /// Work left before evaluation fails ([`Machine::charge`]): unbounded (`u64::MAX`) unless
    /// set; fuzzing (`crate::fuzzing::nix_eval`) sets it so that every input ends quickly
    /// and in bounded memory. Nix has no such limit.
    pub fuel: u64,
    /// Files imported so far, by path.
    pub imports: HashMap<Rc<str>, Value>,
    /// Derivations instantiated so far: their hashes as inputs of others.
    pub drv_hashes: crate::store::derivation::HashCache,
    /// Derivations instantiated so far, by `.drv` path: what `drvPath` contexts need of them.
    pub drvs: HashMap<String, Rc<DrvRefs>>,
    /// Messages of `trace`/`warn`, for the caller to show (in order).
    pub messages: Vec<String>,
    /// Compiled regular expressions of `match` and `split`, by pattern.
    pub regexes: builtins::RegexCache,
}

/// What a `drvPath` context needs of a derivation instantiated earlier: its output names and
/// the store paths it refers to (its input derivations, then its input sources). Only these
/// are kept, not the whole derivation: a chain of 2,000 derivations kept 2,000 of them.
pub struct DrvRefs {
    /// The output names.
    pub outputs: Box<[String]>,
    /// The input derivations.
    pub input_drvs: Box<[crate::store::path::StorePath]>,
    /// The input sources.
    pub input_srcs: Box<[crate::store::path::StorePath]>,
}

impl DrvRefs {
    /// The parts of `drv` a `drvPath` context needs.
    pub fn of(drv: &crate::store::derivation::Derivation) -> DrvRefs {
        DrvRefs {
            outputs: drv.outputs.keys().cloned().collect(),
            input_drvs: drv.input_drvs.keys().cloned().collect(),
            input_srcs: drv.input_srcs.iter().cloned().collect(),
        }
    }
}

/// What a `with` lookup finds out.
enum Found {
    Value(Value),
    Missing,
}

impl Machine {
    /// An evaluator over `io`.
    pub fn new(io: Rc<dyn Io>, opts: Options) -> Machine {
        let (globals, builtins) = builtins::globals(&opts, io.store_dir());
        let mut m = Machine {
            io,
            opts,
            globals: Rc::new(globals),
            builtins,
            depth: 0,
            nesting: 0,
            fuel: u64::MAX,
            imports: HashMap::new(),
            drv_hashes: crate::store::derivation::HashCache::new(),
            drvs: HashMap::new(),
            messages: Vec::new(),
            regexes: Default::default(),
        };
        builtins::prelude::install(&mut m);
        m
    }

    /// Evaluates `e` in `env` to weak head normal form.
    pub fn eval(&mut self, e: &Rc<Expr>, env: &Rc<Env>) -> R<Value> {
        self.charge(1)?;
        // The stack is checked at every 4th level of nesting only (the check was ~5% of
        // the time): the frames of four levels are a few KiB, far inside the red zone.
        self.nesting = self.nesting.wrapping_add(1);
        let r = if self.nesting.is_multiple_of(4) {
            stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || self.eval_inner(e, env))
        } else {
            self.eval_inner(e, env)
        };
        self.nesting = self.nesting.wrapping_sub(1);
        r
    }

    /// A value for `e` in `env` that is evaluated only when needed.
    pub fn delay(&self, e: &Rc<Expr>, env: &Rc<Env>) -> Value {
        match &**e {
            Expr::Const(v) => v.clone(),
            Expr::Var { depth, slot } => env.at(*depth).slots[*slot as usize].clone(),
            Expr::Lambda(l) => Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            })),
            _ => Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Pending(
                e.clone(),
                env.clone(),
            ))))),
        }
    }

    /// One evaluation step. Its frame is on the native stack once per level of nesting, so
    /// everything but the smallest cases is in functions that are never inlined here.
    fn eval_inner(&mut self, e: &Rc<Expr>, env: &Rc<Env>) -> R<Value> {
        match &**e {
            Expr::Const(v) => self.force(v),
            Expr::Var { depth, slot } => {
                // Forced in place: no reference count taken on the slot's thunk.
                self.force(&env.at(*depth).slots[*slot as usize])
            }
            Expr::WithVar { name, withs, pos } => match self.with_lookup(*name, withs, env)? {
                Found::Value(v) => Ok(v),
                Found::Missing => Err(undefined_variable(*name, *pos)),
            },
            Expr::Select {
                e,
                path,
                default,
                pos,
            } => self.select(e, path, default.as_ref(), *pos, env),
            Expr::HasAttr { e, path } => self.has_attr(e, path, env),
            Expr::Attrs(a) => self.attrs(a, env),
            Expr::List(items) => Ok(Value::list(
                items.iter().map(|i| self.delay(i, env)).collect(),
            )),
            Expr::Lambda(l) => Ok(Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            }))),
            Expr::Call { f, args, pos } => {
                let mut fv = self.eval(f, env)?;
                for a in args.iter() {
                    let av = self.delay(a, env);
                    fv = self.call(fv, av, *pos)?;
                }
                Ok(fv)
            }
            Expr::Let { binds, body } => {
                let env2 = self.bind_env(binds, env);
                self.eval(body, &env2)
            }
            Expr::With { attrs, body } => {
                let env2 = Env::one(Some(env.clone()), self.delay(attrs, env));
                self.eval(body, &env2)
            }
            Expr::If {
                cond,
                then,
                else_,
                pos,
            } => match self.eval(cond, env)? {
                Value::Bool(true) => self.eval(then, env),
                Value::Bool(false) => self.eval(else_, env),
                other => Err(cond_not_bool(&other, *pos)),
            },
            Expr::Assert {
                cond,
                body,
                text,
                pos,
            } => self.assert(cond, body, text, *pos, env),
            Expr::Bin { op, l, r, pos } => self.bin(*op, l, r, *pos, env),
            Expr::Not { e, pos } => match self.eval(e, env)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                other => Err(at(type_error_of::<()>("a Boolean", &other), *pos)),
            },
            Expr::Interp { parts, path, pos } => self.interp(parts, *path, *pos, env),
            Expr::HomePath { rest, pos } => self.home_path(rest, *pos),
            Expr::CurPos(pos) => Ok(self.pos_attrs(*pos)),
        }
    }

    /// `e ? a.b`.
    #[inline(never)]
    fn has_attr(&mut self, e: &Rc<Expr>, path: &[AttrName], env: &Rc<Env>) -> R<Value> {
        // As Nix: each set on the path is forced before its name is computed; the
        // last attribute's value is never forced (`x ? a` inside `x.a` is fine).
        let mut v = self.eval(e, env)?;
        for (i, name) in path.iter().enumerate() {
            if i > 0 {
                v = self.force(&v)?;
            }
            let Value::Attrs(a) = &v else {
                return Ok(Value::Bool(false));
            };
            let a = a.clone();
            let name = match self.attr_name(name, env)? {
                Some(n) => n,
                None => return Ok(Value::Bool(false)),
            };
            match a.get(name) {
                Some(attr) => v = attr.value.clone(),
                None => return Ok(Value::Bool(false)),
            }
        }
        Ok(Value::Bool(true))
    }

    /// `assert cond; body`; out of `eval_inner` so that its error paths do not grow the
    /// frame every evaluation step keeps on the stack.
    #[inline(never)]
    fn assert(
        &mut self,
        cond: &Rc<Expr>,
        body: &Rc<Expr>,
        text: &str,
        pos: PosIdx,
        env: &Rc<Env>,
    ) -> R<Value> {
        let c = self.eval(cond, env)?;
        match c {
            Value::Bool(true) => self.eval(body, env),
            Value::Bool(false) => {
                if let Expr::Bin {
                    op: BinOp::Eq,
                    l,
                    r,
                    pos: eq_pos,
                } = &**cond
                {
                    let a = self.eval(l, env)?;
                    let b = self.eval(r, env)?;
                    self.assert_eq_values(&a, &b, *eq_pos).map_err(|e| {
                        e.frame(
                            format!("while evaluating the condition of the assertion '{text}'"),
                            pos,
                        )
                    })?;
                }
                Err(at(
                    err_kind::<()>(Kind::Assert, format!("assertion '{text}' failed")),
                    pos,
                ))
            }
            other => Err(at(
                err::<()>(format!(
                    "expected a Boolean but found {}: {}",
                    other.show_type(),
                    super::print::brief(&other)
                )),
                pos,
            )
            .frame("in the condition of the assert statement", pos)),
        }
    }

    /// `~/…`.
    #[inline(never)]
    fn home_path(&mut self, rest: &str, pos: PosIdx) -> R<Value> {
        if self.opts.pure {
            return Err(at(
                err::<()>(format!(
                    "the path '~{rest}' can not be resolved in pure mode"
                )),
                pos,
            ));
        }
        let home = self.io.home().unwrap_or_default();
        Ok(Value::Path(
            super::paths::canonicalise(&format!("{home}/{rest}")).into(),
        ))
    }

    /// `{ file; line; column; }` of a position (null when there is none).
    pub fn pos_attrs(&self, pos: PosIdx) -> Value {
        let Some(r) = super::pos::resolve(pos) else {
            return Value::Null;
        };
        let k = known();
        let file = match &r.origin {
            super::pos::Origin::File(p) => Value::string(&**p),
            super::pos::Origin::String => Value::string("«string»"),
            super::pos::Origin::Internal(n) => Value::string(format!("«{n}»")),
        };
        Value::attrs(vec![
            Attr {
                name: k.file,
                value: file,
                pos: PosIdx::NONE,
            },
            Attr {
                name: k.line,
                value: Value::Int(i64::from(r.pos.line)),
                pos: PosIdx::NONE,
            },
            Attr {
                name: k.column,
                value: Value::Int(i64::from(r.pos.column)),
                pos: PosIdx::NONE,
            },
        ])
    }

    #[inline(never)]
    fn with_lookup(&mut self, name: Symbol, withs: &[u32], env: &Rc<Env>) -> R<Found> {
        for d in withs {
            let set = self.force(&env.at(*d).slots[0])?;
            let Value::Attrs(a) = &set else {
                return self.type_error("a set", &set);
            };
            if let Some(attr) = a.get(name) {
                return Ok(Found::Value(self.force(&attr.value)?));
            }
        }
        Ok(Found::Missing)
    }

    fn attr_name(&mut self, n: &AttrName, env: &Rc<Env>) -> R<Option<Symbol>> {
        match n {
            AttrName::Static(s) => Ok(Some(*s)),
            AttrName::Dynamic(e) => {
                let v = self.eval(e, env)?;
                match v {
                    Value::Str(s) => Ok(Some(Symbol::intern(&s.text()))),
                    Value::Null => Ok(None),
                    other => self.type_error("a string", &other),
                }
            }
        }
    }

    #[inline(never)]
    fn select(
        &mut self,
        e: &Rc<Expr>,
        path: &[AttrName],
        default: Option<&Rc<Expr>>,
        pos: PosIdx,
        env: &Rc<Env>,
    ) -> R<Value> {
        let mut v = self.eval(e, env)?;
        for name in path {
            let name = match self.attr_name(name, env)? {
                Some(n) => n,
                None => {
                    return Err(at(
                        err::<()>("value is null while a string was expected"),
                        pos,
                    ));
                }
            };
            // The attribute is forced where it is: no reference count taken on it.
            let next = match &v {
                Value::Attrs(a) => match a.get(name) {
                    Some(attr) => self.force(&attr.value)?,
                    None => {
                        if let Some(d) = default {
                            return self.eval(d, env);
                        }
                        return Err(at(err::<()>(missing_attr(name, a)), pos));
                    }
                },
                other => {
                    if let Some(d) = default {
                        return self.eval(d, env);
                    }
                    return Err(select_from_non_set(other, name, pos));
                }
            };
            v = next;
        }
        Ok(v)
    }

    #[inline(never)]
    fn bind_env(&mut self, binds: &Binds, env: &Rc<Env>) -> Rc<Env> {
        let mut slots = Vec::with_capacity(binds.binds.len());
        let mut pending = Vec::new();
        // `__overrides` replaces variables in place: every one must be a thunk.
        let overridable = binds.binds.iter().any(|b| b.name == known().overrides);
        for (i, b) in binds.binds.iter().enumerate() {
            if b.outer && !overridable {
                slots.push(self.delay(&b.value, env));
            } else if b.outer {
                let v = self.delay(&b.value, env);
                slots.push(Value::Thunk(Rc::new(Thunk(RefCell::new(
                    ThunkState::Apply(Value::PrimOp(builtins::identity()), v),
                )))));
            } else {
                match &*b.value {
                    Expr::Const(v) if !overridable => slots.push(v.clone()),
                    _ => {
                        let t = Rc::new(Thunk(RefCell::new(ThunkState::Blank)));
                        slots.push(Value::Thunk(t.clone()));
                        pending.push((i, t));
                    }
                }
            }
        }
        let env2 = Env::new(Some(env.clone()), slots);
        for (i, t) in pending {
            let e = &binds.binds[i].value;
            let v = match &**e {
                Expr::Lambda(l) => ThunkState::Done(Value::Lambda(Rc::new(Closure {
                    lambda: l.clone(),
                    env: env2.clone(),
                }))),
                _ => ThunkState::Pending(e.clone(), env2.clone()),
            };
            *t.0.borrow_mut() = v;
        }
        env2
    }

    #[inline(never)]
    fn attrs(&mut self, a: &AttrsExpr, env: &Rc<Env>) -> R<Value> {
        let (inner, mut entries) = if a.rec {
            let env2 = self.bind_env(&a.binds, env);
            let entries: Vec<Attr> = a
                .binds
                .binds
                .iter()
                .zip(env2.slots.iter())
                .map(|(b, v)| Attr {
                    name: b.name,
                    value: v.clone(),
                    pos: b.pos,
                })
                .collect();
            (env2, entries)
        } else {
            let entries = a
                .binds
                .binds
                .iter()
                .map(|b| Attr {
                    name: b.name,
                    value: self.delay(&b.value, env),
                    pos: b.pos,
                })
                .collect();
            (env.clone(), entries)
        };
        if a.rec
            && let Some(i) = entries.iter().position(|e| e.name == known().overrides)
        {
            let ov = entries[i].value.clone();
            let ov = self.force(&ov)?;
            let Value::Attrs(ov) = ov else {
                return self.type_error("a set", &ov);
            };
            // `entries` indexes match `inner.slots` only until a new
            // name is added, so overrides of existing names go first.
            let mut added = Vec::new();
            for o in &ov.entries {
                if let Ok(j) = entries.binary_search_by_key(&o.name, |e| e.name) {
                    if let Value::Thunk(t) = &inner.slots[j] {
                        *t.0.borrow_mut() =
                            ThunkState::Apply(Value::PrimOp(builtins::identity()), o.value.clone());
                    }
                    entries[j].value = o.value.clone();
                } else {
                    added.push(o.clone());
                }
            }
            if !added.is_empty() {
                entries.extend(added);
                entries.sort_by_key(|e| e.name);
            }
        }
        if a.dynamic.is_empty() {
            return Ok(Value::Attrs(Rc::new(Attrs { entries })));
        }
        for d in a.dynamic.iter() {
            let name = self.eval(&d.name, &inner)?;
            let name = match name {
                Value::Null => continue,
                Value::Str(s) => Symbol::intern(&s.text()),
                other => {
                    return Err(at(self.type_error::<()>("a string", &other), d.pos));
                }
            };
            if let Some(existing) = entries.iter().find(|e| e.name == name) {
                let first = super::pos::resolve(existing.pos)
                    .map(|r| r.location())
                    .unwrap_or_default();
                return Err(at(
                    err::<()>(format!(
                        "dynamic attribute '{name}' already defined at {first}"
                    )),
                    d.pos,
                ));
            }
            let value = self.delay(&d.value, &inner);
            let i = entries.partition_point(|e| e.name < name);
            entries.insert(
                i,
                Attr {
                    name,
                    value,
                    pos: d.pos,
                },
            );
        }
        Ok(Value::Attrs(Rc::new(Attrs { entries })))
    }

    /// Forces `v` to weak head normal form.
    pub fn force(&mut self, v: &Value) -> R<Value> {
        self.charge(1)?;
        match v {
            Value::Thunk(t) => self.force_thunk(t),
            v => Ok(v.clone()),
        }
    }

    fn force_thunk(&mut self, t: &Rc<Thunk>) -> R<Value> {
        if let ThunkState::Done(v) = &*t.0.borrow() {
            return Ok(v.clone());
        }
        let state = std::mem::replace(&mut *t.0.borrow_mut(), ThunkState::Blackhole);
        let result = match &state {
            ThunkState::Pending(e, env) => self.eval(e, env),
            ThunkState::Apply(f, a) => self.call(f.clone(), a.clone(), PosIdx::NONE),
            ThunkState::Native(f) => {
                let f = f.clone();
                stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || f(self))
            }
            ThunkState::Blackhole => {
                return err_kind(Kind::InfiniteRecursion, "infinite recursion encountered");
            }
            ThunkState::Blank => return err("internal error: a variable read before it was bound"),
            ThunkState::Done(_) => unreachable_done(),
        };
        match result {
            Ok(v) => {
                // A thunk whose value is another thunk's value: keep the value itself.
                *t.0.borrow_mut() = ThunkState::Done(v.clone());
                Ok(v)
            }
            Err(e) => {
                *t.0.borrow_mut() = state;
                Err(e)
            }
        }
    }

    /// Applies `f` to `a` and the result to `b`, without building the partial application
    /// when `f` is a two-argument primop.
    pub fn call2(&mut self, f: &Value, a: Value, b: Value, pos: PosIdx) -> R<Value> {
        if let Value::PrimOp(op) = f
            && op.arity == 2
        {
            return self.call_primop(op, &[a, b], pos);
        }
        // `a: b: body` (`foldl'`'s usual function): the closure of `b: body` would be made
        // only to be called at once; the environments are built directly. The first call's
        // depth is counted and released before the second, as two calls would.
        if let Value::Lambda(c) = f
            && c.lambda.formals.is_none()
            && let Expr::Lambda(inner) = &*c.lambda.body
            && inner.formals.is_none()
        {
            self.enter_call(pos)?;
            self.leave_call();
            let env1 = Env::one(Some(c.env.clone()), a);
            self.enter_call(pos)?;
            let env2 = Env::one(Some(env1), b);
            let r = self.eval(&inner.body, &env2);
            self.leave_call();
            return r;
        }
        let g = self.call(f.clone(), a, pos)?;
        self.call(g, b, pos)
    }

    /// Applies `f` to `arg`.
    pub fn call(&mut self, f: Value, arg: Value, pos: PosIdx) -> R<Value> {
        let f = self.force(&f)?;
        match f {
            Value::Lambda(c) => self.call_lambda(&c, arg, pos),
            Value::PrimOp(op) => {
                if op.arity == 1 {
                    self.call_primop(op, &[arg], pos)
                } else {
                    Ok(Value::PrimOpApp(Rc::new(PrimOpApp {
                        op,
                        args: vec![arg],
                    })))
                }
            }
            Value::PrimOpApp(app) => self.call_partial(&app, arg, pos),
            Value::Attrs(a) if a.get(known().functor).is_some() => self.call_functor(a, arg, pos),
            other => Err(not_a_function(&other, pos)),
        }
    }

    /// A partial primop application applied to one more argument.
    #[inline(never)]
    fn call_partial(&mut self, app: &PrimOpApp, arg: Value, pos: PosIdx) -> R<Value> {
        let mut args = Vec::with_capacity(app.args.len() + 1);
        args.extend(app.args.iter().cloned());
        args.push(arg);
        if args.len() == app.op.arity {
            self.call_primop(app.op, &args, pos)
        } else {
            Ok(Value::PrimOpApp(Rc::new(PrimOpApp { op: app.op, args })))
        }
    }

    /// A set with `__functor` applied: `s.__functor s arg`.
    #[inline(never)]
    fn call_functor(&mut self, a: Rc<Attrs>, arg: Value, pos: PosIdx) -> R<Value> {
        let functor = a
            .get(known().functor)
            .map(|x| x.value.clone())
            .unwrap_or(Value::Null);
        let g = self.call(functor, Value::Attrs(a), pos)?;
        self.call(g, arg, pos)
    }

    fn call_primop(
        &mut self,
        op: &'static builtins::PrimOp,
        args: &[Value],
        pos: PosIdx,
    ) -> R<Value> {
        match (op.f)(self, args, pos) {
            Ok(v) => Ok(v),
            Err(e) => Err(e.frame(format!("while calling the '{}' builtin", op.name), pos)),
        }
    }

    /// Spends `units` of [`Machine::fuel`] (an evaluation step or a forced value is one, a
    /// built list or string one per element or byte, charged before it is built).
    pub fn charge(&mut self, units: u64) -> R<()> {
        match self.fuel.checked_sub(units) {
            Some(left) => {
                self.fuel = left;
                Ok(())
            }
            None => {
                self.fuel = 0;
                err("evaluation ran out of fuel (a limit set only when fuzzing)")
            }
        }
    }

    /// Counts a call against `max-call-depth` (Nix's `addCallDepth`); every `enter_call`
    /// that succeeds is paired with a `leave_call`.
    pub fn enter_call(&mut self, pos: PosIdx) -> R<()> {
        if self.depth >= self.opts.max_call_depth {
            return Err(at(
                err_kind::<()>(
                    Kind::StackOverflow,
                    "stack overflow; max-call-depth exceeded",
                ),
                pos,
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Ends a call counted by [`Machine::enter_call`].
    pub fn leave_call(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn call_lambda(&mut self, c: &Rc<Closure>, arg: Value, pos: PosIdx) -> R<Value> {
        self.enter_call(pos)?;
        let r = self.call_lambda_inner(c, arg, pos);
        self.leave_call();
        r
    }

    fn call_lambda_inner(&mut self, c: &Rc<Closure>, arg: Value, pos: PosIdx) -> R<Value> {
        let l: &Lambda = &c.lambda;
        let Some(formals) = &l.formals else {
            let env2 = Env::one(Some(c.env.clone()), arg);
            return self.eval(&l.body, &env2);
        };
        let set = self.force(&arg)?;
        let Value::Attrs(attrs) = &set else {
            return Err(at(
                err::<()>(format!(
                    "expected a set but found {}: {}",
                    set.show_type(),
                    super::print::brief(&set)
                )),
                pos,
            ));
        };
        let mut slots = Vec::with_capacity(l.slots());
        let mut pending = Vec::new();
        let mut used = 0;
        for (i, f) in formals.entries.iter().enumerate() {
            match attrs.get(f.name) {
                Some(a) => {
                    used += 1;
                    slots.push(a.value.clone());
                }
                None => match &f.default {
                    Some(_) => {
                        let t = Rc::new(Thunk(RefCell::new(ThunkState::Blank)));
                        slots.push(Value::Thunk(t.clone()));
                        pending.push((i, t));
                    }
                    None => {
                        return Err(at(
                            err::<()>(format!(
                                "function '{}' called without required argument '{}'",
                                lambda_name(l),
                                super::show::identifier(f.name.as_str())
                            )),
                            pos,
                        ));
                    }
                },
            }
        }
        if !formals.ellipsis && used < attrs.len() {
            for a in attrs.sorted_by_name() {
                if !formals.entries.iter().any(|f| f.name == a.name) {
                    return Err(at(
                        err::<()>(format!(
                            "function '{}' called with unexpected argument '{}'",
                            lambda_name(l),
                            super::show::identifier(a.name.as_str())
                        )),
                        pos,
                    ));
                }
            }
        }
        if l.arg.is_some() {
            slots.push(set.clone());
        }
        let env2 = Env::new(Some(c.env.clone()), slots);
        for (i, t) in pending {
            if let Some(d) = &formals.entries[i].default {
                *t.0.borrow_mut() = ThunkState::Pending(d.clone(), env2.clone());
            }
        }
        self.eval(&l.body, &env2)
    }

    #[inline(never)]
    fn interp(&mut self, parts: &[Rc<Expr>], path: bool, pos: PosIdx, env: &Rc<Env>) -> R<Value> {
        let mut out: Vec<u8> = Vec::new();
        let mut ctx = Context::default();
        for (i, p) in parts.iter().enumerate() {
            if path
                && i == 0
                && let Expr::HomePath { rest, pos } = &**p
            {
                // `~/${x}`: the home directory and a slash, then the rest.
                if self.opts.pure {
                    return Err(at(
                        err::<()>(format!(
                            "the path '~{rest}' can not be resolved in pure mode"
                        )),
                        *pos,
                    ));
                }
                out.extend_from_slice(self.io.home().unwrap_or_default().as_bytes());
                out.extend_from_slice(rest.as_bytes());
                continue;
            }
            let v = self.eval(p, env)?;
            if path && i > 0 {
                // Appending to a path: strings without store references, or paths.
                match &v {
                    Value::Str(s) if !s.ctx.is_empty() => {
                        return Err(at(
                            err::<()>(
                                "a string that refers to a store path cannot be appended to a path",
                            ),
                            pos,
                        ));
                    }
                    _ => {}
                }
            }
            let copy = !path;
            let s = self
                .coerce_to_string(&v, &mut ctx, false, copy)
                .map_err(|e| e.at(pos))?;
            self.charge(s.len() as u64)?;
            out.extend_from_slice(&s);
        }
        if path {
            let text = String::from_utf8_lossy(&out);
            return Ok(Value::Path(super::paths::canonicalise(&text).into()));
        }
        Ok(Value::string_with(out, ctx))
    }

    /// Nix's `coerceToString`: strings as they are; paths copied to the store (or kept,
    /// when `copy` is false); sets through `__toString` or `outPath`; with `more`, also
    /// numbers, Booleans, null and lists.
    pub fn coerce_to_string(
        &mut self,
        v: &Value,
        ctx: &mut Context,
        more: bool,
        copy: bool,
    ) -> R<Vec<u8>> {
        let v = self.force(v)?;
        match &v {
            Value::Str(s) => {
                ctx.extend(&s.ctx);
                Ok(s.s.to_vec())
            }
            Value::Path(p) => {
                if copy {
                    let store_path = self.copy_path_to_store(p)?;
                    ctx.insert(super::context::CtxElem::Opaque(store_path.clone().into()));
                    Ok(store_path.into_bytes())
                } else {
                    Ok(p.as_bytes().to_vec())
                }
            }
            Value::Attrs(a) => {
                let k = known();
                if let Some(f) = a.get(k.to_string) {
                    let f = f.value.clone();
                    let r = self.call(f, v.clone(), PosIdx::NONE)?;
                    return self.coerce_to_string(&r, ctx, more, copy);
                }
                if let Some(o) = a.get(k.out_path) {
                    let o = o.value.clone();
                    return self.coerce_to_string(&o, ctx, more, copy);
                }
                err(format!(
                    "cannot coerce {} to a string: {}",
                    v.show_type(),
                    super::print::brief(&v)
                ))
            }
            Value::Int(n) if more => Ok(n.to_string().into_bytes()),
            Value::Float(f) if more => Ok(format!("{f:.6}").into_bytes()),
            Value::Bool(true) if more => Ok(b"1".to_vec()),
            Value::Bool(false) | Value::Null if more => Ok(Vec::new()),
            Value::List(l) if more => {
                let mut out = Vec::new();
                let n = l.len();
                for (i, item) in l.iter().enumerate() {
                    let item = self.force(item)?;
                    let s = self.coerce_to_string(&item, ctx, more, copy)?;
                    out.extend_from_slice(&s);
                    let empty_list = matches!(&item, Value::List(x) if x.is_empty());
                    if i + 1 < n && !empty_list {
                        out.push(b' ');
                    }
                }
                Ok(out)
            }
            _ => err(format!(
                "cannot coerce {} to a string: {}",
                v.show_type(),
                super::print::brief(&v)
            )),
        }
    }

    /// Copies a path to the store (once per path per evaluation), as a `source` NAR.
    pub fn copy_path_to_store(&mut self, p: &str) -> R<String> {
        if let Ok(None) = self.io.lstat_type(p) {
            return err(format!("path '{p}' does not exist"));
        }
        let name = super::paths::base_name(p).to_owned();
        self.io
            .add_path(p, &name, self.opts.read_only)
            .map_err(|e| {
                Box::new(EvalError {
                    kind: Kind::Io,
                    msg: e,
                    pos: PosIdx::NONE,
                    frames: Vec::new(),
                })
            })
    }

    #[inline(never)]
    fn bin(
        &mut self,
        op: BinOp,
        l: &Rc<Expr>,
        r: &Rc<Expr>,
        pos: PosIdx,
        env: &Rc<Env>,
    ) -> R<Value> {
        match op {
            BinOp::And => {
                let a = self.eval(l, env)?;
                if !self.bool_of(&a).map_err(|e| {
                    e.at(pos)
                        .frame("in the left operand of the AND (&&) operator", pos)
                })? {
                    return Ok(Value::Bool(false));
                }
                let b = self.eval(r, env)?;
                Ok(Value::Bool(self.bool_of(&b).map_err(|e| {
                    e.at(pos)
                        .frame("in the right operand of the AND (&&) operator", pos)
                })?))
            }
            BinOp::Or => {
                let a = self.eval(l, env)?;
                if self.bool_of(&a).map_err(|e| {
                    e.at(pos)
                        .frame("in the left operand of the OR (||) operator", pos)
                })? {
                    return Ok(Value::Bool(true));
                }
                let b = self.eval(r, env)?;
                Ok(Value::Bool(self.bool_of(&b).map_err(|e| {
                    e.at(pos)
                        .frame("in the right operand of the OR (||) operator", pos)
                })?))
            }
            BinOp::Impl => {
                let a = self.eval(l, env)?;
                if !self.bool_of(&a).map_err(|e| {
                    e.at(pos)
                        .frame("in the left operand of the IMPL (->) operator", pos)
                })? {
                    return Ok(Value::Bool(true));
                }
                let b = self.eval(r, env)?;
                Ok(Value::Bool(self.bool_of(&b).map_err(|e| {
                    e.at(pos)
                        .frame("in the right operand of the IMPL (->) operator", pos)
                })?))
            }
            BinOp::PipeRight => {
                let a = self.delay(l, env);
                let f = self.eval(r, env)?;
                self.call(f, a, pos)
            }
            BinOp::PipeLeft => {
                let a = self.delay(r, env);
                let f = self.eval(l, env)?;
                self.call(f, a, pos)
            }
            _ => {
                let a = self.eval(l, env)?;
                let b = self.eval(r, env)?;
                self.binary(op, &a, &b).map_err(|e| e.at(pos))
            }
        }
    }

    /// A strict binary operator on two forced values.
    pub fn binary(&mut self, op: BinOp, a: &Value, b: &Value) -> R<Value> {
        Ok(match op {
            BinOp::Eq => Value::Bool(self.equal(a, b)?),
            BinOp::NotEq => Value::Bool(!self.equal(a, b)?),
            BinOp::Less => Value::Bool(self.less(a, b)?),
            BinOp::LessEq => Value::Bool(!self.less(b, a)?),
            BinOp::More => Value::Bool(self.less(b, a)?),
            BinOp::MoreEq => Value::Bool(!self.less(a, b)?),
            BinOp::Update => {
                let (Value::Attrs(x), Value::Attrs(y)) = (a, b) else {
                    let bad = if matches!(a, Value::Attrs(_)) { b } else { a };
                    return self.type_error("a set", bad);
                };
                Value::Attrs(Rc::new(x.update(y)))
            }
            BinOp::Concat => {
                let (Value::List(x), Value::List(y)) = (a, b) else {
                    let bad = if matches!(a, Value::List(_)) { b } else { a };
                    return self.type_error("a list", bad);
                };
                if x.is_empty() {
                    return Ok(b.clone());
                }
                if y.is_empty() {
                    return Ok(a.clone());
                }
                self.charge((x.len() + y.len()) as u64)?;
                let mut v = Vec::with_capacity(x.len() + y.len());
                v.extend(x.iter().cloned());
                v.extend(y.iter().cloned());
                Value::list(v)
            }
            BinOp::Add => return self.add(a, b),
            BinOp::Sub | BinOp::Mul | BinOp::Div => return arith(op, a, b),
            _ => return err("internal error: lazy operator evaluated strictly"),
        })
    }

    fn add(&mut self, a: &Value, b: &Value) -> R<Value> {
        match (a, b) {
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                arith(BinOp::Add, a, b)
            }
            (Value::Path(p), _) => {
                let mut ctx = Context::default();
                let s = self.coerce_to_string(b, &mut ctx, false, false)?;
                if !ctx.is_empty() {
                    return err(
                        "a string that refers to a store path cannot be appended to a path",
                    );
                }
                let joined = format!("{p}{}", String::from_utf8_lossy(&s));
                Ok(Value::Path(super::paths::canonicalise(&joined).into()))
            }
            (Value::Str(_) | Value::Attrs(_), _) => {
                let mut ctx = Context::default();
                let mut s = self.coerce_to_string(a, &mut ctx, false, true)?;
                let t = self.coerce_to_string(b, &mut ctx, false, true)?;
                self.charge((s.len() + t.len()) as u64)?;
                s.extend(t);
                Ok(Value::string_with(s, ctx))
            }
            (Value::Int(_) | Value::Float(_), _) => {
                err(format!("cannot add {} to {}", b.show_type(), a.show_type()))
            }
            _ => err(format!(
                "cannot coerce {} to a string: {}",
                a.show_type(),
                super::print::brief(a)
            )),
        }
    }

    fn bool_of(&self, v: &Value) -> R<bool> {
        match v {
            Value::Bool(b) => Ok(*b),
            other => self.type_error("a Boolean", other),
        }
    }

    /// `expected <what> but found <type>: <value>`.
    pub fn type_error<T>(&self, what: &str, v: &Value) -> R<T> {
        err(format!(
            "expected {what} but found {}: {}",
            v.show_type(),
            super::print::brief(v)
        ))
    }

    /// Whether a set is a derivation (`type == "derivation"`).
    pub fn is_derivation(&mut self, a: &Attrs) -> R<bool> {
        match a.get(known().type_) {
            Some(t) => {
                let t = t.value.clone();
                let t = self.force(&t)?;
                Ok(matches!(&t, Value::Str(s) if &*s.s == b"derivation"))
            }
            None => Ok(false),
        }
    }

    /// Forces `v` and everything in it (`deepSeq`, `--strict`), without native recursion.
    /// Nesting deeper than `max-call-depth` is Nix's stack overflow error, as its recursive
    /// `forceValueDeep` counts each level as a call.
    pub fn force_deep(&mut self, v: &Value) -> R<()> {
        let mut stack = vec![(v.clone(), self.depth)];
        let mut seen: std::collections::HashSet<usize> = std::collections::HashSet::new();
        while let Some((v, depth)) = stack.pop() {
            if depth >= self.opts.max_call_depth {
                return err_kind(
                    Kind::StackOverflow,
                    "stack overflow; max-call-depth exceeded",
                );
            }
            let v = self.force(&v)?;
            match &v {
                Value::Attrs(a) => {
                    if !seen.insert(Rc::as_ptr(a) as *const u8 as usize) {
                        continue;
                    }
                    for e in a.entries.iter().rev() {
                        stack.push((e.value.clone(), depth + 1));
                    }
                }
                Value::List(l) => {
                    if !seen.insert(Rc::as_ptr(l) as *const u8 as usize) {
                        continue;
                    }
                    for e in l.iter().rev() {
                        stack.push((e.clone(), depth + 1));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    // --- typed access for builtins ---

    /// Forces to a set.
    pub fn attrs_of(&mut self, v: &Value) -> R<Rc<Attrs>> {
        match self.force(v)? {
            Value::Attrs(a) => Ok(a),
            other => self.type_error("a set", &other),
        }
    }

    /// Forces to a list.
    pub fn list_of(&mut self, v: &Value) -> R<Rc<Vec<Value>>> {
        match self.force(v)? {
            Value::List(l) => Ok(l),
            other => self.type_error("a list", &other),
        }
    }

    /// Forces to an integer.
    pub fn int_of(&mut self, v: &Value) -> R<i64> {
        match self.force(v)? {
            Value::Int(n) => Ok(n),
            other => self.type_error("an integer", &other),
        }
    }

    /// Forces to a Boolean.
    pub fn bool_value(&mut self, v: &Value) -> R<bool> {
        match self.force(v)? {
            Value::Bool(b) => Ok(b),
            other => self.type_error("a Boolean", &other),
        }
    }

    /// Forces to a string (no coercion), with its context.
    pub fn str_of(&mut self, v: &Value) -> R<Rc<NixStr>> {
        match self.force(v)? {
            Value::Str(s) => Ok(s),
            other => self.type_error("a string", &other),
        }
    }

    /// Forces to a function (lambda, primop, or a set with `__functor`), or Nix's
    /// `expected a function` error.
    pub fn function_of(&mut self, v: &Value) -> R<Value> {
        match self.force(v)? {
            f @ (Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_)) => Ok(f),
            Value::Attrs(a) if a.get(known().functor).is_some() => Ok(Value::Attrs(a)),
            other => self.type_error("a function", &other),
        }
    }

    /// Forces to a function (lambda, primop, functor set).
    pub fn is_function(&mut self, v: &Value) -> R<bool> {
        Ok(matches!(
            self.force(v)?,
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_)
        ))
    }

    /// Evaluates a whole file (no cache).
    pub fn eval_source(&mut self, text: &str, origin: super::pos::Origin, dir: &str) -> R<Value> {
        let expr = self.parse(text, origin, dir, false)?;
        let env = Env::new(None, Vec::new());
        self.eval(&expr, &env)
    }

    /// Parses and lowers a text.
    pub fn parse(
        &mut self,
        text: &str,
        origin: super::pos::Origin,
        dir: &str,
        scoped: bool,
    ) -> R<Rc<Expr>> {
        let base = super::pos::add_source(origin, super::parse::lexer::line_text(text).into());
        let root = super::parse::parse(text).map_err(|e| {
            Box::new(EvalError {
                kind: Kind::Eval,
                msg: e.msg,
                pos: PosIdx(base + e.offset.unwrap_or(0) as u32),
                frames: Vec::new(),
            })
        })?;
        let cx = super::lower::Context {
            globals: &self.globals,
            base,
            dir,
            scoped,
            lints: self.opts.lints,
            pipes: self.opts.features.iter().any(|f| f == "pipe-operators"),
            warnings: Default::default(),
        };
        let expr = super::lower::lower(&root, &cx);
        for (msg, pos) in cx.warnings.take() {
            self.io.message(&super::error::render_warning(&msg, pos));
        }
        expr
    }

    /// `import path`: the file's value (cached per path); a directory means its
    /// `default.nix`.
    pub fn import(&mut self, path: &str) -> R<Value> {
        let path = self.resolve_import(path)?;
        if let Some(v) = self.imports.get(&*path).cloned() {
            // The cached thunk: forced, so a second import sees the value (or the same
            // infinite-recursion error while the first is still being evaluated).
            return self.force(&v);
        }
        let (text, origin) = match builtins::search_path::core_file(&path) {
            Some(t) => (t.to_owned(), super::pos::Origin::Internal("nix")),
            None => (
                self.read_text(&path)?,
                super::pos::Origin::File(path.clone()),
            ),
        };
        let dir = super::paths::dir_of(&path).to_owned();
        let expr = self.parse(&text, origin, &dir, false)?;
        let env = Env::new(None, Vec::new());
        let v = Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Pending(expr, env)))));
        self.imports.insert(path, v.clone());
        self.force(&v)
    }

    /// `scopedImport attrs path`: not cached; the file sees `attrs` around it.
    pub fn scoped_import(&mut self, scope: Value, path: &str) -> R<Value> {
        let path = self.resolve_import(path)?;
        let text = self.read_text(&path)?;
        let dir = super::paths::dir_of(&path).to_owned();
        let expr = self.parse(&text, super::pos::Origin::File(path.clone()), &dir, true)?;
        let env = Env::one(None, scope);
        self.eval(&expr, &env)
    }

    fn resolve_import(&mut self, path: &str) -> R<Rc<str>> {
        match self.io.file_type(path) {
            Ok(Some(super::io::FileType::Directory)) => {
                Ok(format!("{}/default.nix", path.trim_end_matches('/')).into())
            }
            // As Nix (resolveExprPath's lstat): a missing file is named as such.
            Ok(None) if builtins::search_path::core_file(path).is_none() => {
                err(format!("path '{path}' does not exist"))
            }
            _ => Ok(path.into()),
        }
    }

    /// Reads a file as text.
    pub fn read_text(&mut self, path: &str) -> R<String> {
        let bytes = self.io.read_file(path).map_err(io_error)?;
        Ok(super::parse::lexer::source_text(bytes))
    }
}

/// An error of the world.
pub fn io_error(msg: String) -> Box<EvalError> {
    Box::new(EvalError {
        kind: Kind::Io,
        msg,
        pos: PosIdx::NONE,
        frames: Vec::new(),
    })
}

fn at<T>(r: R<T>, pos: PosIdx) -> Box<EvalError> {
    match r {
        Err(e) => e.at(pos),
        Ok(_) => Box::new(EvalError {
            kind: Kind::Eval,
            msg: "internal error".into(),
            pos,
            frames: Vec::new(),
        }),
    }
}

fn unreachable_done() -> R<Value> {
    err("internal error: a forced thunk forced again")
}

fn lambda_name(l: &Lambda) -> String {
    match l.name {
        Some(n) => n.as_str().to_owned(),
        None => "anonymous lambda".to_owned(),
    }
}

/// `attribute 'x' missing`, with Nix's suggestion of a near name.
fn missing_attr(name: Symbol, a: &Attrs) -> String {
    let mut msg = format!("attribute '{name}' missing");
    let target = name.as_str();
    let mut best: Vec<(usize, &str)> = a
        .entries
        .iter()
        .map(|e| (levenshtein(target, e.name.as_str()), e.name.as_str()))
        .filter(|(d, _)| *d <= 2)
        .collect();
    best.sort();
    if let Some((_, s)) = best.first() {
        msg.push_str(&format!("\n       Did you mean {s}?"));
    }
    msg
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Integer and float arithmetic with Nix's overflow and division errors, and its type
/// errors: division looks at the divisor first; an operation with a float wants floats,
/// otherwise integers.
pub fn arith(op: BinOp, a: &Value, b: &Value) -> R<Value> {
    let num = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
    if op == BinOp::Div {
        if !num(b) {
            return type_error_of("a float", b);
        }
        if matches!(b, Value::Int(0)) || matches!(b, Value::Float(f) if *f == 0.0) {
            return err("division by zero");
        }
    }
    if !num(a) || !num(b) {
        let float = matches!(a, Value::Float(_)) || matches!(b, Value::Float(_));
        let want = if float { "a float" } else { "an integer" };
        return type_error_of(want, if num(a) { b } else { a });
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let (r, verb) = match op {
                BinOp::Add => (x.checked_add(*y), "adding"),
                BinOp::Sub => (x.checked_sub(*y), "subtracting"),
                BinOp::Mul => (x.checked_mul(*y), "multiplying"),
                _ => {
                    if *y == 0 {
                        return err("division by zero");
                    }
                    (x.checked_div(*y), "dividing")
                }
            };
            let sign = match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                _ => "/",
            };
            match r {
                Some(r) => Ok(Value::Int(r)),
                None => err(format!("integer overflow in {verb} {x} {sign} {y}")),
            }
        }
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let f = |v: &Value| match v {
                Value::Int(n) => *n as f64,
                Value::Float(f) => *f,
                _ => 0.0,
            };
            let (x, y) = (f(a), f(b));
            Ok(Value::Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                _ => {
                    if y == 0.0 {
                        return err("division by zero");
                    }
                    x / y
                }
            }))
        }
        (Value::Int(_) | Value::Float(_), other) | (other, _) => type_error_of("a number", other),
    }
}

/// `expected <what> but found <type>: <value>`.
#[cold]
#[inline(never)]
pub fn type_error_of<T>(what: &str, v: &Value) -> R<T> {
    err(format!(
        "expected {what} but found {}: {}",
        v.show_type(),
        super::print::brief(v)
    ))
}

/// `expected a Boolean but found …` of an `if` condition.
#[cold]
#[inline(never)]
fn cond_not_bool(v: &Value, pos: PosIdx) -> Box<EvalError> {
    at(
        err::<()>(format!(
            "expected a Boolean but found {}: {}",
            v.show_type(),
            super::print::brief(v)
        )),
        pos,
    )
    .frame("while evaluating a branch condition", pos)
}

/// `undefined variable 'x'`.
#[cold]
#[inline(never)]
fn undefined_variable(name: Symbol, pos: PosIdx) -> Box<EvalError> {
    at(err::<()>(format!("undefined variable '{name}'")), pos)
}

/// `attempt to call something which is not a function but …`.
#[cold]
#[inline(never)]
fn not_a_function(v: &Value, pos: PosIdx) -> Box<EvalError> {
    at(
        err::<()>(format!(
            "attempt to call something which is not a function but {}: {}",
            v.show_type(),
            super::print::brief(v)
        )),
        pos,
    )
}

/// `expected a set but found …` of `e.a`.
#[cold]
#[inline(never)]
fn select_from_non_set(v: &Value, name: Symbol, pos: PosIdx) -> Box<EvalError> {
    at(
        err::<()>(format!(
            "expected a set but found {}: {}",
            v.show_type(),
            super::print::brief(v)
        )),
        pos,
    )
    .frame(format!("while selecting attribute '{name}'"), pos)
}
