//! Reading the ATerm of `.drv` files (Nix's `parseDerivation` in
//! `libstore/derivation/aterm.cc`).
//!
//! The grammar is flat (lists of tuples of strings), so the parser is a loop over the input
//! with no recursion at all; it never panics, and its work and memory are linear in the input.
//!
//! It accepts what Nix accepts, with these differences (`docs/deviations.md`):
//! - `DrvWithVersion(…)` (dynamic-derivation inputs, experimental) is rejected.
//! - Bytes after the closing `)` are an error (Nix ignores them).
//! - A field Nix writes without escaping (output names, paths, hash fields, output lists,
//!   system) must not contain an escape, so that what was read is written back the same.
//!
//! A file Nix wrote is written back byte for byte by [`Derivation::to_aterm`]; input Nix
//! would not write (unsorted lists, hashes not in base16, superfluous escapes) is read as Nix
//! reads it and written in Nix's form.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Derivation, Output, fixed_output_path};
use crate::hash::{Algo, Hash};
use crate::store::ca::Method;
use crate::store::path::StoreDir;

/// A `.drv` file that does not parse: what is wrong, and the byte offset where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset} of the derivation")]
pub struct ParseError {
    /// The byte offset in the input.
    pub offset: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a `.drv` file, worded as Nix words it where it has words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The input does not start with `Derive(`.
    #[error("derivation does not start with 'Derive' or 'DrvWithVersion'")]
    NotDerive,
    /// A versioned derivation (`DrvWithVersion`), which rflake does not read.
    #[error("derivations in the 'DrvWithVersion' format (dynamic derivations) are not supported")]
    Versioned,
    /// Something else was found where a given token belongs.
    #[error("expected string '{0}'")]
    Expected(&'static str),
    /// A string without its closing quote.
    #[error("unterminated string in derivation")]
    Unterminated,
    /// An escape in a field Nix writes without escaping.
    #[error("escape sequence in '{0}', a field written without escapes")]
    EscapeInRawField(String),
    /// A field that must be UTF-8 is not.
    #[error("invalid UTF-8 in a derivation field")]
    NotUtf8,
    /// A store path that does not parse.
    #[error("{0}")]
    BadPath(crate::store::path::Error),
    /// An unknown hash algorithm in an output.
    #[error("unknown hash algorithm '{0}', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'")]
    BadAlgo(String),
    /// A hash that does not parse.
    #[error("{0}")]
    BadHash(crate::hash::Error),
    /// An impure output with a path.
    #[error("impure derivation output should not specify output path")]
    ImpureWithPath,
    /// A floating content-addressed output with a path.
    #[error("content-addressing derivation output should not specify output path")]
    FloatingWithPath,
    /// A fixed output whose path is not its content address's.
    #[error(
        "derivation output '{output}' has path '{path}', which does not match its content address"
    )]
    FixedPathMismatch {
        /// The output's name.
        output: String,
        /// The path the file states.
        path: String,
    },
    /// A hash algorithm the output's method cannot use.
    #[error("content-addressing method '{}' cannot use hash algorithm '{algo}'", method.name())]
    MethodAlgo {
        /// The method.
        method: Method,
        /// The algorithm.
        algo: Algo,
    },
    /// An input derivation with an empty list of outputs.
    #[error("inputDrvs entry for '{0}' specifies no outputs")]
    NoInputOutputs(String),
    /// Bytes after the end of the derivation.
    #[error("trailing data after the derivation")]
    Trailing,
}

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            offset: self.pos,
            kind,
        }
    }

    fn expect(&mut self, token: &'static str) -> Result<(), ParseError> {
        if self.input[self.pos..].starts_with(token.as_bytes()) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(self.err(ParseErrorKind::Expected(token)))
        }
    }

    /// After an element: `true` at the end of the list (consumes `]`), `false` before
    /// another element (consumes `,` unless it is the first element).
    fn end_of_list(&mut self, first: bool) -> Result<bool, ParseError> {
        match self.input.get(self.pos) {
            Some(b']') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(false)
            }
            _ if first => Ok(false),
            _ => Err(self.err(ParseErrorKind::Expected("]"))),
        }
    }

    /// Reads a quoted string with Nix's escapes (`\n`, `\r`, `\t`, `\` + any byte).
    fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        self.expect("\"")?;
        let start = self.pos;
        let mut out = Vec::new();
        let mut i = self.pos;
        loop {
            let Some(&c) = self.input.get(i) else {
                self.pos = start;
                return Err(self.err(ParseErrorKind::Unterminated));
            };
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.input.get(i + 1) else {
                        self.pos = start;
                        return Err(self.err(ParseErrorKind::Unterminated));
                    };
                    out.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    });
                    i += 2;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        self.pos = i + 1;
        Ok(out)
    }

    /// Reads a quoted string that Nix writes without escapes, as UTF-8.
    fn raw_string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let bytes = self.string()?;
        // Unescaped, the content is exactly the bytes between the quotes.
        if self.pos - start - 2 != bytes.len() {
            self.pos = start;
            return Err(self.err(ParseErrorKind::EscapeInRawField(
                String::from_utf8_lossy(&bytes).into_owned(),
            )));
        }
        String::from_utf8(bytes).map_err(|_| ParseError {
            offset: start,
            kind: ParseErrorKind::NotUtf8,
        })
    }

    fn store_path(&mut self, dir: &StoreDir) -> Result<crate::store::StorePath, ParseError> {
        let start = self.pos;
        let s = self.raw_string()?;
        dir.parse(&s).map_err(|e| ParseError {
            offset: start,
            kind: ParseErrorKind::BadPath(e),
        })
    }
}

impl Derivation {
    /// Parses the text of a `.drv` file whose derivation is named `name` (the file's store
    /// path name without `.drv`), in store `dir`.
    pub fn parse(dir: &StoreDir, text: &[u8], name: &str) -> Result<Derivation, ParseError> {
        let mut c = Cursor {
            input: text,
            pos: 0,
        };
        if text.starts_with(b"DrvWithVersion(") {
            return Err(c.err(ParseErrorKind::Versioned));
        }
        if !text.starts_with(b"Derive(") {
            return Err(c.err(ParseErrorKind::NotDerive));
        }
        c.pos = "Derive(".len();
        let mut drv = Derivation {
            name: name.to_owned(),
            ..Derivation::default()
        };

        c.expect("[")?;
        let mut first = true;
        while !c.end_of_list(first)? {
            first = false;
            c.expect("(")?;
            let id = c.raw_string()?;
            c.expect(",")?;
            let at = c.pos;
            let path = c.raw_string()?;
            c.expect(",")?;
            let algo = c.raw_string()?;
            c.expect(",")?;
            let hash = c.raw_string()?;
            c.expect(")")?;
            let output = parse_output(dir, name, &id, &path, &algo, &hash)
                .map_err(|kind| ParseError { offset: at, kind })?;
            // Like Nix (`emplace`), the first of two outputs of the same name wins.
            drv.outputs.entry(id).or_insert(output);
        }

        c.expect(",[")?;
        let mut first = true;
        while !c.end_of_list(first)? {
            first = false;
            c.expect("(")?;
            let at = c.pos;
            let path = c.store_path(dir)?;
            c.expect(",[")?;
            let mut outs = BTreeSet::new();
            let mut first_out = true;
            while !c.end_of_list(first_out)? {
                first_out = false;
                outs.insert(c.raw_string()?);
            }
            if outs.is_empty() {
                return Err(ParseError {
                    offset: at,
                    kind: ParseErrorKind::NoInputOutputs(dir.print(&path)),
                });
            }
            c.expect(")")?;
            drv.input_drvs.insert(path, outs);
        }

        c.expect(",[")?;
        let mut first = true;
        while !c.end_of_list(first)? {
            first = false;
            drv.input_srcs.insert(c.store_path(dir)?);
        }

        c.expect(",")?;
        drv.system = c.raw_string()?.into_bytes();
        c.expect(",")?;
        drv.builder = c.string()?;

        c.expect(",[")?;
        let mut first = true;
        while !c.end_of_list(first)? {
            first = false;
            drv.args.push(c.string()?);
        }

        c.expect(",[")?;
        let mut env = BTreeMap::new();
        let mut first = true;
        while !c.end_of_list(first)? {
            first = false;
            c.expect("(")?;
            let key = c.string()?;
            c.expect(",")?;
            let value = c.string()?;
            c.expect(")")?;
            // Like Nix (`insert_or_assign`), the last of two equal keys wins.
            env.insert(key, value);
        }
        drv.env = env;

        c.expect(")")?;
        if c.pos != text.len() {
            return Err(c.err(ParseErrorKind::Trailing));
        }
        Ok(drv)
    }
}

/// Reads one output tuple's fields (Nix's `parseDerivationOutput`).
fn parse_output(
    dir: &StoreDir,
    drv_name: &str,
    output: &str,
    path: &str,
    algo_field: &str,
    hash: &str,
) -> Result<Output, ParseErrorKind> {
    if algo_field.is_empty() {
        if path.is_empty() {
            return Ok(Output::Deferred);
        }
        return dir
            .parse(path)
            .map(Output::InputAddressed)
            .map_err(ParseErrorKind::BadPath);
    }
    let (method, algo_name) = Method::split_prefix(algo_field);
    let algo =
        Algo::from_name(algo_name).ok_or_else(|| ParseErrorKind::BadAlgo(algo_name.to_owned()))?;
    if hash == "impure" {
        if !path.is_empty() {
            return Err(ParseErrorKind::ImpureWithPath);
        }
        return Ok(Output::Impure { method, algo });
    }
    if hash.is_empty() {
        if !path.is_empty() {
            return Err(ParseErrorKind::FloatingWithPath);
        }
        return Ok(Output::CaFloating { method, algo });
    }
    let stated = dir.parse(path).map_err(ParseErrorKind::BadPath)?;
    let hash = Hash::parse_bare(hash, algo).map_err(ParseErrorKind::BadHash)?;
    // The stated path is a function of the rest; it must agree (Nix's `CAFixedPathMismatch`).
    let mismatch = || ParseErrorKind::FixedPathMismatch {
        output: output.to_owned(),
        path: path.to_owned(),
    };
    let computed = match fixed_output_path(dir, drv_name, output, method, &hash) {
        Ok(p) => p,
        Err(super::Error::MethodAlgo { method, algo }) => {
            return Err(ParseErrorKind::MethodAlgo { method, algo });
        }
        Err(_) => return Err(mismatch()),
    };
    if computed != stated {
        return Err(mismatch());
    }
    Ok(Output::Fixed {
        method,
        hash,
        path: stated,
    })
}
