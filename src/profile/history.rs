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
        if prev.is_some() || !out.is_empty() {
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

/// The changes from `prev` to `cur`, element by element in name order.
pub fn diff(prev: &Manifest, cur: &Manifest, indent: &str, out: &mut Vec<String>) {
    let mut i = prev.elements.iter().peekable();
    let mut j = cur.elements.iter().peekable();
    let mut changes = false;
    loop {
        match (i.peek(), j.peek()) {
            (None, None) => break,
            (Some((ni, _)), Some((nj, ej))) if ni > nj => {
                out.push(format!(
                    "{indent}{}: ∅ -> {}",
                    ej.identifier(),
                    ej.versions()
                ));
                changes = true;
                j.next();
            }
            (None, Some((_, ej))) => {
                out.push(format!(
                    "{indent}{}: ∅ -> {}",
                    ej.identifier(),
                    ej.versions()
                ));
                changes = true;
                j.next();
            }
            (Some((ni, ei)), Some((nj, _))) if ni < nj => {
                out.push(format!(
                    "{indent}{}: {} -> ∅",
                    ei.identifier(),
                    ei.versions()
                ));
                changes = true;
                i.next();
            }
            (Some((_, ei)), None) => {
                out.push(format!(
                    "{indent}{}: {} -> ∅",
                    ei.identifier(),
                    ei.versions()
                ));
                changes = true;
                i.next();
            }
            (Some((_, ei)), Some(_)) => {
                let (v1, v2) = (
                    ei.versions(),
                    j.peek().map(|(_, e)| e.versions()).unwrap_or_default(),
                );
                if v1 != v2 {
                    out.push(format!("{indent}{}: {v1} -> {v2}", ei.identifier()));
                    changes = true;
                }
                i.next();
                j.next();
            }
        }
    }
    if !changes {
        out.push(format!("{indent}No changes."));
    }
}
