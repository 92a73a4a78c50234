//! Which parts of a flake `flake archive` takes (rflake additions, issue 18.4):
//! `--inputs-only` (not the flake itself), `--input PATH` (only those inputs, each with its own
//! inputs) and `--exclude PATH` (not those inputs, nor what is reached only through them).
//! Nix's `flake archive` always takes the flake and every input.

use super::InputPath;
use super::lockfile::LockFile;

/// The selection; the default selects everything (Nix's behaviour).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--inputs-only`: leave the flake's own source out.
    pub inputs_only: bool,
    /// `--input PATH`: only these inputs and everything below them (empty: all inputs).
    pub include: Vec<InputPath>,
    /// `--exclude PATH`: leave these inputs and everything below them out.
    pub exclude: Vec<InputPath>,
}

/// An `--input` or `--exclude` path that names no input of the lock file.
#[derive(Debug, thiserror::Error)]
#[error("{flag} '{path}' does not name an input in the lock file")]
pub struct UnknownInput {
    /// `--input` or `--exclude`.
    pub flag: &'static str,
    /// The path as given.
    pub path: String,
}

impl Selection {
    /// Whether the flake's own source is selected.
    pub fn root(&self) -> bool {
        !self.inputs_only && self.include.is_empty()
    }

    /// Whether the input at `path` (along the edges of the tree walk) is selected.
    pub fn selects(&self, path: &[String]) -> bool {
        (self.include.is_empty() || self.include.iter().any(|i| path.starts_with(i)))
            && !self.excludes(path)
    }

    /// Whether the input at `path` and everything below it are left out.
    pub fn excludes(&self, path: &[String]) -> bool {
        self.exclude.iter().any(|e| path.starts_with(e))
    }

    /// Fails when an `--input` or `--exclude` path names no input of `file` (through `follows`
    /// edges too).
    pub fn check(&self, file: &LockFile) -> Result<(), UnknownInput> {
        let named = self
            .include
            .iter()
            .map(|p| ("--input", p))
            .chain(self.exclude.iter().map(|p| ("--exclude", p)));
        for (flag, path) in named {
            if !matches!(file.resolve(path), Ok(Some(_))) {
                return Err(UnknownInput {
                    flag,
                    path: super::print_path(path),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Selection;

    fn p(s: &str) -> Vec<String> {
        s.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn include_and_exclude_by_prefix() {
        let all = Selection::default();
        assert!(all.root() && all.selects(&p("a/b")));
        let sel = Selection {
            inputs_only: false,
            include: vec![p("a")],
            exclude: vec![p("a/b")],
        };
        assert!(!sel.root());
        assert!(sel.selects(&p("a")) && sel.selects(&p("a/c")));
        assert!(!sel.selects(&p("a/b")) && !sel.selects(&p("a/b/c")));
        assert!(!sel.selects(&p("d")) && !sel.selects(&p("ab")));
        let only = Selection {
            inputs_only: true,
            ..Selection::default()
        };
        assert!(!only.root() && only.selects(&p("x")));
    }
}
