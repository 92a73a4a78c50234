//! Source positions (Nix's `PosTable`): every parsed file gets a range of one global offset
//! space, so a position is one `u32` ([`PosIdx`]) resolved to file, line and column only when
//! a message needs it.

use std::cell::RefCell;
use std::rc::Rc;

use super::parse::{Lines, Pos};

/// A position: an offset in the global space; 0 is "no position".
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct PosIdx(pub u32);

impl PosIdx {
    /// No position.
    pub const NONE: PosIdx = PosIdx(0);

    /// Whether this names a place.
    pub fn is_some(self) -> bool {
        self.0 != 0
    }
}

/// Where a text came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file, by its absolute path.
    File(Rc<str>),
    /// `--expr`, `--arg`, … (`«string»`).
    String,
    /// The evaluator's own Nix code.
    Internal(&'static str),
}

struct Source {
    origin: Origin,
    text: Rc<str>,
    base: u32,
}

#[derive(Default)]
struct Table {
    sources: Vec<Source>,
    next: u32,
}

thread_local! {
    static TABLE: RefCell<Table> = const { RefCell::new(Table { sources: Vec::new(), next: 1 }) };
}

/// A resolved position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The text's origin.
    pub origin: Origin,
    /// Line and column.
    pub pos: Pos,
    /// The whole text (for the code frame).
    pub text: Rc<str>,
}

impl Resolved {
    /// `<file>:<line>:<col>` as Nix prints it after `at `.
    pub fn location(&self) -> String {
        match &self.origin {
            Origin::File(p) => format!("{p}:{}", self.pos),
            Origin::String => format!("«string»:{}", self.pos),
            Origin::Internal(n) => format!("«{n}»:{}", self.pos),
        }
    }
}

/// Registers `text` and returns the base offset of its positions.
pub fn add_source(origin: Origin, text: Rc<str>) -> u32 {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let base = t.next;
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX - 1);
        t.next = base.saturating_add(len).saturating_add(1);
        t.sources.push(Source { origin, text, base });
        base
    })
}

/// The base the next registered text gets: with [`forget_since`], a process that parses
/// many texts one after another (fuzzing) keeps only those it still needs.
pub fn mark() -> u32 {
    TABLE.with(|t| t.borrow().next)
}

/// Forgets every text registered at or after `mark` (from [`mark`]): their positions no
/// longer resolve, and the next text reuses their offsets.
pub fn forget_since(mark: u32) {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let keep = t.sources.partition_point(|s| s.base < mark);
        t.sources.truncate(keep);
        t.next = t.next.min(mark.max(1));
    })
}

/// The file, line and column of `p`.
pub fn resolve(p: PosIdx) -> Option<Resolved> {
    if !p.is_some() {
        return None;
    }
    TABLE.with(|t| {
        let t = t.borrow();
        let i = t
            .sources
            .partition_point(|s| s.base <= p.0)
            .checked_sub(1)?;
        let s = &t.sources[i];
        let offset = (p.0 - s.base) as usize;
        let pos = Lines::new(&s.text).pos(offset);
        Some(Resolved {
            origin: s.origin.clone(),
            pos,
            text: s.text.clone(),
        })
    })
}
