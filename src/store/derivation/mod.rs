//! Store derivations: the `.drv` files `derivation` writes and builds read.
//!
//! Mirrors the Nix source's `libstore/derivations.cc` (`Derivation`, `DerivationOutput`,
//! `writeDerivation`, `fillInOutputPaths`), `libstore/derivation/aterm.cc` (the ATerm text),
//! `libstore/derivation/modulo.cc` (`hashDerivationModulo`, now `hashInput` and the masked
//! hash) and the output handling of `derivationStrict` (`libexpr/primops.cc`). Formats only:
//! no I/O; the evaluator writes `.drv` files through the store.
//!
//! - [`model`]: [`Derivation`], [`Output`] (input-addressed, fixed, floating, impure,
//!   deferred), output path names, [`placeholder`].
//! - [`aterm_write`] / [`aterm_parse`]: [`Derivation::to_aterm`], [`Derivation::parse`].
//! - [`hash_modulo`]: [`hash_input`], [`masked_hash`], [`HashCache`].
//! - [`outputs`]: [`instantiate`] (what `derivationStrict` does after gathering the
//!   attributes), [`fill_in_output_paths`], [`check_output_paths`].
//! - [`name`]: [`check_name`] with Nix's messages.
//! - [`json`]: [`Derivation::to_json`], `nix derivation show`'s format version 4.

pub mod aterm_parse;
pub mod aterm_write;
pub mod hash_modulo;
pub mod json;
pub mod model;
pub mod name;
pub mod outputs;

pub use aterm_parse::{ParseError, ParseErrorKind};
pub use hash_modulo::{
    HashCache, HashInput, InputHashes, LoadError, hash_input, masked_aterm, masked_hash,
};
pub use model::{
    DRV_EXTENSION, Derivation, Kind, KindError, Output, fixed_output_path, input_addressed_path,
    name_of_drv_path, output_path_name, placeholder,
};
pub use name::{NameError, check_name};
pub use outputs::{
    Instantiated, OutputsSpec, check_drv_suffix, check_output_paths, fill_in_output_paths,
    instantiate, parse_hash_mode, parse_output_hash,
};

use crate::hash::Algo;
use crate::store::ca::Method;

/// Errors from giving a derivation its outputs and from hashing it, worded as Nix words them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An impossible combination of outputs.
    #[error(transparent)]
    Kind(#[from] KindError),
    /// A path that cannot be made (e.g. a name too long once `-<output>` or `.drv` is added).
    #[error(transparent)]
    Path(#[from] crate::store::path::Error),
    /// A hash algorithm the method cannot use.
    #[error("content-addressing method '{}' cannot use hash algorithm '{algo}'", method.name())]
    MethodAlgo {
        /// The method.
        method: Method,
        /// The algorithm.
        algo: Algo,
    },
    /// An `outputHashMode` Nix does not know.
    #[error("invalid value '{0}' for 'outputHashMode' attribute")]
    BadHashMode(String),
    /// An empty `outputHash` without `outputHashAlgo`.
    #[error("empty hash requires explicit hash algorithm")]
    EmptyHashNoAlgo,
    /// An `outputHash` without algorithm, and no `outputHashAlgo`.
    #[error("hash '{0}' does not include a type, nor is the type otherwise known from context")]
    HashWithoutAlgo(String),
    /// An `outputHash` whose algorithm is not `outputHashAlgo`.
    #[error("hash '{hash}' should have type '{algo}'")]
    HashAlgoMismatch {
        /// The hash as written.
        hash: String,
        /// The algorithm of `outputHashAlgo`.
        algo: Algo,
    },
    /// An `outputHash` that does not parse.
    #[error(transparent)]
    BadHash(crate::hash::Error),
    /// A fixed-output derivation with other outputs than `out`.
    #[error("multiple outputs are not supported in fixed-output derivations")]
    FixedMultipleOutputs,
    /// A name ending in `.drv` for a derivation that is not one text output.
    #[error(
        "derivation names are allowed to end in '.drv' only if they produce a single derivation file"
    )]
    DrvSuffix,
    /// The masked hash of a derivation that is not input-addressed.
    #[error("derivation '{0}' is not input-addressed, so it has no masked hash")]
    NotInputAddressed(String),
    /// A fixed-output input without a hash for the output used.
    #[error("no hash for output '{output}' of derivation '{drv}'")]
    NoOutputHash {
        /// The output.
        output: String,
        /// The derivation using it.
        drv: String,
    },
    /// An output path other than the one computed.
    #[error("derivation has incorrect output '{path}', should be '{right}'")]
    WrongOutput {
        /// The path stated.
        path: String,
        /// The path computed.
        right: String,
    },
    /// An output path where the output must be deferred.
    #[error("derivation has incorrect output '{0}', should be deferred")]
    ShouldBeDeferred(String),
    /// An environment variable named after an output is missing.
    #[error(
        "derivation has missing environment variable '{name}', should be '{right}' but is not present"
    )]
    MissingEnv {
        /// The output.
        name: String,
        /// The path it should hold.
        right: String,
    },
    /// An environment variable named after an output holds another path.
    #[error(
        "derivation has incorrect environment variable '{name}', should be '{right}' but is actually '{actual}'"
    )]
    WrongEnv {
        /// The output.
        name: String,
        /// The path it should hold.
        right: String,
        /// What it holds.
        actual: String,
    },
    /// Input derivations that depend on each other in a circle.
    #[error("derivation '{0}' depends on itself")]
    Cycle(String),
    /// An input derivation that could not be read.
    #[error("reading derivation '{path}'")]
    Load {
        /// The `.drv` path.
        path: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

#[cfg(test)]
mod tests;
