//! Interned identifiers (Nix's `SymbolTable`): every attribute name and variable name the
//! evaluator sees becomes a [`Symbol`], a small integer, so attribute sets compare and search
//! integers. Interned text lives as long as the process, as Nix's symbols do.
#![allow(missing_docs)] // `Known` fields are the symbols of the names they are called after

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// An interned name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(u32);

#[derive(Default)]
struct Table {
    ids: HashMap<&'static str, Symbol>,
    names: Vec<&'static str>,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

impl Symbol {
    /// The symbol of `name`, interning it on first sight.
    pub fn intern(name: &str) -> Symbol {
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            if let Some(s) = t.ids.get(name) {
                return *s;
            }
            let text: &'static str = Box::leak(name.to_owned().into_boxed_str());
            let s = Symbol(u32::try_from(t.names.len()).unwrap_or(u32::MAX));
            t.names.push(text);
            t.ids.insert(text, s);
            s
        })
    }

    /// The symbol's text.
    pub fn as_str(self) -> &'static str {
        TABLE.with(|t| t.borrow().names.get(self.0 as usize).copied().unwrap_or(""))
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.as_str())
    }
}

/// Symbols the evaluator looks up by name, interned once per thread.
pub struct Known {
    pub out_path: Symbol,
    pub functor: Symbol,
    pub to_string: Symbol,
    pub type_: Symbol,
    pub drv_path: Symbol,
    pub name: Symbol,
    pub value: Symbol,
    pub file: Symbol,
    pub line: Symbol,
    pub column: Symbol,
    pub overrides: Symbol,
    pub body: Symbol,
    pub outputs: Symbol,
    pub output_name: Symbol,
    pub success: Symbol,
    pub key: Symbol,
    pub operator: Symbol,
    pub start_set: Symbol,
    pub path: Symbol,
    pub prefix: Symbol,
    pub ignore_nulls: Symbol,
    pub structured_attrs: Symbol,
    pub right: Symbol,
    pub wrong: Symbol,
    pub all: Symbol,
    pub drv_attrs: Symbol,
    pub all_outputs: Symbol,
}

thread_local! {
    static KNOWN: &'static Known = Box::leak(Box::new(Known {
        out_path: Symbol::intern("outPath"),
        functor: Symbol::intern("__functor"),
        to_string: Symbol::intern("__toString"),
        type_: Symbol::intern("type"),
        drv_path: Symbol::intern("drvPath"),
        name: Symbol::intern("name"),
        value: Symbol::intern("value"),
        file: Symbol::intern("file"),
        line: Symbol::intern("line"),
        column: Symbol::intern("column"),
        overrides: Symbol::intern("__overrides"),
        body: Symbol::intern("body"),
        outputs: Symbol::intern("outputs"),
        output_name: Symbol::intern("outputName"),
        success: Symbol::intern("success"),
        key: Symbol::intern("key"),
        operator: Symbol::intern("operator"),
        start_set: Symbol::intern("startSet"),
        path: Symbol::intern("path"),
        prefix: Symbol::intern("prefix"),
        ignore_nulls: Symbol::intern("__ignoreNulls"),
        structured_attrs: Symbol::intern("__structuredAttrs"),
        right: Symbol::intern("right"),
        wrong: Symbol::intern("wrong"),
        all: Symbol::intern("all"),
        drv_attrs: Symbol::intern("drvAttrs"),
        all_outputs: Symbol::intern("allOutputs"),
    }));
}

/// The symbols of names the evaluator uses itself.
pub fn known() -> &'static Known {
    KNOWN.with(|k| *k)
}
