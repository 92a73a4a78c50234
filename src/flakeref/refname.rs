//! Legal git ref names, as Nix checks the `ref` of git, forge and indirect references.
//!
//! Mirrors the Nix source's `isLegalRefName` (`src/libfetchers/git-utils.cc`), which accepts a
//! name that libgit2 considers a valid full reference name, branch name or tag name; the
//! component rules are those of `git check-ref-format`.

/// Returns whether `name` is a legal branch/tag/reference name for Nix.
pub fn is_legal(name: &str) -> bool {
    if name == "@" || name.contains('\x7f') {
        return false;
    }
    let as_reference = if name.contains('/') {
        components_ok(name)
    } else {
        !name.is_empty() && name.bytes().all(|c| c.is_ascii_uppercase() || c == b'_')
    };
    let short_ok =
        |prefix: &str| components_ok(&format!("{prefix}{name}")) && !name.starts_with('-');
    as_reference || (short_ok("refs/heads/") && name != "HEAD") || short_ok("refs/tags/")
}

/// The `git check-ref-format` rules for a multi-component name.
fn components_ok(name: &str) -> bool {
    if name.is_empty() || name.starts_with('/') || name.ends_with('/') || name.ends_with('.') {
        return false;
    }
    if name.contains("..") || name.contains("//") || name.contains("@{") {
        return false;
    }
    let bad_char = |c: char| c.is_ascii_control() || " ~^:?*[\\".contains(c);
    if name.chars().any(bad_char) {
        return false;
    }
    name.split('/')
        .all(|comp| !comp.starts_with('.') && !comp.ends_with(".lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_names() {
        for name in [
            "A/b",
            "AaA/b",
            "FOO/BAR/BAZ",
            "HEAD",
            "refs/tags/1.2.3",
            "refs/heads/master",
            "foox",
            "1337",
            "foo.baz",
            "foo/bar/baz",
            "foo./bar",
            "heads/foo@bar",
            "heads/fuß",
            "foo-bar-baz",
            "branch#",
            "$1",
            "foo.locke",
        ] {
            assert!(is_legal(name), "{name:?} should be legal");
        }
    }

    #[test]
    fn illegal_names() {
        for name in [
            "refs///heads/foo",
            "heads/foo/",
            "///heads/foo",
            ".foo",
            "./foo",
            "./foo/bar",
            "foo/./bar",
            "foo/bar/.",
            "foo bar",
            "foo?bar",
            "foo^bar",
            "foo~bar",
            "foo:bar",
            "foo[bar",
            ".refs/foo",
            "refs/heads/foo.",
            "heads/foo..bar",
            "heads/foo.lock",
            "heads///foo.lock",
            "foo.lock/bar",
            "foo.lock///bar",
            "heads/v@{ation",
            "heads/foo\\bar",
            "heads/foo\t",
            "@",
            "\x1f",
            "\x7f",
            "foo/*",
            "*/foo",
            "foo/*/bar",
            "*",
            "/foo",
            "",
        ] {
            assert!(!is_legal(name), "{name:?} should be illegal");
        }
    }
}
