//! The evaluation cache of flake attributes (Nix's `EvalCache`, `src/libexpr/eval-cache.cc`,
//! which keeps attribute values in `~/.cache/nix/eval-cache-v*/<fingerprint>.sqlite`). A
//! locked flake's evaluation is a pure function of its source tree, its lock file and the
//! settings evaluation reads, so what an attribute evaluated to can be reused by the next
//! command that locks the flake to the same fingerprint: `profile upgrade` of an unchanged
//! flake then locks it, finds each element's derivation here and evaluates nothing, and so
//! does `build` of a flake installable built before — as Nix's eval cache lets Nix do.
//!
//! Only derivation attributes are kept (their `.drv` path and the outputs an installable of
//! them installs), one JSON file per fingerprint in `~/.cache/nix/rflake-eval-cache-v1/`
//! (beside Nix's `eval-cache-v*`); rflake neither reads nor writes Nix's SQLite caches. As in Nix, a cached `.drv` that is no longer valid in the store is not used (the
//! attribute is evaluated again), the cache is used only for pure evaluation, and
//! `eval-cache = false` turns it off. A missing, unreadable or damaged file is an empty cache;
//! writing it is best effort (a cache that cannot be written only costs the next run time).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::hash::{Algo, Hash};

/// The version of the cache's layout and of what goes into a fingerprint: bumped when either
/// changes, so that old files are never read.
const VERSION: u32 = 1;

/// What an attribute evaluated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The derivation's `.drv` path, as printed.
    pub drv: String,
    /// The outputs installed: their names, or `None` for all of them.
    pub outputs: Option<Vec<String>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    attrs: BTreeMap<String, Entry>,
}

/// The cached attributes of one locked flake.
#[derive(Debug)]
pub struct EvalCache {
    path: PathBuf,
    file: File,
    dirty: bool,
}

/// The fingerprint of a locked flake's evaluation: its source tree's store path (which its
/// NAR hash names), the subdirectory of the flake in it, its lock file (every input's locked
/// reference and hash), and `context` (what else the evaluation depends on: the store
/// directory, the settings given, rflake's version). Nix32 of SHA-256.
pub fn fingerprint(source: &str, subdir: &str, lock_file: &str, context: &[&str]) -> String {
    let mut text = format!("rflake-eval-cache-{VERSION}\0{source}\0{subdir}\0{lock_file}");
    for c in context {
        text.push('\0');
        text.push_str(c);
    }
    Hash::digest(Algo::Sha256, text.as_bytes()).to_nix32()
}

impl EvalCache {
    /// The cache of fingerprint `fp` under `cache_home` (read now; empty if absent or damaged).
    pub fn open(cache_home: &Path, fp: &str) -> EvalCache {
        let path = cache_home
            .join(format!("rflake-eval-cache-v{VERSION}"))
            .join(format!("{fp}.json"));
        let file = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<File>(&b).ok())
            .filter(|f| f.version == VERSION)
            .unwrap_or(File {
                version: VERSION,
                attrs: BTreeMap::new(),
            });
        EvalCache {
            path,
            file,
            dirty: false,
        }
    }

    /// What attribute `key` evaluated to, if cached.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.file.attrs.get(key)
    }

    /// Records what attribute `key` evaluated to.
    pub fn put(&mut self, key: String, entry: Entry) {
        if self.file.attrs.get(&key) != Some(&entry) {
            self.file.attrs.insert(key, entry);
            self.dirty = true;
        }
    }

    /// Writes the cache if something was added (atomically; errors are ignored).
    pub fn save(&mut self) {
        if !self.dirty {
            return;
        }
        if let (Some(dir), Ok(text)) = (self.path.parent(), serde_json::to_vec(&self.file)) {
            let _ = std::fs::create_dir_all(dir);
            if crate::util::fs::write_atomic(&self.path, &text).is_ok() {
                self.dirty = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_save_and_damage_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let fp = fingerprint("/nix/store/x-source", "", "{}", &["x86_64-linux"]);
        let mut c = EvalCache::open(dir.path(), &fp);
        assert_eq!(c.get("a"), None);
        let e = Entry {
            drv: "/nix/store/y-a.drv".into(),
            outputs: Some(vec!["out".into()]),
        };
        c.put("a".into(), e.clone());
        c.save();
        let c2 = EvalCache::open(dir.path(), &fp);
        assert_eq!(c2.get("a"), Some(&e));
        std::fs::write(&c2.path, b"{ not json").unwrap();
        assert_eq!(EvalCache::open(dir.path(), &fp).get("a"), None);
    }

    #[test]
    fn the_fingerprint_covers_source_lock_and_context() {
        let base = fingerprint("/nix/store/x-source", "", "{}", &["a"]);
        assert_ne!(base, fingerprint("/nix/store/z-source", "", "{}", &["a"]));
        assert_ne!(
            base,
            fingerprint("/nix/store/x-source", "sub", "{}", &["a"])
        );
        assert_ne!(base, fingerprint("/nix/store/x-source", "", "{ }", &["a"]));
        assert_ne!(base, fingerprint("/nix/store/x-source", "", "{}", &["b"]));
        assert_eq!(base, fingerprint("/nix/store/x-source", "", "{}", &["a"]));
    }
}
