//! String context (Nix's `NixStringContext`, `value/context.cc`): the store paths a string
//! refers to. An element is a plain store path (*opaque*), an output of a derivation
//! (*built*, from `outPath`), or a derivation with its whole closure (*deep*, from
//! `drvPath`). A context is a sorted set, usually empty and then unallocated.

use std::rc::Rc;

/// One element.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum CtxElem {
    /// A store path (sources, `toFile`, fetched trees).
    Opaque(Rc<str>),
    /// `=<drv>`: a derivation and everything it needs.
    Deep(Rc<str>),
    /// `!<output>!<drv>`: an output of a derivation.
    Built {
        /// The derivation.
        drv: Rc<str>,
        /// The output's name.
        output: Rc<str>,
    },
}

impl CtxElem {
    /// Nix's encoding (`getContext` keys, `appendContext`).
    pub fn encode(&self) -> String {
        match self {
            CtxElem::Opaque(p) => p.to_string(),
            CtxElem::Deep(d) => format!("={d}"),
            CtxElem::Built { drv, output } => format!("!{output}!{drv}"),
        }
    }

    /// Parses Nix's encoding.
    pub fn decode(s: &str) -> Option<CtxElem> {
        if let Some(d) = s.strip_prefix('=') {
            return Some(CtxElem::Deep(d.into()));
        }
        if let Some(rest) = s.strip_prefix('!') {
            let (output, drv) = rest.split_once('!')?;
            return Some(CtxElem::Built {
                drv: drv.into(),
                output: output.into(),
            });
        }
        Some(CtxElem::Opaque(s.into()))
    }
}

/// A set of elements, sorted, without duplicates. One pointer, null when empty: every string
/// value holds one, and most have none.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
#[allow(clippy::box_collection)] // the point: one word in every string instead of three
pub struct Context(Option<Box<Vec<CtxElem>>>);

impl Context {
    /// A context of one element.
    pub fn one(e: CtxElem) -> Context {
        Context(Some(Box::new(vec![e])))
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|v| v.is_empty())
    }

    /// The elements, sorted.
    pub fn iter(&self) -> std::slice::Iter<'_, CtxElem> {
        match &self.0 {
            Some(v) => v.iter(),
            None => [].iter(),
        }
    }

    /// Adds one element.
    pub fn insert(&mut self, e: CtxElem) {
        let v = self.0.get_or_insert_with(Default::default);
        if let Err(i) = v.binary_search(&e) {
            v.insert(i, e);
        }
    }

    /// Adds every element of `other`.
    pub fn extend(&mut self, other: &Context) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other.clone();
            return;
        }
        for e in other.iter() {
            self.insert(e.clone());
        }
    }
}
