//! Hashing a small tree on the calling thread (no worker threads, no copy): lets the store
//! see that a small tree it is asked to add is already there, for the price of a few reads.
//! Big trees go through the parallel [`super::hash_path`]/[`super::copy_tree`].

use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use crate::hash::{Algo, Hash, Hasher};

/// Trees with more objects than this are not small.
const MAX_OBJECTS: usize = 256;
/// Trees with more file bytes than this are not small.
const MAX_BYTES: u64 = 4 << 20;

/// The NAR hash and size of a small tree, and its newest modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallTree {
    /// The sha256 of the tree's NAR.
    pub hash: Hash,
    /// The size of the tree's NAR.
    pub size: u64,
    /// The largest modification time (seconds) of its objects, not following symlinks.
    pub newest_mtime: i64,
}

/// Hashes the tree at `path` if it is small (at most 256 objects and 4 MiB of file data);
/// `Ok(None)` if it is bigger. Anything unusual (a socket, a read error) is left to the full
/// code path, which reports it: also `Ok(None)`.
pub fn hash_small(path: &Path) -> io::Result<Option<SmallTree>> {
    let mut w = Writer {
        hasher: Hasher::new(Algo::Sha256),
        objects: 0,
        bytes: 0,
        newest: i64::MIN,
    };
    w.str(super::MAGIC.as_bytes());
    if !w.node(path)? {
        return Ok(None);
    }
    let size = w.hasher.len();
    Ok(Some(SmallTree {
        hash: w.hasher.finish(),
        size,
        newest_mtime: w.newest,
    }))
}

struct Writer {
    hasher: Hasher,
    objects: usize,
    bytes: u64,
    newest: i64,
}

impl Writer {
    fn raw(&mut self, b: &[u8]) {
        use std::io::Write as _;
        let _ = self.hasher.write_all(b);
    }

    fn str(&mut self, s: &[u8]) {
        self.raw(&(s.len() as u64).to_le_bytes());
        self.raw(s);
        let pad = (8 - s.len() % 8) % 8;
        self.raw(&[0u8; 8][..pad]);
    }

    /// Writes the node at `path`; false when the tree turns out not to be small.
    fn node(&mut self, path: &Path) -> io::Result<bool> {
        self.objects += 1;
        if self.objects > MAX_OBJECTS {
            return Ok(false);
        }
        let meta = std::fs::symlink_metadata(path)?;
        self.newest = self.newest.max(meta.mtime());
        self.str(b"(");
        self.str(b"type");
        let ft = meta.file_type();
        if ft.is_file() {
            self.bytes += meta.len();
            if self.bytes > MAX_BYTES {
                return Ok(false);
            }
            let contents = std::fs::read(path)?;
            if contents.len() as u64 != meta.len() {
                return Ok(false);
            }
            self.str(b"regular");
            if meta.permissions().mode() & 0o100 != 0 {
                self.str(b"executable");
                self.str(b"");
            }
            self.str(b"contents");
            self.str(&contents);
        } else if ft.is_symlink() {
            let target = std::fs::read_link(path)?;
            self.str(b"symlink");
            self.str(b"target");
            self.str(target.as_os_str().as_bytes());
        } else if ft.is_dir() {
            self.str(b"directory");
            let mut names: Vec<_> = std::fs::read_dir(path)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()?;
            if names.len() + self.objects > MAX_OBJECTS {
                return Ok(false);
            }
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in names {
                self.str(b"entry");
                self.str(b"(");
                self.str(b"name");
                self.str(name.as_bytes());
                self.str(b"node");
                if !self.node(&path.join(&name))? {
                    return Ok(false);
                }
                self.str(b")");
            }
        } else {
            return Ok(false);
        }
        self.str(b")");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_trees_hash_like_the_parallel_dumper() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("a"), b"hello").unwrap();
        std::fs::write(root.join("B"), b"").unwrap();
        std::fs::write(root.join("sub/x.sh"), b"#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            root.join("sub/x.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("../a", root.join("sub/link")).unwrap();
        let small = super::hash_small(&root).unwrap().unwrap();
        let (hash, size) = super::super::hash_path(&root).unwrap();
        assert_eq!((small.hash, small.size), (hash, size));
        let file = super::hash_small(&root.join("a")).unwrap().unwrap();
        assert_eq!(
            (file.hash, file.size),
            super::super::hash_path(&root.join("a")).unwrap()
        );
    }

    #[test]
    fn big_trees_are_not_small() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..300 {
            std::fs::write(dir.path().join(format!("f{i}")), b"x").unwrap();
        }
        assert!(super::hash_small(dir.path()).unwrap().is_none());
    }
}
