//! Flakes: reading `flake.nix` ([`decl`], kept for trees in the store by [`decl_cache`]), the
//! `flake.lock` model ([`lockfile`]), locking ([`lock`]) and `flake archive` ([`archive`]).
//!
//! Mirrors the Nix source's `src/libflake/` (`flake.cc`, `lockfile.cc`) and
//! `src/nix/flake.cc` (`CmdFlakeArchive`, `CmdFlakeMetadata`), as specified in the project spec
//! `store-lockfile-archive.md`, Parts B, C and D.

pub mod archive;
pub mod builtins;
pub mod call;
pub mod config;
pub mod decl;
pub mod decl_cache;
pub mod eval_cache;
pub mod load;
pub mod lock;
pub mod lockfile;
pub mod metadata;
pub mod pin;
pub mod prefetch;
pub mod selection;
pub mod session;

/// An input attribute path such as `dep2/dep1` (Nix's `InputAttrPath`).
pub type InputPath = Vec<String>;

/// Prints an input path the way Nix does: elements joined by `/`.
pub fn print_path(path: &[String]) -> String {
    path.join("/")
}

/// Parses `a/b/c` into an input path. As in Nix's `parseInputAttrPath` (which tokenizes on
/// `/`), empty elements are skipped: `""` and `"/"` are the empty path (the root flake).
/// Each element must match `[a-zA-Z][a-zA-Z0-9_-]*`.
pub fn parse_path(s: &str) -> Result<InputPath, String> {
    s.split('/')
        .filter(|e| !e.is_empty())
        .map(|e| {
            if is_valid_input_name(e) {
                Ok(e.to_owned())
            } else {
                Err(format!("invalid flake input attribute path element '{e}'"))
            }
        })
        .collect()
}

/// Whether `name` is a valid input name (`[a-zA-Z][a-zA-Z0-9_-]*`).
pub fn is_valid_input_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether an input is a relative path input (`path` type with a path not starting with `/`);
/// returns the relative path.
pub fn relative_path(input: &crate::flakeref::Input) -> Option<&str> {
    if input.type_name() != "path" {
        return None;
    }
    match input.attrs().get("path") {
        Some(crate::flakeref::Attr::Str(p)) if !p.starts_with('/') => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_path;

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(parse_path(""), Ok(vec![]));
        assert_eq!(parse_path("/"), Ok(vec![]));
        assert_eq!(
            parse_path("a//b/"),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            parse_path("a/1"),
            Err("invalid flake input attribute path element '1'".to_owned())
        );
    }
}
