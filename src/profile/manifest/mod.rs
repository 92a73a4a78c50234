//! A profile's `manifest.json` (Nix's `ProfileManifest`, `src/nix/profile.cc`): the elements of
//! a profile, keyed by name. Spec P4.
//!
//! [`parse`] accepts versions 1, 2 and 3 (and `manifest.nix` through [`nix_env`]); [`to_json`]
//! renders version 3 byte for byte as current Nix does, since the text is hashed into the
//! profile's store path. No I/O here: the effects layer ([`crate::profile::read`]) finds the
//! files.

pub mod nix_env;
mod read;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use read::parse;
pub use write::to_json;

use super::drv_name;
use super::url_name::name_from_url;
use crate::flakeref::FlakeRef;
use crate::store::StorePath;

/// The priority of an element that names none (Nix's `defaultPriority`).
pub const DEFAULT_PRIORITY: i64 = 5;

/// Which outputs of a flake attribute an element installs (Nix's `ExtendedOutputsSpec`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outputs {
    /// The default outputs (`outputsToInstall`, else `out`); `null` in the manifest.
    Default,
    /// Every output (`^*`, `["*"]`).
    All,
    /// These outputs (`^a,b`), never empty.
    Names(BTreeSet<String>),
}

impl Outputs {
    /// Returns the installable suffix: empty, `^*` or `^a,b`.
    pub fn suffix(&self) -> String {
        match self {
            Outputs::Default => String::new(),
            Outputs::All => "^*".to_owned(),
            Outputs::Names(names) => {
                format!("^{}", names.iter().cloned().collect::<Vec<_>>().join(","))
            }
        }
    }
}

/// Where an element came from: the flake reference the user gave, the locked one it was built
/// from, the attribute path and the outputs (Nix's `ProfileElementSource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    original: FlakeRef,
    locked: FlakeRef,
    original_url: String,
    locked_url: String,
    /// The full attribute path, e.g. `packages.x86_64-linux.default`.
    pub attr_path: String,
    /// The outputs installed.
    pub outputs: Outputs,
}

impl Source {
    /// Makes a source, rendering both references as current Nix prints them.
    pub fn new(
        original: FlakeRef,
        locked: FlakeRef,
        attr_path: String,
        outputs: Outputs,
    ) -> Result<Source, crate::flakeref::Error> {
        Ok(Source {
            original_url: original.to_url_string()?,
            locked_url: locked.to_url_string()?,
            original,
            locked,
            attr_path,
            outputs,
        })
    }

    /// The reference the element was added from (`originalUrl`).
    pub fn original(&self) -> &FlakeRef {
        &self.original
    }

    /// The locked reference it was built from (`url`).
    pub fn locked(&self) -> &FlakeRef {
        &self.locked
    }

    /// `originalUrl` as current Nix writes it.
    pub fn original_url(&self) -> &str {
        &self.original_url
    }

    /// `url` as current Nix writes it.
    pub fn locked_url(&self) -> &str {
        &self.locked_url
    }

    /// Replaces the locked reference (an upgrade).
    pub fn set_locked(&mut self, locked: FlakeRef) -> Result<(), crate::flakeref::Error> {
        self.locked_url = locked.to_url_string()?;
        self.locked = locked;
        Ok(())
    }

    /// `<originalUrl>#<attrPath><outputs suffix>`, the installable the element stands for.
    pub fn installable(&self) -> String {
        format!(
            "{}#{}{}",
            self.original_url,
            self.attr_path,
            self.outputs.suffix()
        )
    }
}

/// One element of a profile (Nix's `ProfileElement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The store paths it installs (every realised output).
    pub store_paths: BTreeSet<StorePath>,
    /// Where it came from; `None` for store paths, `--file`/`--expr` and `nix-env` elements.
    pub source: Option<Source>,
    /// Whether it is linked into the profile (always `true` for `nix profile`).
    pub active: bool,
    /// Lower is stronger in conflicts; default 5.
    pub priority: i64,
}

impl Element {
    /// A source-less, active element of default priority.
    pub fn from_paths(store_paths: BTreeSet<StorePath>) -> Element {
        Element {
            store_paths,
            source: None,
            active: true,
            priority: DEFAULT_PRIORITY,
        }
    }

    /// How Nix shows the element (`identifier()`): the installable for a flake element, else
    /// the package names of its store paths joined by `, ` (spec P4.4).
    pub fn identifier(&self) -> String {
        if let Some(s) = &self.source {
            return s.installable();
        }
        let names: BTreeSet<&str> = self
            .store_paths
            .iter()
            .map(|p| drv_name::split(p.name()).0)
            .collect();
        // Nix's `dropEmptyInitThenConcatStringsSep`: empty names at the start add no separator.
        let mut out = String::new();
        for n in names {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(n);
        }
        out
    }

    /// The versions of its store paths as history prints them (spec P4.5).
    pub fn versions(&self) -> String {
        drv_name::show_versions(self.store_paths.iter().map(|p| drv_name::split(p.name()).1))
    }

    /// The name a new element gets before de-duplication: the URL's name, else the identifier.
    pub fn suggested_name(&self) -> String {
        self.source
            .as_ref()
            .and_then(|s| name_from_url(&s.installable()))
            .unwrap_or_else(|| self.identifier())
    }
}

/// A profile's elements by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The elements, in name order (Nix's `std::map`).
    pub elements: BTreeMap<String, Element>,
}

impl Manifest {
    /// Adds `element` under `candidate`, or `candidate-1`, `candidate-2`, … if taken; returns
    /// the name used (Nix's `addElement`).
    pub fn add_named(&mut self, candidate: &str, element: Element) -> String {
        let mut name = candidate.to_owned();
        let mut i = 1;
        while self.elements.contains_key(&name) {
            name = format!("{candidate}-{i}");
            i += 1;
        }
        self.elements.insert(name.clone(), element);
        name
    }

    /// Adds `element` under the name it suggests (spec P4.4).
    pub fn add(&mut self, element: Element) -> String {
        let candidate = element.suggested_name();
        self.add_named(&candidate, element)
    }

    /// Every store path of every element (the profile object's references).
    pub fn references(&self) -> BTreeSet<StorePath> {
        self.elements
            .values()
            .flat_map(|e| e.store_paths.iter().cloned())
            .collect()
    }
}

/// Why a manifest cannot be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not JSON at all.
    #[error("profile manifest \"{}\" is not valid JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A `version` rflake (and current Nix) does not read.
    #[error("profile manifest \"{}\" has unsupported version {version}", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found (0 when missing).
        version: String,
    },
    /// An element with a missing or mistyped field.
    #[error("profile manifest \"{}\" is damaged: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the element.
        message: String,
    },
    /// A `manifest.nix` outside the literal subset rflake reads.
    #[error("cannot read nix-env manifest \"{}\": {message}", path.display())]
    NixEnv {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests;
