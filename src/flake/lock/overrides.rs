//! Overrides of inputs (Nix's `OverrideTarget`s in `lockFlake`): `--override-input` flags
//! and `inputs.a.inputs.b…` declarations in `flake.nix` files up the tree, and what an input
//! is once they are applied.

use std::collections::BTreeMap;

use super::compute::{Computer, Level, child, indirect};
use crate::flake::decl::InputDecl;
use crate::flake::load::Source;
use crate::flake::relative_path;
use crate::flake::{InputPath, print_path};
use crate::flakeref::FlakeRef;

/// An override of an input path, from the command line or from a `flake.nix` up the tree.
#[derive(Clone)]
pub struct Override {
    /// The replacement declaration (a reference or a `follows`).
    pub input: InputDecl,
    /// The flake whose `flake.nix` wrote it (relative paths resolve there).
    pub source: Source,
    /// That flake's input path (the `parent` of a relative override).
    pub parent: InputPath,
}

/// An input about to be locked, after overrides from the command line and from `flake.nix`
/// files up the tree.
pub struct Wanted {
    /// Its input path.
    pub path: InputPath,
    /// The declaration in force (the override's, with the declared flakeness).
    pub decl: InputDecl,
    /// The reference to lock (`flake:<id>` when the declaration names none).
    pub flake_ref: FlakeRef,
    /// The tree that relative paths resolve in: that of the flake that wrote the declaration.
    pub source: Source,
    /// The `parent` a lock of a relative path input records.
    pub parent: Option<InputPath>,
    /// Whether `--override-input` names this input.
    pub from_cli: bool,
}

impl Computer<'_, '_> {
    /// Records the overrides an input declares for inputs below it (`inputs.a.inputs.b…`).
    pub fn add_overrides(
        &mut self,
        input: &InputDecl,
        at: &InputPath,
        source: &Source,
        prefix: &InputPath,
    ) {
        for (name, o) in &input.overrides {
            let path = child(at, name);
            if o.flake_ref.is_some() || o.follows.is_some() {
                self.overrides
                    .entry(path.clone())
                    .or_insert_with(|| Override {
                        input: o.clone(),
                        source: source.clone(),
                        parent: prefix.clone(),
                    });
            }
            self.add_overrides(o, &path, source, prefix);
        }
    }

    /// Warns about overrides of inputs that the flake at `prefix` does not have.
    pub fn warn_dangling_overrides(
        &self,
        inputs: &BTreeMap<String, InputDecl>,
        prefix: &InputPath,
    ) {
        for p in self.overrides.keys() {
            if let Some((name, parent)) = p.split_last()
                && parent == prefix.as_slice()
                && !inputs.contains_key(name)
            {
                self.loader.fetch.reporter.warn(&format!(
                    "input '{}' has an override for a non-existent input '{name}'",
                    print_path(prefix)
                ));
            }
        }
    }

    /// What input `id` of `level` is after overrides, marking an override as used.
    pub fn wanted(&mut self, id: &str, declared: &InputDecl, level: &Level<'_>) -> Wanted {
        let path = child(&level.prefix, id);
        let from_cli = self.cli_overrides.contains(&path);
        let (decl, source, override_parent) = match self.overrides.get(&path) {
            Some(o) => {
                let mut input = o.input.clone();
                input.is_flake = declared.is_flake;
                (input, o.source.clone(), Some(o.parent.clone()))
            }
            None => (declared.clone(), level.source.clone(), None),
        };
        if override_parent.is_some() {
            self.overrides_used.insert(path.clone());
        }
        let flake_ref = decl.flake_ref.clone().unwrap_or_else(|| indirect(id));
        let parent = relative_path(&flake_ref.input)
            .map(|_| override_parent.unwrap_or_else(|| level.prefix.clone()));
        Wanted {
            path,
            decl,
            flake_ref,
            source,
            parent,
            from_cli,
        }
    }
}
