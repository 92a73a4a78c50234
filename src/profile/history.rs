//! The lines of `nix profile history` (Nix's `CmdProfileHistory` and
//! `ProfileManifest::printDiff`, `src/nix/profile.cc`).

use super::manifest::Manifest;

/// Nix's `ANSI_NORMAL`.
pub const ANSI_NORMAL: &str = "\u{1b}[0m";
/// Nix's `ANSI_BOLD`.
pub const ANSI_BOLD: &str = "\u{1b}[1m";
/// Nix's `ANSI_GREEN`.
pub const ANSI_GREEN: &str = "\u{1b}[32;1m";
/// Nix's `ANSI_RED`.
pub const ANSI_RED: &str = "\u{1b}[31;1m";

/// One generation as history shows it.
pub struct Version<'a> {
    /// Its number.
    pub number: u64,
    /// Its creation date, `YYYY-MM-DD` in UTC.
    pub date: String,
    /// Its manifest.
    pub manifest: &'a Manifest,
}

/// The lines of the history of `versions` (in number order); `current` is shown in green.
pub fn lines(versions: &[Version<'_>], current: Option<u64>) -> Vec<String> {
    let empty = Manifest::default();
    let mut out = Vec::new();
    let mut prev: Option<&Version<'_>> = None;
    for v in versions {
        if !out.is_empty() {
            out.push(String::new());
        }
        let colour = if Some(v.number) == current {
            ANSI_GREEN
        } else {
            ANSI_BOLD
        };
        let from = prev.map_or(String::new(), |p| format!(" <- {}", p.number));
        out.push(format!(
            "Version {colour}{}{ANSI_NORMAL} ({}){from}:",
            v.number, v.date
        ));
        diff(
            prev.map_or(&empty, |p| p.manifest),
            v.manifest,
            "  ",
            &mut out,
        );
        prev = Some(v);
    }
    out
}

/// The changes from `prev` to `cur`, element by element in name order (elements are matched
/// by name).
pub fn diff(prev: &Manifest, cur: &Manifest, indent: &str, out: &mut Vec<String>) {
    use std::cmp::Ordering;
    let mut i = prev.elements.iter().peekable();
    let mut j = cur.elements.iter().peekable();
    let start = out.len();
    loop {
        let order = match (i.peek(), j.peek()) {
            (None, None) => break,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        match order {
            Ordering::Greater => {
                if let Some((_, e)) = j.next() {
                    out.push(format!("{indent}{}: ∅ -> {}", e.identifier(), e.versions()));
                }
            }
            Ordering::Less => {
                if let Some((_, e)) = i.next() {
                    out.push(format!("{indent}{}: {} -> ∅", e.identifier(), e.versions()));
                }
            }
            Ordering::Equal => {
                if let (Some((_, a)), Some((_, b))) = (i.next(), j.next()) {
                    let (v1, v2) = (a.versions(), b.versions());
                    if v1 != v2 {
                        out.push(format!("{indent}{}: {v1} -> {v2}", a.identifier()));
                    }
                }
            }
        }
    }
    if out.len() == start {
        out.push(format!("{indent}No changes."));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::profile::manifest::Element;
    use crate::store::StorePath;

    fn manifest(paths: &[(&str, &str)]) -> Manifest {
        let mut m = Manifest::default();
        for (name, base) in paths {
            let p = StorePath::from_base_name(base).unwrap();
            m.add_named(name, Element::from_paths(BTreeSet::from([p])));
        }
        m
    }

    #[test]
    fn versions_added_changed_removed_and_no_changes() {
        let a1 = manifest(&[("foo", "1f4m6y50pqrabwrv8x95vrmy156v51gj-foo-1.0")]);
        let a2 = manifest(&[
            ("bar", "110wni8ja3mn5bfyakpvaqmrjdb9b85p-bar"),
            ("foo", "7jmkaskp24lf4f12jnzm09mzdx43j359-foo-2.0"),
        ]);
        let a3 = manifest(&[("bar", "110wni8ja3mn5bfyakpvaqmrjdb9b85p-bar")]);
        let v = |number, manifest| Version {
            number,
            date: "2023-11-14".into(),
            manifest,
        };
        let versions = [v(1, &a1), v(2, &a2), v(4, &a3), v(5, &a3)];
        let got = lines(&versions, Some(4)).join("\n");
        assert_eq!(
            got.replace('\u{1b}', "␛"),
            "Version ␛[1m1␛[0m (2023-11-14):\n  foo: ∅ -> 1.0\n\n\
             Version ␛[1m2␛[0m (2023-11-14) <- 1:\n  bar: ∅ -> ε\n  foo: 1.0 -> 2.0\n\n\
             Version ␛[32;1m4␛[0m (2023-11-14) <- 2:\n  foo: 2.0 -> ∅\n\n\
             Version ␛[1m5␛[0m (2023-11-14) <- 4:\n  No changes."
        );
    }
}
