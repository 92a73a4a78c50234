//! The builtins (Nix's `primops.cc` and `primops/*.cc`): one table per family, each entry a
//! name, an arity and a function of the evaluator and the (unforced) arguments. `globals`
//! builds the `builtins` set, the `__name` aliases and the names that are global without
//! `builtins.` (Nix's base environment).

use std::collections::HashMap;

use super::error::R;
use super::machine::{Machine, Options};
use super::pos::PosIdx;
use super::symbol::Symbol;
use super::value::{Attr, Value};

mod args;
mod attrs;
mod closure;
mod control;
mod derivation;
pub mod fetch;
mod flakeref;
mod from_toml;
mod hashing;
mod json;
mod lists;
pub mod prelude;
mod regex;
pub mod search_path;
mod store_paths;

pub use fetch::tree_attrs;
pub use json::to_json;
pub use regex::Cache as RegexCache;
mod string_context;
mod strings;
mod types;
mod xml;

/// A builtin function.
pub struct PrimOp {
    /// Its name in `builtins`.
    pub name: &'static str,
    /// How many arguments it takes before it runs.
    pub arity: usize,
    /// The code.
    pub f: fn(&mut Machine, &[Value], PosIdx) -> R<Value>,
}

/// Names reachable without `builtins.` (besides the `__` aliases).
const GLOBAL: &[&str] = &[
    "abort",
    "baseNameOf",
    "break",
    "derivationStrict",
    "dirOf",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
];

fn tables() -> impl Iterator<Item = &'static PrimOp> {
    attrs::OPS
        .iter()
        .chain(control::OPS)
        .chain(lists::OPS)
        .chain(strings::OPS)
        .chain(types::OPS)
        .chain(json::OPS)
        .chain(regex::OPS)
        .chain(hashing::OPS)
        .chain(closure::OPS)
        .chain(string_context::OPS)
        .chain(from_toml::OPS)
        .chain(xml::OPS)
        .chain(search_path::OPS)
        .chain(derivation::OPS)
        .chain(fetch::OPS)
        .chain(store_paths::OPS)
        .chain(flakeref::OPS)
}

static IDENTITY: PrimOp = PrimOp {
    name: "__identity",
    arity: 1,
    f: |m, a, _| m.force(&a[0]),
};

/// A primop returning its argument.
pub fn identity() -> &'static PrimOp {
    &IDENTITY
}

/// The global names and the `builtins` set.
pub fn globals(opts: &Options, store_dir: &str) -> (HashMap<Symbol, Value>, Value) {
    let mut entries: Vec<Attr> = Vec::new();
    let mut globals: HashMap<Symbol, Value> = HashMap::new();
    let mut add = |name: &str, v: Value, global: bool| {
        let sym = Symbol::intern(name);
        entries.push(Attr {
            name: sym,
            value: v.clone(),
            pos: PosIdx::NONE,
        });
        if global {
            globals.insert(sym, v.clone());
        }
        globals.insert(Symbol::intern(&format!("__{name}")), v);
    };
    for op in tables() {
        add(op.name, Value::PrimOp(op), GLOBAL.contains(&op.name));
    }
    add("storeDir", Value::string(store_dir), false);
    add("nixVersion", Value::string("2.36.0"), false);
    add("langVersion", Value::Int(6), false);
    if !opts.pure {
        add("currentSystem", Value::string(opts.system.clone()), false);
        // Read once, when first used.
        add(
            "currentTime",
            Value::native(|m| Ok(Value::Int(m.io.now()))),
            false,
        );
    }
    let nix_path: Vec<Value> = opts
        .nix_path
        .iter()
        .map(|e| {
            let (prefix, path) = match e.split_once('=') {
                Some((p, v)) => (p.to_owned(), v.to_owned()),
                None => (String::new(), e.clone()),
            };
            Value::attrs(vec![
                Attr {
                    name: Symbol::intern("path"),
                    value: Value::string(path),
                    pos: PosIdx::NONE,
                },
                Attr {
                    name: Symbol::intern("prefix"),
                    value: Value::string(prefix),
                    pos: PosIdx::NONE,
                },
            ])
        })
        .collect();
    add("nixPath", Value::list(nix_path), false);
    globals.insert(Symbol::intern("true"), Value::Bool(true));
    globals.insert(Symbol::intern("false"), Value::Bool(false));
    globals.insert(Symbol::intern("null"), Value::Null);
    entries.push(Attr {
        name: Symbol::intern("true"),
        value: Value::Bool(true),
        pos: PosIdx::NONE,
    });
    entries.push(Attr {
        name: Symbol::intern("false"),
        value: Value::Bool(false),
        pos: PosIdx::NONE,
    });
    entries.push(Attr {
        name: Symbol::intern("null"),
        value: Value::Null,
        pos: PosIdx::NONE,
    });
    // `builtins.builtins` is the set itself.
    entries.push(Attr {
        name: Symbol::intern("builtins"),
        value: Value::native(|m| Ok(m.builtins.clone())),
        pos: PosIdx::NONE,
    });
    let builtins = Value::attrs(entries);
    globals.insert(Symbol::intern("builtins"), builtins.clone());
    (globals, builtins)
}
