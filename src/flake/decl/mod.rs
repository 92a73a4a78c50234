//! Reading a flake's metadata from `flake.nix` without evaluating it (spec Part B): the
//! `description`, the `inputs` declarations, the formal parameters of `outputs` (implicit
//! inputs), `inputs.self` and `nixConfig`.
//!
//! Mirrors `readFlake`, `parseFlakeInputs`, `parseFlakeInput` and `parseFlakeInputAttr` in the
//! Nix source's `src/libflake/flake.cc`. Nix only forces "trivial" values there, so a parser
//! (rnix) plus a literal reader (the `value` module) suffices: anything computed is a thunk and
//! gets Nix's `expected a string but got a thunk at <pos>` error. As in Nix, `-1` is a call (so a
//! thunk; the "negative value" error cannot be reached from a literal), and an indented string
//! made of several lexer pieces (`''a''$b''`) is a concatenation (also a thunk). The checks run in Nix's order:
//! `description`, `inputs`, `outputs`, `nixConfig`, unsupported attributes, then the
//! `inputs.self` attributes.
//!
//! Positions are Nix's attribute positions: the start of the attribute path of the binding that
//! defined the attribute (`inputs.a.url = 1;` reports the `i` of `inputs`), or of the formal
//! argument for an implicit input.
//!
//! Input names are not checked, as in Nix (`inputs."a'".flake = false;` is read; locking it as
//! `flake:a'` fails later). A formal argument of `outputs` is parsed as a flake reference, as
//! Nix does, so `{ self, nixpkgs' }:` fails with `flake reference 'nixpkgs'' is not an absolute
//! path`.
//!
//! # Deviations
//!
//! - [`read`]'s messages are one line: Nix's parse errors (`syntax error, unexpected '}',
//!   expecting ';'` then `at <file>:<l>:<c>:` and the code frame) become `<message>, at
//!   <file>:<l>:<c>`; [`read_located`] gives them back Nix's shape ([`Error::At`]). Syntax
//!   errors come from rnix, worded with Nix's token names; the expected tokens bison lists can
//!   differ.
//! - Where Nix gives no position in the message but only in a trace (`flake input attribute
//!   'x' is a list while …`, a bad `follows`, a rejected URL or attribute form, an invalid formal
//!   name), `, at <file>:<l>:<c>` is added.
//! - A variable is a thunk, except `true`, `false` and `null`: Nix also resolves other builtins
//!   (`outputs = import;` is a function there) and, in a `rec` set, its own attributes.
//! - A dynamic attribute at the top level (`${e} = …;`) is rejected: Nix would evaluate its name.
//! - A relative path literal leaving the source tree (`url = ./..;` at the root) is rejected with
//!   Nix's "same source tree" message; Nix clamps it to the root.
//! - A path in `nixConfig` is kept as written; Nix copies it to the store and uses the store path.
//! - Attributes are visited in the order they were first written; Nix visits them in the order
//!   their names were first interned, which decides which error comes first when there are
//!   several. Columns count characters.
//! - `~/…` paths fail as in Nix's pure mode, even with `--impure`.

mod inputs;
mod strings;
mod syntax;
mod value;

use std::collections::BTreeMap;

use rnix::ast;

use crate::flakeref::{self, Attrs, FlakeRef, ParseOptions};
use crate::report::Silent;

use syntax::node;
use value::Value;

/// A position in `flake.nix`, 1-based.
pub use crate::eval::parse::Pos;

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
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputDecl {
    /// The reference, if one was given (`url`, `type`+attributes, a path literal), or
    /// `flake:<name>` for an input implied by a formal argument of `outputs`. `None` for a
    /// declaration without one (`inputs.x = { };`), which the locker reads as `flake:<name>`.
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// An error at a position, shown as Nix shows one: the message, then `at <file>:<l>:<c>:`
    /// and the code frame around the position ([`crate::util::code_frame`]).
    #[error("{msg}\nat {file}:{pos}:{}", frame.iter().map(|l| format!("\n{l}")).collect::<String>())]
    At {
        /// The message (without a trailing `, at <file>:<l>:<c>`).
        msg: String,
        /// The file, as named in messages.
        file: String,
        /// The position.
        pos: Pos,
        /// The code frame's lines.
        frame: Vec<String>,
    },
}

impl Error {
    /// Turns a message ending with the position of a place in `file` (`…, at <file>:<l>:<c>`
    /// or `… at <file>:<l>:<c>`) into [`Error::At`] with the code frame from `text`. A
    /// trailing `, at …` leaves the message, as Nix prints that position below it; a position
    /// that is part of Nix's wording (`… but got a thunk at …`) stays in it.
    fn locate(self, text: &str, file: &str) -> Error {
        let Error::Msg(m) = &self else {
            return self;
        };
        let needle = format!(" at {file}:");
        let Some(i) = m.rfind(&needle) else {
            return self;
        };
        let Some((l, c)) = m[i + needle.len()..].split_once(':') else {
            return self;
        };
        let (Ok(line), Ok(column)) = (l.parse::<u32>(), c.parse::<u32>()) else {
            return self;
        };
        let msg = m[..i].strip_suffix(',').unwrap_or(m).to_owned();
        Error::At {
            msg,
            file: file.to_owned(),
            pos: Pos { line, column },
            frame: crate::util::code_frame::lines(text, line, column),
        }
    }
}

/// [`read`], with an error at a position of the file shown as Nix shows it: the message, the
/// position and the code frame ([`Error::At`]).
pub fn read_located(text: &str, opts: &ReadOptions) -> Result<FlakeDecl, Error> {
    read(text, opts).map_err(|e| e.locate(text, &opts.file_label))
}

/// Reads the metadata of the flake whose `flake.nix` text is `text`.
pub fn read(text: &str, opts: &ReadOptions) -> Result<FlakeDecl, Error> {
    let src = syntax::Source::parse(text, &opts.file_label)?;
    let r = Reader { opts, src: &src };
    let Some(ast::Expr::AttrSet(top)) = src.top() else {
        return Err(r.err(format!(
            "file '{}' must be an attribute set",
            opts.file_label
        )));
    };
    let top = src
        .builder()
        .entries(node(&top))
        .map_err(|e| r.err(e.msg))?;
    if let Some(pos) = top.dynamic {
        return Err(r.err(format!(
            "flake '{}' has a dynamic attribute, which cannot be read without evaluation, at {}",
            opts.flake_label,
            r.at(pos)
        )));
    }
    let mut decl = FlakeDecl::default();
    if let Some(b) = top.get("description") {
        match &b.value {
            Value::Str(s) => decl.description = Some(s.clone()),
            v => return Err(r.expected("a string", v, b.pos)),
        }
    }
    if let Some(b) = top.get("inputs") {
        (decl.inputs, decl.self_attrs) = inputs::inputs(&r, &b.value, b.pos, true)?;
    }
    match top.get("outputs") {
        None => {
            return Err(r.err(format!(
                "flake '{}' lacks attribute 'outputs'",
                opts.flake_label
            )));
        }
        Some(b) => match &b.value {
            Value::Lambda(formals) => implicit_inputs(&r, formals.as_deref(), &mut decl)?,
            v => return Err(r.expected("a function", v, b.pos)),
        },
    }
    if let Some(b) = top.get("nixConfig") {
        decl.nix_config = nix_config(&r, &b.value, b.pos)?;
    }
    for (name, b) in &top.attrs {
        if !matches!(
            name.as_str(),
            "description" | "inputs" | "outputs" | "nixConfig"
        ) {
            return Err(r.err(format!(
                "flake '{}' has an unsupported attribute '{name}', at {}",
                opts.flake_label,
                r.at(b.pos)
            )));
        }
    }
    if let Some(name) = decl
        .self_attrs
        .keys()
        .find(|k| !matches!(k.as_str(), "submodules" | "lfs"))
    {
        return Err(r.err(format!("flake 'self' attribute '{name}' is not supported")));
    }
    Ok(decl)
}

/// The formal arguments of `outputs` other than `self` that are not declared inputs become
/// `flake:<name>` inputs. Each name must parse as a flake reference.
fn implicit_inputs(
    r: &Reader<'_>,
    formals: Option<&[(String, Pos)]>,
    decl: &mut FlakeDecl,
) -> Result<(), Error> {
    for (name, pos) in formals.unwrap_or_default() {
        if name == "self" {
            continue;
        }
        // Nix's `readFlake` gives the input this parsed ref (`flake:<name>`), so that under
        // `--override-input` the lock's `original` stays the declared `flake:<name>`.
        let flake_ref = flakeref::parse(name, &ParseOptions::default(), &Silent)
            .map_err(|e| r.err(format!("{e}, at {}", r.at(*pos))))?;
        decl.inputs
            .entry(name.clone())
            .or_insert_with(|| InputDecl {
                flake_ref: Some(flake_ref),
                follows: None,
                is_flake: true,
                overrides: BTreeMap::new(),
                pos: *pos,
            });
    }
    Ok(())
}

/// `nixConfig`: strings, paths, integers, Booleans and lists of strings.
fn nix_config(
    r: &Reader<'_>,
    value: &Value,
    pos: Pos,
) -> Result<BTreeMap<String, ConfigValue>, Error> {
    let set = match value {
        Value::Set(s) if s.dynamic.is_none() => s,
        v => return Err(r.expected("a set", v, pos)),
    };
    let mut config = BTreeMap::new();
    for (name, b) in &set.attrs {
        let v = match &b.value {
            Value::Str(s) => ConfigValue::Str(s.clone()),
            Value::Path { text, .. } => ConfigValue::Str(text.clone()),
            Value::Int(i) => ConfigValue::Int(*i),
            Value::Bool(x) => ConfigValue::Bool(*x),
            Value::List(items) => {
                let mut list = Vec::new();
                for item in items {
                    match item {
                        Value::Str(s) => list.push(s.clone()),
                        // Nix names the type of the setting, not of the element.
                        _ => {
                            return Err(r.err(format!(
                                "list element in flake configuration setting '{name}' is a list \
                                 while a string is expected, at {}",
                                r.at(b.pos)
                            )));
                        }
                    }
                }
                ConfigValue::List(list)
            }
            v => {
                return Err(r.err(format!(
                    "flake configuration setting '{name}' is {}, at {}",
                    v.forced_type(),
                    r.at(b.pos)
                )));
            }
        };
        config.insert(name.clone(), v);
    }
    Ok(config)
}

/// What the readers share: the options and the parsed file.
struct Reader<'a> {
    opts: &'a ReadOptions,
    src: &'a syntax::Source<'a>,
}

impl Reader<'_> {
    /// `<file>:<line>:<column>`.
    fn at(&self, pos: Pos) -> String {
        self.src.at(pos)
    }

    fn err(&self, msg: String) -> Error {
        Error::Msg(msg)
    }

    /// `expected <want> but got <type> at <pos>`, the type as Nix shows it after forcing.
    fn expected(&self, want: &str, got: &Value, pos: Pos) -> Error {
        Error::Msg(format!(
            "expected {want} but got {} at {}",
            got.forced_type(),
            self.at(pos)
        ))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_inputs;
