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
        input: r.input.without(&["__final"]),
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
        s += &format!(" ({})", utc_date(t));
    }
    s
}

fn last_modified(input: &Input) -> Option<u64> {
    match input.attrs().get("lastModified") {
        Some(Attr::Int(t)) => Some(*t),
        _ => None,
    }
}

/// The UTC date `YYYY-MM-DD` of a Unix time (the `%Y-%m-%d` of `gmtime`).
pub(super) fn utc_date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of day `days` counted from 1970-01-01.
///
/// Works in 400-year eras (146 097 days each) whose years start on March 1st, so the leap day
/// falls at the end of a year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let mp = (5 * day_of_year + 2) / 153; // month from March: [0, 11]
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
