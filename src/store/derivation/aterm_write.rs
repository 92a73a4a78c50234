//! Writing a derivation as ATerm, the text of `.drv` files (Nix's `unparse` in
//! `libstore/derivation/aterm.cc`):
//!
//! ```text
//! Derive([("out","/nix/store/…","",""),…],[("/nix/store/….drv",["out"]),…],["/nix/store/…",…],"system","builder",["arg",…],[("KEY","VALUE"),…])
//! ```
//!
//! No whitespace, no trailing newline. The builder, the arguments and the environment are
//! escaped (`"` `\` newline, carriage return, tab); output names, paths, hash fields, input
//! paths, output lists and the system are written as they are, as Nix writes them.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Derivation, Output};
use crate::store::path::StoreDir;

impl Derivation {
    /// Returns the ATerm of the derivation, exactly as Nix writes the `.drv` file.
    pub fn to_aterm(&self, dir: &StoreDir) -> Vec<u8> {
        let drvs = self.input_drvs.iter().map(|(p, outs)| (dir.print(p), outs));
        write(self, dir, drvs, false)
    }
}

/// Writes `drv` with `input_drvs` in place of its input derivations (the keys already
/// printed: store paths, or the hex hashes of the hash modulo), masking the outputs (every
/// output `("o","","","")` and every environment variable named after an output empty) when
/// `mask` is set.
pub(super) fn write<'a, K: AsRef<str>>(
    drv: &Derivation,
    dir: &StoreDir,
    input_drvs: impl Iterator<Item = (K, &'a BTreeSet<String>)>,
    mask: bool,
) -> Vec<u8> {
    let mut s = Vec::with_capacity(4096);
    s.extend_from_slice(b"Derive([");
    for (i, (name, output)) in drv.outputs.iter().enumerate() {
        if i > 0 {
            s.push(b',');
        }
        s.push(b'(');
        raw(&mut s, name.as_bytes());
        let (path, algo, hash) = if mask {
            (String::new(), String::new(), String::new())
        } else {
            output_fields(output, dir)
        };
        for field in [path, algo, hash] {
            s.push(b',');
            raw(&mut s, field.as_bytes());
        }
        s.push(b')');
    }
    s.extend_from_slice(b"],[");
    for (i, (key, outs)) in input_drvs.enumerate() {
        if i > 0 {
            s.push(b',');
        }
        s.push(b'(');
        raw(&mut s, key.as_ref().as_bytes());
        s.push(b',');
        list(&mut s, outs.iter().map(|o| o.as_bytes()), raw);
        s.push(b')');
    }
    s.extend_from_slice(b"],");
    let srcs: Vec<String> = drv.input_srcs.iter().map(|p| dir.print(p)).collect();
    list(&mut s, srcs.iter().map(|p| p.as_bytes()), raw);
    s.push(b',');
    raw(&mut s, &drv.system);
    s.push(b',');
    escaped(&mut s, &drv.builder);
    s.push(b',');
    list(&mut s, drv.args.iter().map(Vec::as_slice), escaped);
    s.extend_from_slice(b",[");
    for (i, (key, value)) in drv.env.iter().enumerate() {
        if i > 0 {
            s.push(b',');
        }
        s.push(b'(');
        escaped(&mut s, key);
        s.push(b',');
        let masked = mask && std::str::from_utf8(key).is_ok_and(|k| drv.outputs.contains_key(k));
        escaped(&mut s, if masked { b"" } else { value });
        s.push(b')');
    }
    s.extend_from_slice(b"])");
    s
}

/// Returns the path, hash-algorithm and hash fields of an output's tuple.
fn output_fields(output: &Output, dir: &StoreDir) -> (String, String, String) {
    match output {
        Output::InputAddressed(p) => (dir.print(p), String::new(), String::new()),
        Output::Fixed { method, hash, path } => (
            dir.print(path),
            format!("{}{}", method.prefix(), hash.algo()),
            hash.to_base16(),
        ),
        Output::CaFloating { method, algo } => (
            String::new(),
            format!("{}{algo}", method.prefix()),
            String::new(),
        ),
        Output::Impure { method, algo } => (
            String::new(),
            format!("{}{algo}", method.prefix()),
            "impure".to_owned(),
        ),
        Output::Deferred => (String::new(), String::new(), String::new()),
    }
}

fn list<'a>(s: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>, item: fn(&mut Vec<u8>, &[u8])) {
    s.push(b'[');
    for (i, x) in items.enumerate() {
        if i > 0 {
            s.push(b',');
        }
        item(s, x);
    }
    s.push(b']');
}

/// A string written as it is, between quotes (Nix's `printUnquotedString`).
fn raw(s: &mut Vec<u8>, text: &[u8]) {
    s.push(b'"');
    s.extend_from_slice(text);
    s.push(b'"');
}

/// A string with `"`, `\`, newline, carriage return and tab escaped (Nix's `printString`).
fn escaped(s: &mut Vec<u8>, text: &[u8]) {
    s.reserve(text.len() + 2);
    s.push(b'"');
    let mut start = 0;
    for (i, &c) in text.iter().enumerate() {
        let esc = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            _ => continue,
        };
        s.extend_from_slice(&text[start..i]);
        s.push(b'\\');
        s.push(esc);
        start = i + 1;
    }
    s.extend_from_slice(&text[start..]);
    s.push(b'"');
}

/// The masked input derivations of the hash modulo: hex hash → output names, in hex order.
pub(super) type HashedInputs = BTreeMap<String, BTreeSet<String>>;
