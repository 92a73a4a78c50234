//! Reading a flake's metadata from `flake.nix` without evaluating it (spec Part B): the
//! `description`, the `inputs` declarations, the formal parameters of `outputs` (implicit
//! inputs), `inputs.self` and `nixConfig`.
//!
//! Mirrors `parseFlakeInputs`/`getFlake` in the Nix source's `src/libflake/flake.cc`. Nix only
//! forces "trivial" values there, so a parser (rnix) plus a literal reader suffices: anything
//! computed is a thunk and gets Nix's `expected a string but got a thunk at <pos>` error.

use std::collections::BTreeMap;

use crate::flakeref::{Attrs, FlakeRef};

/// A position in `flake.nix`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column (in characters), from 1.
    pub column: u32,
}

/// What reading needs to know about the file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// How the file is named in messages, e.g. `/nix/store/…-source/flake.nix`.
    pub file_label: String,
    /// The flake's reference as printed in messages (`flake '<ref>' lacks attribute 'outputs'`).
    pub flake_label: String,
    /// The directory of `flake.nix` relative to the root of its source tree (the flake's `dir`,
    /// empty at the root). Path literals are made relative to it and must stay inside the tree.
    pub subdir: String,
}

/// A flake's metadata, as declared in its `flake.nix`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlakeDecl {
    /// `description`.
    pub description: Option<String>,
    /// The inputs: the declared ones plus the implicit ones from `outputs`' formals.
    pub inputs: BTreeMap<String, InputDecl>,
    /// `inputs.self` attributes (`submodules`, `lfs`).
    pub self_attrs: Attrs,
    /// `nixConfig`, values as their JSON-ish form.
    pub nix_config: BTreeMap<String, ConfigValue>,
}

/// One `inputs.<name>` declaration (Nix's `FlakeInput`).
#[derive(Debug, Clone, PartialEq)]
pub struct InputDecl {
    /// The reference, if one was given (`url`, `type`+attributes, a path literal, or the
    /// implicit `flake:<name>` when there is neither a reference nor a `follows`).
    pub flake_ref: Option<FlakeRef>,
    /// `follows`, as written (relative to the declaring flake; the locker prefixes it).
    pub follows: Option<crate::flake::InputPath>,
    /// `flake` (default true).
    pub is_flake: bool,
    /// `inputs.<name>.inputs.<x>…`: overrides of this input's own inputs.
    pub overrides: BTreeMap<String, InputDecl>,
    /// Where it was declared.
    pub pos: Pos,
}

/// A `nixConfig` value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A string or path.
    Str(String),
    /// An integer.
    Int(i64),
    /// A Boolean.
    Bool(bool),
    /// A list of strings.
    List(Vec<String>),
}

/// Errors reading `flake.nix`, worded as Nix words them, with the position.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Any error; the message is complete (with `at <file>:<line>:<col>` where Nix has one).
    #[error("{0}")]
    Msg(String),
}

/// Reads the metadata of the flake whose `flake.nix` text is `text`.
pub fn read(text: &str, opts: &ReadOptions) -> Result<FlakeDecl, Error> {
    let _ = (text, opts);
    todo!("decl::read")
}
