//! The URL schemes of flake references (the input schemes of Nix's fetchers: `github`,
//! `git+https`, …), for hints about a mistyped one.

/// Every scheme a flake reference URL may have.
pub const ALL: &[&str] = &[
    "flake",
    "path",
    "git",
    "git+file",
    "git+http",
    "git+https",
    "git+ssh",
    "github",
    "gitlab",
    "sourcehut",
    "hg+file",
    "hg+http",
    "hg+https",
    "hg+ssh",
    "tarball+file",
    "tarball+http",
    "tarball+https",
    "file",
    "file+file",
    "file+http",
    "file+https",
    "http",
    "https",
];

/// For an unsupported reference such as `githb:foo/bar`, returns the same reference with the
/// closest known scheme (`github:foo/bar`), if the scheme looks like a typo of one.
pub fn suggest(reference: &str) -> Option<String> {
    let (scheme, rest) = reference.split_once(':')?;
    let best = crate::util::edit_distance::closest(&scheme.to_ascii_lowercase(), ALL)?;
    Some(format!("{best}:{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        for (input, want) in [
            ("githb:foo/bar", Some("github:foo/bar")),
            ("gitlba:o/r", Some("gitlab:o/r")),
            ("git+htps://h/r", Some("git+https://h/r")),
            ("pth:/x", Some("path:/x")),
            ("foo:bar", None),
            ("ftp://x/y.tar.gz", None),
            ("nocolon", None),
        ] {
            assert_eq!(suggest(input).as_deref(), want, "{input}");
        }
    }
}
