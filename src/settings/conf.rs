//! The `nix.conf` syntax: `name = value` lines, `#` comments, `include` and
//! `!include`.
//!
//! Mirrors `parseConfigFiles` in Nix's `src/libutil/configuration.cc`:
//!
//! - Lines end at `\n`; there are no line continuations. Everything from the
//!   first `#` is a comment, even inside a value.
//! - A line is split into tokens at spaces, tabs and `\r`; a value is its
//!   tokens re-joined with single spaces, so `name =` sets the empty value and
//!   `name = a = b` sets `a = b`. `name=value` (one token) is a syntax error.
//! - Duplicate names are not special: later lines override earlier ones.
//! - `include PATH` / `!include PATH` parse another file, relative to the
//!   directory of the including file, lexically canonicalised. A missing
//!   `include` is an error, a missing `!include` is skipped, and an existing
//!   file that cannot be read is silently skipped either way. Relative
//!   includes in `NIX_CONFIG` fail, because its "directory" is empty.
//!
//! # Deviations
//!
//! Includes nested more than [`MAX_INCLUDE_DEPTH`] deep are an error (Nix
//! recurses until it runs out of stack). Invalid UTF-8 is replaced with U+FFFD.

use std::path::{Path, PathBuf};

use super::Error;
use super::value::{canon_path, tokens};

/// How deep `include`s may nest.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 64;

/// One `name = value` line, in file order.
pub(crate) type Entry = (String, String);

/// Reads a configuration file; `None` when it cannot be read (Nix ignores
/// `SystemError`s from `readFile`, so missing files are skipped).
pub(crate) fn read(path: &Path) -> Option<String> {
    crate::util::fs::read(path)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Parses `contents` read from `origin` (a file path, or `NIX_CONFIG`),
/// following includes, into `name = value` entries.
pub(crate) fn parse(contents: &str, origin: &Path) -> Result<Vec<Entry>, Error> {
    let mut entries = Vec::new();
    parse_into(contents, origin, 0, &mut entries)?;
    Ok(entries)
}

fn parse_into(
    contents: &str,
    origin: &Path,
    depth: usize,
    entries: &mut Vec<Entry>,
) -> Result<(), Error> {
    for line in contents.split('\n') {
        let line = line.split_once('#').map_or(line, |(before, _)| before);
        let words: Vec<&str> = tokens(line).collect();
        let syntax_error = || Error::Syntax {
            line: line.to_owned(),
            origin: origin.to_owned(),
        };
        match words.as_slice() {
            [] => {}
            [_] => return Err(syntax_error()),
            [keyword @ ("include" | "!include"), rest @ ..] => {
                let [target] = rest else {
                    return Err(syntax_error());
                };
                include(target, *keyword == "!include", origin, depth, entries)?;
            }
            [name, "=", value @ ..] => entries.push(((*name).to_owned(), value.join(" "))),
            _ => return Err(syntax_error()),
        }
    }
    Ok(())
}

fn include(
    target: &str,
    ignore_missing: bool,
    origin: &Path,
    depth: usize,
    entries: &mut Vec<Entry>,
) -> Result<(), Error> {
    let joined = origin.parent().unwrap_or(Path::new("")).join(target);
    let path: PathBuf = canon_path(&joined).ok_or(Error::NotAbsolute { path: joined })?;
    // Nix's `pathExists` uses `lstat`, so a dangling symlink "exists" and then
    // fails to read, which is ignored.
    if std::fs::symlink_metadata(&path).is_err() {
        if ignore_missing {
            return Ok(());
        }
        return Err(Error::IncludeNotFound {
            path,
            origin: origin.to_owned(),
        });
    }
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(Error::IncludeTooDeep {
            origin: origin.to_owned(),
        });
    }
    match read(&path) {
        Some(contents) => parse_into(&contents, &path, depth + 1, entries),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> Vec<Entry> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn syntax() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("\n\n  \n# only a comment\n", &[]),
            ("a = b", &[("a", "b")]),
            ("  a   =   b    c  \n", &[("a", "b c")]),
            ("a\t=\tb\r\n", &[("a", "b")]),
            ("a = b # comment", &[("a", "b")]),
            ("a = b#c", &[("a", "b")]),
            ("a =", &[("a", "")]),
            ("a = x = y", &[("a", "x = y")]),
            ("a = 1\na = 2", &[("a", "1"), ("a", "2")]),
            ("a = 1 \\\nb = 2", &[("a", "1 \\"), ("b", "2")]),
        ];
        for (text, expected) in cases {
            let got = parse(text, Path::new("/etc/nix/nix.conf"));
            assert_eq!(got, Ok(entries(expected)), "{text:?}");
        }
    }

    #[test]
    fn syntax_errors() {
        let cases: &[(&str, &str)] = &[
            ("foo", "foo"),
            ("a=b", "a=b"),
            ("  a b # c", "  a b "),
            ("a b c", "a b c"),
            ("include", "include"),
            ("include a b", "include a b"),
            ("include = a", "include = a"),
        ];
        for (text, line) in cases {
            let err = parse(text, Path::new("/etc/nix/nix.conf")).unwrap_err();
            let expected =
                format!("syntax error in configuration line '{line}' in \"/etc/nix/nix.conf\"");
            assert_eq!(err.to_string(), expected, "{text:?}");
        }
    }

    #[test]
    fn includes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(
            root.join("sub/inner.conf"),
            "b = 2\n!include ../leaf.conf\n",
        )
        .unwrap();
        fs::write(root.join("leaf.conf"), "c = 3\n").unwrap();
        fs::create_dir(root.join("a-directory")).unwrap();

        let main = root.join("nix.conf");
        let text = "a = 1\ninclude sub/inner.conf\n!include missing.conf\n\
                    include a-directory\nd = 4\n";
        let got = parse(text, &main).unwrap();
        assert_eq!(
            got,
            entries(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")])
        );

        let absolute = format!("include {}", root.join("leaf.conf").display());
        assert_eq!(
            parse(&absolute, Path::new("NIX_CONFIG")),
            Ok(entries(&[("c", "3")]))
        );

        let err = parse("include missing.conf", &main).unwrap_err();
        assert_eq!(
            err,
            Error::IncludeNotFound {
                path: root.join("missing.conf"),
                origin: main.clone()
            }
        );
        let err = parse("include leaf.conf", Path::new("NIX_CONFIG")).unwrap_err();
        assert_eq!(err.to_string(), "not an absolute path: \"leaf.conf\"");
    }

    #[test]
    fn include_cycle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("nix.conf");
        fs::write(&main, "include nix.conf\n").unwrap();
        let err = parse("include nix.conf", &main).unwrap_err();
        assert_eq!(err, Error::IncludeTooDeep { origin: main });
    }
}
