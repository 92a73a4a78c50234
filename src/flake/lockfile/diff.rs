//! The change between two lock files (spec C5): Nix's `LockFile::diff`, the `operator<<` of
//! an edge and `describe` in `lockfile.cc`.
//!
//! A node edge is described as `'<locked ref URL>'` plus ` (YYYY-MM-DD)`, the UTC date of its
//! `lastModified` when it has one; a follows edge as `follows '<a/b>'`.

use std::collections::btree_map;
use std::iter::Peekable;

use super::{Edge, LockFile};
use crate::flake::{InputPath, print_path};
use crate::flakeref::attrs::{self, Attr};
use crate::flakeref::{FlakeRef, Input};

/// Renders the change between two lock files as Nix prints it (`• Added input 'x':\n    …`),
/// trailing whitespace removed; empty when nothing changed.
pub fn diff(old: &LockFile, new: &LockFile) -> String {
    let old_flat = old.all_inputs();
    let new_flat = new.all_inputs();
    let mut i: Peekable<btree_map::Iter<'_, InputPath, Edge>> = old_flat.iter().peekable();
    let mut j = new_flat.iter().peekable();
    let mut res = String::new();
    loop {
        match (i.peek(), j.peek()) {
            (None, None) => break,
            (o, Some((np, ne))) if o.is_none_or(|(op, _)| op > np) => {
                res += &format!(
                    "• Added input '{}':\n    {}\n",
                    print_path(np),
                    describe_edge(new, ne)
                );
                j.next();
            }
            (Some((op, _)), n) if n.is_none_or(|(np, _)| op < np) => {
                res += &format!("• Removed input '{}'\n", print_path(op));
                i.next();
            }
            (Some((op, oe)), Some((_, ne))) => {
                if !same(old, oe, new, ne) {
                    res += &format!(
                        "• Updated input '{}':\n    {}\n  → {}\n",
                        print_path(op),
                        describe_edge(old, oe),
                        describe_edge(new, ne)
                    );
                }
                i.next();
                j.next();
            }
            // Unreachable: the arms above cover every case with at least one side left.
            _ => break,
        }
    }
    res.truncate(res.trim_end().len());
    res
}

/// Describes an edge of `lock` as the diff shows it: `'<url>' (YYYY-MM-DD)` or
/// `follows '<path>'`.
pub fn describe_edge(lock: &LockFile, edge: &Edge) -> String {
    match edge {
        Edge::Node(id) => match lock.locked(*id) {
            Some(l) => describe(&l.locked),
            None => "''".to_owned(),
        },
        Edge::Follows(path) => format!("follows '{}'", print_path(path)),
    }
}

/// Whether two edges are the same for the diff: both follow the same path, or both lead to
/// nodes with equal locked refs.
fn same(old: &LockFile, e1: &Edge, new: &LockFile, e2: &Edge) -> bool {
    match (e1, e2) {
        (Edge::Node(a), Edge::Node(b)) => {
            let ra = old.locked(*a).map(|l| without_final(&l.locked));
            let rb = new.locked(*b).map(|l| without_final(&l.locked));
            ra == rb
        }
        (Edge::Follows(a), Edge::Follows(b)) => a == b,
        _ => false,
    }
}

/// The ref without the in-memory `__final` marker.
fn without_final(r: &FlakeRef) -> FlakeRef {
    FlakeRef {
        input: r.input.without_final(),
        subdir: r.subdir.clone(),
    }
}

/// `'<url>'` plus ` (YYYY-MM-DD)` when the ref has `lastModified` (Nix's `describe`).
fn describe(r: &FlakeRef) -> String {
    let r = without_final(r);
    let url = r
        .to_url_string()
        .unwrap_or_else(|_| attrs::to_compact_json(&r.to_attrs()));
    let mut s = format!("'{url}'");
    if let Some(t) = last_modified(&r.input) {
        s += &format!(" ({})", crate::util::time::date(t));
    }
    s
}

fn last_modified(input: &Input) -> Option<u64> {
    match input.attrs().get("lastModified") {
        Some(Attr::Int(t)) => Some(*t),
        _ => None,
    }
}
