//! What a store knows about a valid path: NAR hash and size, references, signatures, content
//! address (Nix's `ValidPathInfo`, `src/libstore/path-info.cc`).
//!
//! Formats only: no I/O.
//!
//! # Deviations
//!
//! None known.

use std::collections::BTreeSet;

use super::ca::ContentAddress;
use super::path::{References, StoreDir, StorePath};
use crate::hash::Hash;

/// Metadata of a valid store path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathInfo {
    /// The path.
    pub path: StorePath,
    /// sha256 of the path's NAR serialisation.
    pub nar_hash: Hash,
    /// Length of the NAR serialisation in bytes.
    pub nar_size: u64,
    /// Store paths this one refers to (possibly itself), ordered by base name.
    pub references: BTreeSet<StorePath>,
    /// The derivation that built the path, if known.
    pub deriver: Option<StorePath>,
    /// When the path was registered (Unix seconds); 0 = unknown.
    pub registration_time: u64,
    /// Whether the path was built locally (trusted without signatures).
    pub ultimate: bool,
    /// Signatures `name:base64`, ordered.
    pub sigs: BTreeSet<String>,
    /// The content address, if the path is content-addressed.
    pub ca: Option<ContentAddress>,
}

impl PathInfo {
    /// Returns the info of a flake source: a content-addressed NAR without references.
    pub fn source(path: StorePath, nar_hash: Hash, nar_size: u64) -> PathInfo {
        PathInfo {
            path,
            ca: Some(ContentAddress::source(&nar_hash)),
            nar_hash,
            nar_size,
            references: BTreeSet::new(),
            deriver: None,
            registration_time: 0,
            ultimate: false,
            sigs: BTreeSet::new(),
        }
    }

    /// Returns the fingerprint that signatures sign:
    /// `1;<path>;<sha256:nix32 narHash>;<narSize>;<references, comma-separated>`.
    pub fn fingerprint(&self, dir: &StoreDir) -> String {
        let refs: Vec<String> = self.references.iter().map(|r| dir.print(r)).collect();
        format!(
            "1;{};{};{};{}",
            dir.print(&self.path),
            self.nar_hash.to_prefixed_nix32(),
            self.nar_size,
            refs.join(",")
        )
    }

    /// Returns whether the content address (if any) really produces this path, so the path
    /// can be trusted without a signature (Nix's `isContentAddressed`).
    pub fn is_content_addressed(&self, dir: &StoreDir) -> bool {
        let Some(ca) = &self.ca else {
            return false;
        };
        let self_ref = self.references.contains(&self.path);
        let others = self
            .references
            .iter()
            .filter(|r| **r != self.path)
            .collect();
        let refs = References { others, self_ref };
        ca.store_path(dir, self.path.name(), &refs)
            .is_ok_and(|p| p == self.path)
    }
}

/// A NAR being imported is not the one its path info describes (checked before the path is
/// registered or uploaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportMismatch {
    /// The NAR does not hash to `narHash`.
    #[error("hash mismatch importing path '{path}';\n  specified: {specified}\n  got:       {got}")]
    Hash {
        /// The full store path.
        path: String,
        /// The claimed hash (SRI).
        specified: String,
        /// The NAR's hash (SRI).
        got: String,
    },
    /// The NAR is not `narSize` bytes long.
    #[error("size mismatch importing path '{path}';\n  specified: {specified}\n  got:       {got}")]
    Size {
        /// The full store path.
        path: String,
        /// The claimed size.
        specified: u64,
        /// The NAR's size.
        got: u64,
    },
}

impl PathInfo {
    /// Checks a NAR's sha256 and size against this info (the hash first, as Nix does).
    pub fn check_nar(&self, dir: &StoreDir, hash: &Hash, size: u64) -> Result<(), ImportMismatch> {
        if *hash != self.nar_hash {
            return Err(ImportMismatch::Hash {
                path: dir.print(&self.path),
                specified: self.nar_hash.to_sri(),
                got: hash.to_sri(),
            });
        }
        if size != self.nar_size {
            return Err(ImportMismatch::Size {
                path: dir.print(&self.path),
                specified: self.nar_size,
                got: size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Algo;

    #[test]
    fn fingerprint_and_ca() {
        let dir = StoreDir::default();
        let h = Hash::parse_any(
            "sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg",
            None,
        )
        .unwrap();
        let p = dir
            .make_source_path(&h, "source", &References::default())
            .unwrap();
        let info = PathInfo::source(p, h, 352);
        assert_eq!(
            info.fingerprint(&dir),
            "1;/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source;sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg;352;"
        );
        assert!(info.is_content_addressed(&dir));
        let mut lying = info.clone();
        lying.nar_hash = Hash::zero(Algo::Sha256);
        lying.ca = Some(ContentAddress::source(&lying.nar_hash));
        assert!(!lying.is_content_addressed(&dir));
        lying.ca = None;
        assert!(!lying.is_content_addressed(&dir));
    }
}
