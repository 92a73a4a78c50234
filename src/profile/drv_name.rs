//! Package names and versions of store path names, as Nix's `DrvName` splits them
//! (`src/libstore/names.cc`), and the version sets `nix profile history` prints
//! (`showVersions`, `src/nix/diff-closures.cc`). Spec P4.5.

use std::collections::BTreeSet;

/// Splits a store path name at its first `-` followed by a character that is not an ASCII
/// letter: `hello-2.0` → (`hello`, `2.0`). Without such a dash the version is empty.
pub fn split(name: &str) -> (&str, &str) {
    let bytes = name.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'-' && bytes.get(i + 1).is_some_and(|c| !c.is_ascii_alphabetic()) {
            return (&name[..i], &name[i + 1..]);
        }
    }
    (name, "")
}

/// Renders a set of versions as Nix's history does: `∅` for none, `ε` for an empty version,
/// the rest sorted and joined by `, `.
pub fn show_versions<'a>(versions: impl IntoIterator<Item = &'a str>) -> String {
    let shown: BTreeSet<&str> = versions
        .into_iter()
        .map(|v| if v.is_empty() { "ε" } else { v })
        .collect();
    if shown.is_empty() {
        return "∅".to_owned();
    }
    shown.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_nix() {
        let cases = [
            ("hello-2.0", ("hello", "2.0")),
            ("profile-test-1.0-man", ("profile-test", "1.0-man")),
            ("dep", ("dep", "")),
            ("apache-httpd-2.0.48", ("apache-httpd", "2.0.48")),
            ("trailing-", ("trailing-", "")),
            ("a--b", ("a", "-b")),
            ("x-1", ("x", "1")),
        ];
        for (input, want) in cases {
            assert_eq!(split(input), want, "{input}");
        }
    }

    #[test]
    fn shows_versions() {
        assert_eq!(show_versions([]), "∅");
        assert_eq!(show_versions([""]), "ε");
        assert_eq!(show_versions(["2.0", "1.0", "", "1.0"]), "1.0, 2.0, ε");
    }
}
