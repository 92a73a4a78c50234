//! Giving a derivation its outputs, as `derivationStrict` does once it has gathered the
//! attributes (Nix's `derivationStrictInternal` in `libexpr/primops.cc`, and
//! `fillInOutputPaths` / `checkInvariants` in `libstore/derivations.cc`).
//!
//! - Fixed output: one output `out`, its path the content address's; `env.out` that path.
//! - Floating content-addressed or impure: every output pathless; `env.<o>` its
//!   [`placeholder`].
//! - Input-addressed: `env.<o>` empty and every output deferred, then the masked hash gives each
//!   output's path (`output:<o>` over the hash, name `<name>` or `<name>-<o>`) and `env.<o>`.
//!   While an input is floating the hash is unknown and the outputs stay deferred.

use std::collections::BTreeSet;

use super::Error;
use super::hash_modulo::{HashInput, InputHashes, hash_input, masked_hash};
use super::model::{DRV_EXTENSION, Derivation, Output, input_addressed_path, placeholder};
use crate::hash::{Algo, Hash};
use crate::store::ca::Method;
use crate::store::path::{StoreDir, StorePath};

/// How `derivationStrict` decided the outputs: from `outputHash`, `__contentAddressed` and
/// `__impure`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputsSpec {
    /// Input-addressed (neither `outputHash`, `__contentAddressed` nor `__impure`).
    InputAddressed,
    /// Fixed output (`outputHash`; method from `outputHashMode`, `flat` by default).
    Fixed {
        /// The method.
        method: Method,
        /// The expected hash.
        hash: Hash,
    },
    /// Floating content-addressed (`__contentAddressed = true`; method `nar` and algorithm
    /// sha256 by default).
    Floating {
        /// The method.
        method: Method,
        /// The algorithm.
        algo: Algo,
    },
    /// Impure (`__impure = true`).
    Impure {
        /// The method.
        method: Method,
        /// The algorithm.
        algo: Algo,
    },
}

/// A derivation given its outputs, with what the evaluator needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instantiated {
    /// The derivation, outputs and their environment variables filled in.
    pub drv: Derivation,
    /// The `.drv` file's store path.
    pub drv_path: StorePath,
    /// The `.drv` file's contents (its references are [`Derivation::references`]).
    pub text: Vec<u8>,
    /// The derivation's identity as an input, to record in a
    /// [`HashCache`](super::HashCache) under `drv_path`.
    pub hash_input: HashInput,
}

/// Parses `outputHashMode`: `flat`, `recursive` (the old name of `nar`), `nar`, `text`, `git`
/// (`derivationStrict`'s `handleHashMode`).
pub fn parse_hash_mode(mode: &str) -> Result<Method, Error> {
    match mode {
        "flat" => Ok(Method::Flat),
        "recursive" | "nar" => Ok(Method::Recursive),
        "text" => Ok(Method::Text),
        "git" => Ok(Method::Git),
        _ => Err(Error::BadHashMode(mode.to_owned())),
    }
}

/// The hash of `outputHash` (Nix's `newHashAllowEmpty`), with `algo` from `outputHashAlgo`
/// (an unknown name counts as none, as in Nix): any of Nix's hash syntaxes; an empty hash with
/// an algorithm is the all-zero hash, returned with the warning Nix prints.
pub fn parse_output_hash(hash: &str, algo: Option<Algo>) -> Result<(Hash, Option<String>), Error> {
    if hash.is_empty() {
        let algo = algo.ok_or(Error::EmptyHashNoAlgo)?;
        let zero = Hash::zero(algo);
        let warning = format!("found empty hash, assuming '{}'", zero.to_sri());
        return Ok((zero, Some(warning)));
    }
    let bad = |e: crate::hash::Error| Error::BadHash(e);
    // As Nix, the algorithms must agree before the digest is decoded.
    let prefix = hash.split_once(':').or_else(|| hash.split_once('-'));
    if let (Some((name, _)), Some(a)) = (prefix, algo)
        && Algo::from_name(name).is_some_and(|p| p != a)
    {
        return Err(Error::HashAlgoMismatch {
            hash: hash.to_owned(),
            algo: a,
        });
    }
    let parsed = match Hash::parse_prefixed(hash).map_err(bad)? {
        Some(h) => {
            if let Some(a) = algo
                && a != h.algo()
            {
                return Err(Error::HashAlgoMismatch {
                    hash: hash.to_owned(),
                    algo: a,
                });
            }
            h
        }
        None => {
            let algo = algo.ok_or_else(|| Error::HashWithoutAlgo(hash.to_owned()))?;
            Hash::parse_bare(hash, algo).map_err(bad)?
        }
    };
    Ok((parsed, None))
}

/// Rejects a derivation name ending in `.drv` unless it makes one text-hashed output `out`
/// (`derivationStrict`; `method` is the `outputHashMode` given, if any).
pub fn check_drv_suffix(
    name: &str,
    method: Option<Method>,
    outputs: &BTreeSet<String>,
) -> Result<(), Error> {
    let single_out = outputs.len() == 1 && outputs.contains("out");
    if name.ends_with(DRV_EXTENSION) && !(method == Some(Method::Text) && single_out) {
        return Err(Error::DrvSuffix);
    }
    Ok(())
}

/// Gives `drv` (as `derivationStrict` assembled it: inputs, system, builder, arguments and
/// environment, no outputs) the outputs `names` of kind `spec`, fills in their paths and
/// environment variables, and computes the `.drv` path, text and input hash.
pub fn instantiate(
    mut drv: Derivation,
    names: &BTreeSet<String>,
    spec: OutputsSpec,
    dir: &StoreDir,
    inputs: &mut dyn InputHashes,
) -> Result<Instantiated, Error> {
    if names.is_empty() {
        return Err(Error::Kind(super::KindError::NoOutputs));
    }
    drv.outputs.clear();
    match spec {
        OutputsSpec::Fixed { method, hash } => {
            if names.len() != 1 || !names.contains("out") {
                return Err(Error::FixedMultipleOutputs);
            }
            let output = Output::fixed(dir, &drv.name, "out", method, hash)?;
            if let Some(p) = output.path() {
                drv.env.insert(b"out".to_vec(), dir.print(p).into_bytes());
            }
            drv.outputs.insert("out".to_owned(), output);
        }
        OutputsSpec::Floating { method, algo } | OutputsSpec::Impure { method, algo } => {
            let impure = matches!(spec, OutputsSpec::Impure { .. });
            for name in names {
                drv.env
                    .insert(name.as_bytes().to_vec(), placeholder(name).into_bytes());
                let output = if impure {
                    Output::Impure { method, algo }
                } else {
                    Output::CaFloating { method, algo }
                };
                drv.outputs.insert(name.clone(), output);
            }
        }
        OutputsSpec::InputAddressed => {
            for name in names {
                drv.env.insert(name.as_bytes().to_vec(), Vec::new());
                drv.outputs.insert(name.clone(), Output::Deferred);
            }
            fill_in_output_paths(&mut drv, dir, inputs)?;
        }
    }
    let (drv_path, text) = drv.drv_path_and_text(dir)?;
    let hash_input = hash_input(&drv, dir, inputs)?;
    Ok(Instantiated {
        drv,
        drv_path,
        text,
        hash_input,
    })
}

/// Fills in the paths of deferred input-addressed outputs, and missing or empty environment
/// variables named after outputs (Nix's `fillInOutputPaths`). Outputs stay deferred while an
/// input is. A wrong path or environment variable is an error, as Nix's check makes it.
///
/// Differences from Nix: the `builder-rpc-v0` feature (outputs passed over RPC, no
/// environment variables) is not known; a wrong environment variable of a formerly deferred
/// output is corrected without Nix's warning.
pub fn fill_in_output_paths(
    drv: &mut Derivation,
    dir: &StoreDir,
    inputs: &mut dyn InputHashes,
) -> Result<(), Error> {
    process_output_paths(drv, dir, inputs, true)
}

/// Checks that the output paths and the environment variables named after outputs are those
/// Nix computes (Nix's `checkInvariants`), e.g. for a `.drv` file read from a store.
pub fn check_output_paths(
    drv: &Derivation,
    dir: &StoreDir,
    inputs: &mut dyn InputHashes,
) -> Result<(), Error> {
    let mut copy = drv.clone();
    process_output_paths(&mut copy, dir, inputs, false)
}

fn process_output_paths(
    drv: &mut Derivation,
    dir: &StoreDir,
    inputs: &mut dyn InputHashes,
    fill_in: bool,
) -> Result<(), Error> {
    // Rejects impossible output combinations before hashing.
    drv.kind()?;
    let mut hash: Option<Option<Hash>> = None;
    let names: Vec<String> = drv.outputs.keys().cloned().collect();
    for name in names {
        let output = drv.outputs.get(&name).cloned().unwrap_or(Output::Deferred);
        match output {
            Output::InputAddressed(_) | Output::Deferred => {
                if hash.is_none() {
                    hash = Some(masked_hash(drv, dir, inputs)?);
                }
                let known = hash.as_ref().and_then(Option::as_ref);
                match (known, &output) {
                    (Some(h), Output::InputAddressed(path)) => {
                        let right = input_addressed_path(dir, &drv.name, &name, h)?;
                        if *path != right {
                            return Err(Error::WrongOutput {
                                path: dir.print(path),
                                right: dir.print(&right),
                            });
                        }
                        env_has_right_path(drv, dir, &name, &right, fill_in, false)?;
                    }
                    (Some(h), _) => {
                        let right = input_addressed_path(dir, &drv.name, &name, h)?;
                        if fill_in {
                            drv.outputs
                                .insert(name.clone(), Output::InputAddressed(right.clone()));
                            env_has_right_path(drv, dir, &name, &right, fill_in, true)?;
                        }
                        // Nix only warns about a deferred output it could compute.
                    }
                    (None, Output::InputAddressed(path)) => {
                        return Err(Error::ShouldBeDeferred(dir.print(path)));
                    }
                    (None, _) => {}
                }
            }
            Output::Fixed { path, .. } => {
                env_has_right_path(drv, dir, &name, &path, fill_in, false)?;
            }
            Output::CaFloating { .. } | Output::Impure { .. } => {}
        }
    }
    Ok(())
}

fn env_has_right_path(
    drv: &mut Derivation,
    dir: &StoreDir,
    name: &str,
    right: &StorePath,
    fill_in: bool,
    was_deferred: bool,
) -> Result<(), Error> {
    let right_s = dir.print(right).into_bytes();
    let entry = drv.env.get_mut(name.as_bytes());
    match entry {
        None if fill_in => {
            drv.env.insert(name.as_bytes().to_vec(), right_s);
        }
        None => {
            return Err(Error::MissingEnv {
                name: name.to_owned(),
                right: dir.print(right),
            });
        }
        Some(v) if fill_in && (v.is_empty() || was_deferred) => *v = right_s,
        Some(v) if *v != right_s => {
            return Err(Error::WrongEnv {
                name: name.to_owned(),
                right: dir.print(right),
                actual: String::from_utf8_lossy(v).into_owned(),
            });
        }
        Some(_) => {}
    }
    Ok(())
}
