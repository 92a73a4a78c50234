//! The hash of a derivation modulo its fixed-output inputs (Nix's `hashDerivationModulo`, in
//! current Nix `derivation::modulo::hashInput` and `derivation::modulo::hash` in
//! `libstore/derivation/modulo.cc`).
//!
//! - [`hash_input`]: a derivation's identity when it is someone's input. A fixed-output
//!   derivation is known by the sha256 of `fixed:out:<method><algo>:<hex>:<out path>` (so two
//!   fetches of the same content are interchangeable); an input-addressed one by the sha256 of
//!   its ATerm with every input derivation path replaced by that input's own hash in hex (the
//!   list re-sorted by hex, equal hashes merged); a floating or impure one, or one that depends
//!   on such, has none yet ([`HashInput::Deferred`]).
//! - [`masked_hash`]: the same replacement, plus every output written `("o","","","")` and
//!   every environment variable named after an output emptied: the hash an input-addressed
//!   derivation's own output paths are made from.
//!
//! The caller supplies the hashes of input derivations ([`InputHashes`]) and memoises them
//! ([`HashCache`], which computes them from `.drv` files without recursion).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Error;
use super::aterm_write::{HashedInputs, write};
use super::model::{Derivation, Kind, Output};
use crate::hash::{Algo, Hash};
use crate::store::path::{StoreDir, StorePath};

/// A derivation's identity as an input of another (Nix's `HashModulo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashInput {
    /// An input-addressed derivation: the sha256 of its ATerm modulo its inputs.
    Drv(Hash),
    /// A fixed-output derivation: one hash per output.
    Fixed(BTreeMap<String, Hash>),
    /// A floating or impure derivation, or one that depends on one: no hash yet.
    Deferred,
}

/// Where the hashes of input derivations come from: given a `.drv` path, its [`HashInput`].
pub trait InputHashes {
    /// Returns the [`HashInput`] of the derivation at `drv_path`.
    fn hash_input(&mut self, drv_path: &StorePath) -> Result<HashInput, Error>;
}

impl<F: FnMut(&StorePath) -> Result<HashInput, Error>> InputHashes for F {
    fn hash_input(&mut self, drv_path: &StorePath) -> Result<HashInput, Error> {
        self(drv_path)
    }
}

/// Returns `drv`'s identity as an input (Nix's `hashInput`).
pub fn hash_input(
    drv: &Derivation,
    dir: &StoreDir,
    inputs: &mut dyn InputHashes,
) -> Result<HashInput, Error> {
    if drv.kind()? == Kind::Fixed {
        let mut hashes = BTreeMap::new();
        for (name, output) in &drv.outputs {
            if let Output::Fixed { method, hash, path } = output {
                let text = format!(
                    "fixed:out:{}{}:{}:{}",
                    method.prefix(),
                    hash.algo(),
                    hash.to_base16(),
                    dir.print(path)
                );
                hashes.insert(name.clone(), Hash::digest(Algo::Sha256, text.as_bytes()));
            }
        }
        return Ok(HashInput::Fixed(hashes));
    }
    if !drv
        .outputs
        .values()
        .all(|o| matches!(o, Output::InputAddressed(_)))
    {
        return Ok(HashInput::Deferred);
    }
    let Some(hashed) = hashed_inputs(drv, inputs)? else {
        return Ok(HashInput::Deferred);
    };
    let text = write(drv, dir, hashed.iter(), false);
    Ok(HashInput::Drv(Hash::digest(Algo::Sha256, &text)))
}

/// Returns the masked ATerm of an input-addressed (possibly deferred) derivation, the text
/// whose sha256 is [`masked_hash`], or `None` while an input is deferred.
pub fn masked_aterm(
    drv: &Derivation,
    dir: &StoreDir,
    inputs: &mut dyn InputHashes,
) -> Result<Option<Vec<u8>>, Error> {
    if !matches!(drv.kind()?, Kind::InputAddressed { .. }) {
        return Err(Error::NotInputAddressed(drv.name.clone()));
    }
    let Some(hashed) = hashed_inputs(drv, inputs)? else {
        return Ok(None);
    };
    Ok(Some(write(drv, dir, hashed.iter(), true)))
}

/// Returns the hash an input-addressed (possibly deferred) derivation's output paths are made
/// from (Nix's `derivation::modulo::hash`), or `None` while an input is deferred.
pub fn masked_hash(
    drv: &Derivation,
    dir: &StoreDir,
    inputs: &mut dyn InputHashes,
) -> Result<Option<Hash>, Error> {
    Ok(masked_aterm(drv, dir, inputs)?.map(|text| Hash::digest(Algo::Sha256, &text)))
}

/// Replaces each input derivation by its hash in hex; `None` if one is deferred.
fn hashed_inputs(
    drv: &Derivation,
    inputs: &mut dyn InputHashes,
) -> Result<Option<HashedInputs>, Error> {
    let mut hashed: HashedInputs = BTreeMap::new();
    for (path, outs) in &drv.input_drvs {
        match inputs.hash_input(path)? {
            HashInput::Deferred => return Ok(None),
            HashInput::Drv(h) => hashed
                .entry(h.to_base16())
                .or_default()
                .extend(outs.iter().cloned()),
            HashInput::Fixed(by_output) => {
                // Each used output stands for a derivation with one output, `out`.
                for o in outs {
                    let h = by_output.get(o).ok_or_else(|| Error::NoOutputHash {
                        output: o.clone(),
                        drv: drv.name.clone(),
                    })?;
                    hashed
                        .entry(h.to_base16())
                        .or_default()
                        .insert("out".to_owned());
                }
            }
        }
    }
    Ok(Some(hashed))
}

/// Memoised [`HashInput`]s by `.drv` path (Nix's global `hashes` map). The evaluator records
/// each derivation it instantiates; others are computed from their `.drv` files on demand.
#[derive(Debug, Default)]
pub struct HashCache {
    hashes: HashMap<StorePath, HashInput>,
}

/// What loads a `.drv` file for [`HashCache::get_or_load`].
pub type LoadError = Box<dyn std::error::Error + Send + Sync>;

impl HashCache {
    /// Creates an empty cache.
    pub fn new() -> HashCache {
        HashCache::default()
    }

    /// Records the hash of the derivation at `drv_path`.
    pub fn insert(&mut self, drv_path: StorePath, hash: HashInput) {
        self.hashes.insert(drv_path, hash);
    }

    /// Returns the recorded hash of `drv_path`, if any.
    pub fn get(&self, drv_path: &StorePath) -> Option<&HashInput> {
        self.hashes.get(drv_path)
    }

    /// Returns the hash of `drv_path`, computing it (and those of its inputs not recorded yet)
    /// from derivations `load` reads. Works through the graph with an explicit stack, so a
    /// long chain of inputs does not grow the native stack; a cycle is an error.
    pub fn get_or_load(
        &mut self,
        dir: &StoreDir,
        drv_path: &StorePath,
        load: &mut dyn FnMut(&StorePath) -> Result<Derivation, LoadError>,
    ) -> Result<HashInput, Error> {
        let mut stack: Vec<(StorePath, Derivation)> = Vec::new();
        let mut on_stack: HashSet<StorePath> = HashSet::new();
        let mut next = Some(drv_path.clone());
        loop {
            if let Some(path) = next.take()
                && !self.hashes.contains_key(&path)
            {
                if !on_stack.insert(path.clone()) {
                    return Err(Error::Cycle(dir.print(&path)));
                }
                let drv = load(&path).map_err(|source| Error::Load {
                    path: dir.print(&path),
                    source,
                })?;
                stack.push((path, drv));
            }
            let Some((path, drv)) = stack.last() else {
                break;
            };
            // A fixed-output derivation's hash does not depend on its inputs.
            let fixed = drv.kind()? == Kind::Fixed;
            let missing = (!fixed)
                .then(|| {
                    drv.input_drvs
                        .keys()
                        .find(|p| !self.hashes.contains_key(*p))
                })
                .flatten();
            if let Some(p) = missing {
                next = Some(p.clone());
                continue;
            }
            let hashes = &self.hashes;
            let h = hash_input(drv, dir, &mut |p: &StorePath| {
                hashes
                    .get(p)
                    .cloned()
                    .ok_or_else(|| Error::Cycle(dir.print(p)))
            })?;
            let path = path.clone();
            stack.pop();
            on_stack.remove(&path);
            self.hashes.insert(path, h);
        }
        self.hashes
            .get(drv_path)
            .cloned()
            .ok_or_else(|| Error::Cycle(dir.print(drv_path)))
    }

    /// Returns an [`InputHashes`] that answers from this cache, loading what is missing with
    /// `load`.
    pub fn with_loader<'a>(
        &'a mut self,
        dir: &'a StoreDir,
        load: &'a mut dyn FnMut(&StorePath) -> Result<Derivation, LoadError>,
    ) -> impl InputHashes + 'a {
        move |p: &StorePath| self.get_or_load(dir, p, load)
    }
}
