//! The Nix store: hashes of NARs, store paths, the local store in Nix's on-disk format, and
//! binary caches (`file://`, `http(s)://`).
//!
//! Formats (no I/O): [`path`], [`ca`], [`path_info`], [`derivation`], [`nar`] (the parser and writer work on
//! any reader/writer). Effects: the local store ([`local`]), binary caches ([`binary_cache`])
//! and stores behind a Nix daemon ([`daemon`]), all behind the [`Store`] trait, and [`copy`]
//! between any two stores.
//!
//! Mirrors the Nix source's `src/libstore/` (`store-api.cc`, `local-store.cc`,
//! `binary-cache-store.cc`, `remote-store.cc`) and `src/libutil/archive.cc`.

pub mod binary_cache;
pub mod ca;
pub mod compression;
pub mod copy;
pub mod daemon;
pub mod derivation;
pub mod local;
pub mod meter;
pub mod nar;
pub mod narinfo;
pub mod open;
pub mod path;
pub mod path_info;
pub mod serve;
pub mod signature;
pub mod ssh;
pub mod uri;

use std::collections::BTreeSet;
use std::io::{Read, Write};

pub use ca::ContentAddress;
pub use path::{StoreDir, StorePath};
pub use path_info::PathInfo;

/// How to treat signatures when adding a path from elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckSigs {
    /// Require a trusted signature unless the path is content-addressed (or the store does
    /// not require signatures).
    Check,
    /// Accept the path as it is (`--no-check-sigs`).
    NoCheck,
}

/// A Nix store: something that holds store paths with their metadata and NARs.
pub trait Store: Send + Sync {
    /// Returns the store's URI as Nix prints it in `copying path '…' to '<uri>'`.
    fn uri(&self) -> String;

    /// Returns the logical store directory.
    fn store_dir(&self) -> &StoreDir;

    /// Returns the metadata of `path`, or `None` if the path is not valid here.
    fn query_path_info(&self, path: &StorePath) -> anyhow::Result<Option<PathInfo>>;

    /// Returns which of `paths` are valid here.
    fn query_valid_paths(
        &self,
        paths: &BTreeSet<StorePath>,
    ) -> anyhow::Result<BTreeSet<StorePath>> {
        let mut valid = BTreeSet::new();
        for p in paths {
            if self.query_path_info(p)?.is_some() {
                valid.insert(p.clone());
            }
        }
        Ok(valid)
    }

    /// Writes the NAR serialisation of the valid path `path` to `sink`.
    fn nar_from_path(&self, path: &StorePath, sink: &mut dyn Write) -> anyhow::Result<()>;

    /// Adds a path from its NAR, checking the NAR against `info.nar_hash`/`info.nar_size` and,
    /// with [`CheckSigs::Check`], its signatures. A path that is already valid is left alone.
    fn add_nar(&self, info: &PathInfo, nar: &mut dyn Read, check: CheckSigs) -> anyhow::Result<()>;

    /// Adds the paths of `infos` (references before referrers) in one request, if the store
    /// has one (Nix's `addMultipleToStore` of the daemon), calling `write_nar` to stream each
    /// NAR in turn. Returns `Ok(false)`, having added nothing, when it has none: the caller
    /// then adds the paths one by one.
    fn add_multiple(
        &self,
        infos: &[PathInfo],
        write_nar: &mut dyn FnMut(&PathInfo, &mut dyn Write) -> anyhow::Result<()>,
        check: CheckSigs,
    ) -> anyhow::Result<bool> {
        let _ = (infos, write_nar, check);
        Ok(false)
    }

    /// How many [`Store::add_multiple`] requests may run at once (a daemon store's
    /// `max-connections`: each connection is a daemon process of its own).
    fn parallel_requests(&self) -> usize {
        1
    }
}
