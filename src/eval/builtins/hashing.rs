//! `hashString`, `hashFile` and `convertHash` (Nix's `prim_hashString`, `prim_hashFile`,
//! `prim_convertHash`): md5, sha1, sha256 and sha512 through [`crate::hash`], printed in
//! base-16, or converted between base-16, nix32, base64 and SRI.

use super::PrimOp;
use super::args::{arg, str_no_ctx};
use crate::eval::error::{R, err};
use crate::eval::machine::{Machine, io_error};
use crate::eval::pos::PosIdx;
use crate::eval::symbol::Symbol;
use crate::eval::value::Value;
use crate::hash::{Algo, Hash};

/// The algorithm named by the first argument (`parseHashAlgo`, then Nix's refusal).
fn algo(m: &mut Machine, v: &Value, builtin: &str) -> R<Algo> {
    let name = str_no_ctx(
        m,
        v,
        &format!("while evaluating the first argument passed to builtins.{builtin}"),
    )?;
    let name = String::from_utf8_lossy(&name).into_owned();
    match Algo::from_name(&name) {
        Some(a) => Ok(a),
        None => err(crate::hash::Error::UnknownAlgo(name).to_string()),
    }
}

fn hash_string(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let algo = algo(m, &a[0], "hashString")?;
    let s = arg(
        m.str_of(&a[1]),
        "while evaluating the second argument passed to builtins.hashString",
    )?;
    Ok(Value::string(Hash::digest(algo, &s.s).to_base16()))
}

fn hash_file(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let algo = algo(m, &a[0], "hashFile")?;
    let p = super::control::realised_path_of(m, &a[1])?;
    if m.io.file_type(&p).map_err(io_error)?.is_none() {
        return err(format!("path '{p}' does not exist"));
    }
    let bytes = m.io.read_file(&p).map_err(io_error)?;
    Ok(Value::string(Hash::digest(algo, &bytes).to_base16()))
}

/// An attribute of `convertHash`'s argument as a string without context.
fn field(m: &mut Machine, v: &Value, name: &str) -> R<String> {
    let s = str_no_ctx(m, v, &format!("while evaluating the attribute '{name}'"))?;
    Ok(String::from_utf8_lossy(&s).into_owned())
}

fn convert_hash(m: &mut Machine, a: &[Value], _: PosIdx) -> R<Value> {
    let set = arg(
        m.attrs_of(&a[0]),
        "while evaluating the first argument passed to builtins.convertHash",
    )?;
    let Some(hash) = set.get(Symbol::intern("hash")) else {
        return arg(
            err("attribute 'hash' missing"),
            "while locating the attribute 'hash'",
        );
    };
    let hash = field(m, &hash.value.clone(), "hash")?;
    let algo = match set.get(Symbol::intern("hashAlgo")) {
        Some(x) => {
            let name = field(m, &x.value.clone(), "hashAlgo")?;
            match Algo::from_name(&name) {
                Some(a) => Some(a),
                None => return err(crate::hash::Error::UnknownAlgo(name).to_string()),
            }
        }
        None => None,
    };
    let Some(format) = set.get(Symbol::intern("toHashFormat")) else {
        return arg(
            err("attribute 'toHashFormat' missing"),
            "while locating the attribute 'toHashFormat'",
        );
    };
    let format = field(m, &format.value.clone(), "toHashFormat")?;
    let render: fn(&Hash) -> String = match format.as_str() {
        "base16" => Hash::to_base16,
        "nix32" => Hash::to_nix32,
        "base32" => {
            m.io.message("warning: \"base32\" is a deprecated alias for hash format \"nix32\".");
            Hash::to_nix32
        }
        "base64" => Hash::to_base64,
        "sri" => Hash::to_sri,
        _ => {
            return err(format!(
                "unknown hash format '{format}', expect 'base16', 'base32', 'base64', or 'sri'"
            ));
        }
    };
    let parsed = match Hash::parse_any(&hash, algo) {
        Ok(h) => h,
        Err(e) => return err(e.to_string()),
    };
    Ok(Value::string(render(&parsed)))
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "hashString",
        arity: 2,
        f: hash_string,
    },
    PrimOp {
        name: "hashFile",
        arity: 2,
        f: hash_file,
    },
    PrimOp {
        name: "convertHash",
        arity: 1,
        f: convert_hash,
    },
];
