//! The derivation model: outputs of each kind, inputs, builder, arguments and environment.
//!
//! Mirrors the Nix source's `Derivation` and `DerivationOutput` (`libstore/derivations.hh`,
//! `libstore/derivation/output.cc`), with the store-path-level inputs of a derivation that has
//! no dynamic-derivation inputs.

use std::collections::{BTreeMap, BTreeSet};

use super::Error;
use crate::hash::{Algo, Hash};
use crate::store::ca::{ContentAddress, Method};
use crate::store::path::{Error as PathError, References, StoreDir, StorePath};

/// The extension of a derivation's store path name.
pub const DRV_EXTENSION: &str = ".drv";

/// One output of a derivation (Nix's `DerivationOutput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// An input-addressed output whose path is known (`InputAddressed`).
    InputAddressed(StorePath),
    /// A fixed-output (content-addressed, hash known in advance) output (`CAFixed`). The path
    /// is a function of the method, the hash and the output's name; it is kept because the
    /// ATerm states it.
    Fixed {
        /// How the output's content is hashed.
        method: Method,
        /// The expected hash; its algorithm is the output's hash algorithm.
        hash: Hash,
        /// The output path the content address gives.
        path: StorePath,
    },
    /// A content-addressed output whose hash is known only after building (`CAFloating`,
    /// experimental feature `ca-derivations`).
    CaFloating {
        /// How the output's content is hashed.
        method: Method,
        /// The hash algorithm.
        algo: Algo,
    },
    /// An output of an impure derivation (`Impure`, experimental feature
    /// `impure-derivations`).
    Impure {
        /// How the output's content is hashed.
        method: Method,
        /// The hash algorithm.
        algo: Algo,
    },
    /// An input-addressed output whose path is not known yet because an input is content
    /// addressed and floating (`Deferred`).
    Deferred,
}

impl Output {
    /// Makes a fixed output named `output` of the derivation named `drv_name`, computing its
    /// path (Nix's `DerivationOutput::CAFixed::path`).
    pub fn fixed(
        dir: &StoreDir,
        drv_name: &str,
        output: &str,
        method: Method,
        hash: Hash,
    ) -> Result<Output, Error> {
        let path = fixed_output_path(dir, drv_name, output, method, &hash)?;
        Ok(Output::Fixed { method, hash, path })
    }

    /// Returns the output's path when it is known (input-addressed or fixed).
    pub fn path(&self) -> Option<&StorePath> {
        match self {
            Output::InputAddressed(p) | Output::Fixed { path: p, .. } => Some(p),
            _ => None,
        }
    }
}

/// Computes the path of a fixed output: the store path of the content address without
/// references, named [`output_path_name`] (Nix's `makeFixedOutputPathFromCA`). Text hashing
/// needs sha256, git hashing sha1 or sha256.
pub fn fixed_output_path(
    dir: &StoreDir,
    drv_name: &str,
    output: &str,
    method: Method,
    hash: &Hash,
) -> Result<StorePath, Error> {
    let algo = hash.algo();
    let ok = match method {
        Method::Text => algo == Algo::Sha256,
        Method::Git => matches!(algo, Algo::Sha1 | Algo::Sha256),
        Method::Flat | Method::Recursive => true,
    };
    if !ok {
        return Err(Error::MethodAlgo { method, algo });
    }
    let ca = ContentAddress {
        method,
        hash: hash.clone(),
    };
    Ok(ca.store_path(
        dir,
        &output_path_name(drv_name, output),
        &References::default(),
    )?)
}

/// Computes the path of input-addressed output `output` from the derivation's masked hash
/// (Nix's `makeOutputPath`: type `output:<output>`, name [`output_path_name`]).
pub fn input_addressed_path(
    dir: &StoreDir,
    drv_name: &str,
    output: &str,
    masked_hash: &Hash,
) -> Result<StorePath, PathError> {
    dir.make_path(
        &format!("output:{output}"),
        masked_hash,
        &output_path_name(drv_name, output),
    )
}

/// Returns the name of output `output`'s path: the derivation's name, plus `-<output>` unless
/// the output is `out` (Nix's `outputPathName`).
pub fn output_path_name(drv_name: &str, output: &str) -> String {
    if output == "out" {
        drv_name.to_owned()
    } else {
        format!("{drv_name}-{output}")
    }
}

/// Returns the placeholder Nix puts where output `output`'s path goes before it is known:
/// `/` and the nix32 sha256 of `nix-output:<output>` (Nix's `hashPlaceholder`, the
/// `placeholder` builtin).
pub fn placeholder(output: &str) -> String {
    let h = Hash::digest(Algo::Sha256, format!("nix-output:{output}").as_bytes());
    format!("/{}", h.to_nix32())
}

/// A store derivation (Nix's `Derivation` with store-path inputs): what a `.drv` file holds.
///
/// Byte strings (`system`, `builder`, `args`, the environment) are bytes, as Nix's strings
/// are; maps and sets keep Nix's orders (names and environment keys by bytes, store paths by
/// base name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Derivation {
    /// The derivation's name (its `.drv` path's name without `.drv`); not part of the ATerm.
    pub name: String,
    /// The outputs by name.
    pub outputs: BTreeMap<String, Output>,
    /// Input derivations and which of their outputs are used.
    pub input_drvs: BTreeMap<StorePath, BTreeSet<String>>,
    /// Input sources: store paths that are not derivation outputs.
    pub input_srcs: BTreeSet<StorePath>,
    /// The platform (`system`).
    pub system: Vec<u8>,
    /// The builder executable.
    pub builder: Vec<u8>,
    /// The builder's arguments.
    pub args: Vec<Vec<u8>>,
    /// The builder's environment.
    pub env: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// What kind of derivation its outputs make it (Nix's `DerivationType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Input-addressed; `deferred` when the output paths are not known yet.
    InputAddressed {
        /// Whether the outputs are deferred.
        deferred: bool,
    },
    /// One fixed output.
    Fixed,
    /// Floating content-addressed outputs.
    CaFloating,
    /// Impure outputs.
    Impure,
}

/// Output combinations Nix rejects (Nix's `DerivationType` checks), worded as Nix words them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// No outputs at all.
    #[error("must have at least one output")]
    NoOutputs,
    /// Outputs of different kinds.
    #[error("can't mix derivation output types")]
    Mixed,
    /// More than one fixed output.
    #[error("only one fixed output is allowed for now")]
    SeveralFixed,
    /// A fixed output not named `out`.
    #[error("single fixed output must be named \"out\"")]
    FixedNotOut,
    /// Floating outputs with different hash algorithms.
    #[error("all floating outputs must use the same hash algorithm")]
    FloatingAlgos,
}

impl Derivation {
    /// Returns the derivation's kind, rejecting mixed outputs as Nix does.
    pub fn kind(&self) -> Result<Kind, KindError> {
        let mut kind = None;
        let mut floating_algo = None;
        for (name, output) in &self.outputs {
            let this = match output {
                Output::InputAddressed(_) => Kind::InputAddressed { deferred: false },
                Output::Deferred => Kind::InputAddressed { deferred: true },
                Output::Fixed { .. } => Kind::Fixed,
                Output::CaFloating { algo, .. } => {
                    if floating_algo.is_some_and(|a| a != *algo) {
                        return Err(KindError::FloatingAlgos);
                    }
                    floating_algo = Some(*algo);
                    Kind::CaFloating
                }
                Output::Impure { .. } => Kind::Impure,
            };
            match kind {
                None => kind = Some(this),
                Some(k) if k != this => return Err(KindError::Mixed),
                Some(Kind::Fixed) => return Err(KindError::SeveralFixed),
                Some(_) => {}
            }
            if this == Kind::Fixed && name != "out" {
                return Err(KindError::FixedNotOut);
            }
        }
        kind.ok_or(KindError::NoOutputs)
    }

    /// Returns the references of the `.drv` file: the input derivations and input sources
    /// (Nix's `writeDerivation`; the outputs are not references).
    pub fn references(&self) -> BTreeSet<&StorePath> {
        self.input_drvs.keys().chain(&self.input_srcs).collect()
    }

    /// Returns the store path of this derivation's `.drv` file: a `text` store object named
    /// `<name>.drv` over the sha256 of the ATerm, with [`Derivation::references`] (Nix's
    /// `computeStorePath` / `writeDerivation`). The ATerm is returned too, to be written.
    pub fn drv_path_and_text(&self, dir: &StoreDir) -> Result<(StorePath, Vec<u8>), PathError> {
        let text = self.to_aterm(dir);
        let hash = Hash::digest(Algo::Sha256, &text);
        let refs: Vec<&StorePath> = self.references().into_iter().collect();
        let path = dir.make_text_path(&hash, &format!("{}{DRV_EXTENSION}", self.name), &refs)?;
        Ok((path, text))
    }

    /// Returns the store path of this derivation's `.drv` file (see
    /// [`Derivation::drv_path_and_text`]).
    pub fn drv_path(&self, dir: &StoreDir) -> Result<StorePath, PathError> {
        self.drv_path_and_text(dir).map(|(p, _)| p)
    }

    /// Returns the environment variable `key`, if set.
    pub fn env_var(&self, key: &str) -> Option<&[u8]> {
        self.env.get(key.as_bytes()).map(Vec::as_slice)
    }
}

/// Returns the derivation name of a `.drv` store path (its name without `.drv`), or `None` if
/// the path is not a derivation.
pub fn name_of_drv_path(path: &StorePath) -> Option<&str> {
    path.name().strip_suffix(DRV_EXTENSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            placeholder("out"),
            "/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9"
        );
        assert_eq!(output_path_name("multi-1.0", "dev"), "multi-1.0-dev");
        assert_eq!(output_path_name("multi-1.0", "out"), "multi-1.0");
    }

    #[test]
    fn kinds() {
        let dir = StoreDir::default();
        let p = dir
            .parse("/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0")
            .unwrap();
        let mut d = Derivation::default();
        assert_eq!(d.kind(), Err(KindError::NoOutputs));
        d.outputs.insert("out".into(), Output::InputAddressed(p));
        assert_eq!(d.kind(), Ok(Kind::InputAddressed { deferred: false }));
        d.outputs.insert("dev".into(), Output::Deferred);
        assert_eq!(d.kind(), Err(KindError::Mixed));
        let fixed = Output::fixed(
            &dir,
            "x",
            "dev",
            Method::Flat,
            Hash::digest(Algo::Sha256, b"hi"),
        )
        .unwrap();
        let mut f = Derivation::default();
        f.outputs.insert("dev".into(), fixed.clone());
        assert_eq!(f.kind(), Err(KindError::FixedNotOut));
        let mut f = Derivation::default();
        f.outputs.insert("out".into(), fixed.clone());
        assert_eq!(f.kind(), Ok(Kind::Fixed));
        f.outputs.insert("z".into(), fixed);
        assert_eq!(f.kind(), Err(KindError::SeveralFixed));
        let mut c = Derivation::default();
        for (n, algo) in [("a", Algo::Sha256), ("b", Algo::Sha512)] {
            c.outputs.insert(
                n.into(),
                Output::CaFloating {
                    method: Method::Recursive,
                    algo,
                },
            );
        }
        assert_eq!(c.kind(), Err(KindError::FloatingAlgos));
    }
}
