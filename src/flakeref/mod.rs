//! Flake references: parsing, validation and printing (Nix's `FlakeRef`, `fetchers::Input`).
//!
//! Mirrors the Nix source's `src/libflake/flakeref.cc` (`parseFlakeRefWithFragment`), the
//! input schemes of `src/libfetchers/` and the URL code of `src/libutil/url.cc`, as specified in
//! the project spec `flakeref-registry-fetchers.md`, Parts 1–5.
//!
//! A flake reference is an [`Input`] plus a subdirectory (`dir`). Parsing runs the three steps of
//! spec §3.2: the `nixpkgs/branch` shorthand, a URL, then a path-like string (resolved against a
//! base directory on the command line, see [`local`]).
//!
//! # Deviations
//!
//! - Type-specific validation errors raised while converting a parsed URL are reported as is
//!   instead of being masked by a path error (upstream PR #16353, after the 2.36 snapshot).
//! - A git `rev` is checked when parsed (spec §9.4).

pub mod attrs;
pub mod input;
pub mod installable;
pub mod local;
mod parse;
pub mod refname;
pub mod schemes;
pub mod types;
pub mod url;

pub use attrs::{Attr, Attrs};
pub use input::{Input, Kind};
pub use local::FsProbe;
pub use parse::{ParseOptions, parse, parse_with_fragment};
pub use types::tarball::normalise_nar_hash;

use crate::report::Reporter;

/// Errors from parsing, validating or printing flake references, worded as Nix words them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A validation error of an input type or of attributes (message as Nix prints it).
    #[error("{0}")]
    Invalid(String),
    /// No input type accepts the URL.
    #[error("input '{0}' is unsupported")]
    Unsupported(String),
    /// `file+git:` was written for `git+file:`.
    #[error("input '{0}' is unsupported; did you mean 'git+file' instead of 'file+git'?")]
    FileGit(String),
    /// A relative path where only absolute paths are allowed.
    #[error("flake reference '{0}' is not an absolute path")]
    NotAbsolute(String),
    /// A `#fragment` where none is allowed.
    #[error("unexpected fragment '{fragment}' in flake reference '{reference}'")]
    UnexpectedFragment {
        /// The decoded fragment.
        fragment: String,
        /// The reference as given.
        reference: String,
    },
    /// An input of an unknown type cannot be printed.
    #[error("cannot show unsupported input '{0}'")]
    CannotShow(String),
    /// A malformed `rev` or `narHash`.
    #[error(transparent)]
    Hash(#[from] crate::hash::Error),
    /// Resolving a path on the command line failed (spec §3.5).
    #[error("{0}")]
    Path(String),
}

/// How a URL is turned into an input.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlContext {
    /// A `flake = false` input: plain URLs without an archive extension are `file`, not `tarball`.
    pub non_flake: bool,
}

/// A flake reference: an input and the subdirectory of the flake inside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct FlakeRef {
    /// The input (all attributes but `dir`).
    pub input: Input,
    /// The `dir` attribute; empty when the flake is at the root.
    pub subdir: String,
}

impl FlakeRef {
    /// Makes a reference from its attribute form, taking `dir` out of the attributes.
    pub fn from_attrs(mut attrs: Attrs, report: &dyn Reporter) -> Result<FlakeRef, Error> {
        let subdir = match attrs.remove("dir") {
            None => String::new(),
            Some(Attr::Str(s)) => s,
            Some(_) => {
                return Err(Error::Invalid(
                    "input attribute 'dir' is not a string".into(),
                ));
            }
        };
        Ok(FlakeRef {
            input: Input::from_attrs(attrs, report)?,
            subdir,
        })
    }

    /// Returns the attribute form: the input's attributes plus `dir` when not empty.
    pub fn to_attrs(&self) -> Attrs {
        let mut attrs = self.input.attrs().clone();
        if !self.subdir.is_empty() {
            attrs.insert("dir".into(), Attr::Str(self.subdir.clone()));
        }
        attrs
    }

    /// Prints the URL form: the input's URL with `dir` added to the query (spec §5.1).
    pub fn to_url_string(&self) -> Result<String, Error> {
        let mut u = self.input.to_url()?;
        if !self.subdir.is_empty() {
            u.query
                .entry("dir".into())
                .or_insert_with(|| self.subdir.clone());
        }
        Ok(u.to_string())
    }
}

#[cfg(test)]
mod tests;
