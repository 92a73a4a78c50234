//! The name a flake URL suggests for a profile element (Nix's `getNameFromURL`,
//! `src/libflake/url-name.cc`). Spec P4.4, "url-name".

use crate::flakeref::url;

/// Whether `s` is a non-empty run of `[A-Za-z0-9_-]` (an attribute name or path segment as
/// the name rules see them).
fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Returns the name `url` suggests, parsing it leniently, or `None` when it says nothing
/// useful (`path:.`, `https://www.github.com/`) or does not parse.
pub fn name_from_url(s: &str) -> Option<String> {
    let u = url::parse(s).ok()?;
    if let Some(dir) = u.query.get("dir") {
        return Some(dir.clone());
    }
    if let Some(last) = last_attribute(&u.fragment) {
        return Some(last.to_owned());
    }
    let path = u.path.join("/");
    let forge = matches!(u.scheme.as_str(), "github" | "gitlab" | "sourcehut");
    if forge && let Some(repo) = second_segment(&path) {
        return Some(repo.to_owned());
    }
    last_segment(&path).map(str::to_owned)
}

/// The fragment rule: `a.b.c` or `a.b.c^outputs` gives `c`, unless `c` is `default` or the
/// fragment is `defaultPackage.<x>`.
fn last_attribute(fragment: &str) -> Option<&str> {
    let attrs = fragment.split_once('^').map_or(fragment, |(a, _)| a);
    let parts: Vec<&str> = attrs.split('.').collect();
    if !parts.iter().all(|p| is_segment(p)) {
        return None;
    }
    let (last, prefix) = parts.split_last()?;
    if *last == "default" || (prefix.len() == 1 && prefix[0] == "defaultPackage") {
        return None;
    }
    Some(last)
}

/// `seg/seg2` or `seg/seg2/…` gives `seg2`.
fn second_segment(path: &str) -> Option<&str> {
    let mut parts = path.splitn(3, '/');
    let first = parts.next()?;
    let second = parts.next()?;
    (is_segment(first) && is_segment(second)).then_some(second)
}

/// `…/seg` gives `seg` (the git rule and the general rule are the same pattern).
fn last_segment(path: &str) -> Option<&str> {
    let (_, last) = path.rsplit_once('/')?;
    is_segment(last).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inputs and results of Nix's own unit tests (`url-name.cc`), and spec P4.4.
    #[test]
    fn names_as_nix() {
        let cases = [
            ("path:/home/user/project", Some("project")),
            (
                "path:~/repos/nixpkgs#legacyPackages.x86_64-linux.hello",
                Some("hello"),
            ),
            ("path:.#nonStandardAttr.mylaptop", Some("mylaptop")),
            (
                "path:./nixpkgs#packages.x86_64-linux.complex^bin,man",
                Some("complex"),
            ),
            (
                "path:./myproj#packages.x86_64-linux.default^*",
                Some("myproj"),
            ),
            ("path:./myproj#defaultPackage.x86_64-linux", Some("myproj")),
            ("github:NixOS/nixpkgs#hello", Some("hello")),
            ("github:NixOS/nix#", Some("nix")),
            (
                "github:cachix/devenv/main#packages.x86_64-linux.default",
                Some("devenv"),
            ),
            (
                "github:edolstra/nix-warez?rev=1234&dir=blender&ref=master",
                Some("blender"),
            ),
            (
                "git+ssh://git@github.com/someuser/my-repo#",
                Some("my-repo"),
            ),
            (
                "git+file:///home/user/project?ref=fa1e2d23a22",
                Some("project"),
            ),
            (
                "tarball+https://github.com/NixOS/nix/archive/refs/tags/2.18.1#packages.x86_64-linux.hg",
                Some("hg"),
            ),
            (
                "file+http://gitfantasy.com/org/user/notaflake",
                Some("notaflake"),
            ),
            ("https://www.github.com/", None),
            ("path:.", None),
            ("path:.#packages.x86_64-linux.default", None),
            (
                "path:/home/alice/flake1#packages.x86_64-linux.default",
                Some("flake1"),
            ),
            (
                "path:/home/alice/flake2?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs%3D#packages.x86_64-linux.other",
                Some("other"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(name_from_url(input).as_deref(), want, "{input}");
        }
    }
}
