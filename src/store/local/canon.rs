//! Canonical metadata of store objects, and deleting and moving read-only trees.
//!
//! Mirrors the Nix source's `src/libstore/posix-fs-canonicalise.cc`
//! (`canonicalisePathMetaData`): files get mode 0444, or 0555 when the owner may execute
//! them; directories 0555; every object, symlinks included, gets mtime 1 (one second after
//! the epoch); extended attributes are removed; only regular files, directories and symlinks
//! may appear. Also `deletePath` and `movePath` from `src/libutil/file-system.cc`.
//!
//! # Deviations
//!
//! - Ownership is not changed: rflake only canonicalises objects it has just created, which
//!   belong to the running user already (Nix `lchown`s them to its effective uid).
//! - Files are fixed up on up to four threads (Nix: one, depth-first), so with several bad
//!   entries another one may be reported first. Trees copied from outside the store skip
//!   this pass: the copy creates every object with [`STORE_META`] already.

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use rustix::fs::{AtFlags, CWD, Timestamps};

use super::Error;
use crate::store::nar::StoreMeta;
use crate::util::xattr::{self, Target};

/// The mtime of every store object (Nix's `mtimeStore`).
pub const MTIME_STORE: i64 = 1;

/// Extended attributes that are left alone (Nix's default `ignored-acls`).
const IGNORED_XATTRS: [&str; 3] = ["security.selinux", "system.nfs4_acl", "security.csm"];

/// The canonical metadata, for copies that set it as they create objects
/// ([`crate::store::nar::copy_tree`]) instead of canonicalising afterwards.
pub const STORE_META: StoreMeta = StoreMeta {
    mtime: MTIME_STORE,
    keep_xattrs: &IGNORED_XATTRS,
};

/// Gives the tree at `path` the canonical metadata of a store object.
///
/// Directories are fixed up and listed on this thread (a directory is made readable before it
/// is read); the other objects are then fixed up on up to four threads, since a tree has far
/// more files than directories.
pub fn canonicalise(path: &Path) -> Result<(), Error> {
    let mut dirs = Vec::new();
    let mut others = Vec::new();
    if canonicalise_one(path)? {
        dirs.push(path.to_owned());
    }
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).map_err(Error::io("reading directory", &dir))? {
            let entry = entry.map_err(Error::io("reading directory", &dir))?;
            let is_dir = entry
                .file_type()
                .map_err(Error::io("getting status of", &entry.path()))?
                .is_dir();
            if is_dir {
                let p = entry.path();
                canonicalise_one(&p)?;
                dirs.push(p);
            } else {
                others.push(entry.path());
            }
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4)
        .min(others.len().div_ceil(256).max(1));
    if threads == 1 {
        return others
            .iter()
            .try_for_each(|p| canonicalise_one(p).map(drop));
    }
    let per = others.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = others
            .chunks(per)
            .map(|part| {
                s.spawn(move || part.iter().try_for_each(|p| canonicalise_one(p).map(drop)))
            })
            .collect();
        // The scope joins the threads left when one has failed.
        handles
            .into_iter()
            .try_for_each(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

/// Gives the object at `path` (not what is below it) the canonical metadata; returns whether
/// it is a directory.
fn canonicalise_one(path: &Path) -> Result<bool, Error> {
    let meta = fs::symlink_metadata(path).map_err(Error::io("getting status of", path))?;
    let ty = meta.file_type();
    if !(ty.is_file() || ty.is_dir() || ty.is_symlink()) {
        return Err(Error::UnsupportedType(path.to_owned()));
    }
    strip_xattrs(path)?;
    if !ty.is_symlink() {
        let mode = meta.mode() & 0o7777;
        let is_dir = ty.is_dir();
        if (mode != 0o444 || is_dir) && mode != 0o555 {
            let exec = meta.mode() & 0o100 != 0 || is_dir;
            let new = if exec { 0o555 } else { 0o444 };
            fs::set_permissions(path, fs::Permissions::from_mode(new))
                .map_err(Error::io("changing mode of", path))?;
        }
    }
    if meta.mtime() != MTIME_STORE {
        set_store_mtime(path)?;
    }
    Ok(ty.is_dir())
}

/// Sets the mtime of `path` (not following a symlink) to [`MTIME_STORE`], leaving the atime.
fn set_store_mtime(path: &Path) -> Result<(), Error> {
    let times = Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: MTIME_STORE,
            tv_nsec: 0,
        },
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| Error::io("changing modification time of", path)(e.into()))
}

/// Removes the extended attributes of `path` (not following a symlink), except the ignored
/// ones. File systems without extended attributes are fine.
fn strip_xattrs(path: &Path) -> Result<(), Error> {
    xattr::strip(Target::Path(path), &IGNORED_XATTRS).map_err(|e| Error::io(e.action, path)(e.io))
}

/// Deletes the file or tree at `path`, making read-only directories writable first. A missing
/// path is fine.
pub fn delete_path(path: &Path) -> Result<(), Error> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("getting status of", path)(e)),
    };
    if meta.is_dir() {
        if meta.mode() & 0o700 != 0o700 {
            fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() | 0o700))
                .map_err(Error::io("changing mode of", path))?;
        }
        for entry in fs::read_dir(path).map_err(Error::io("reading directory", path))? {
            let entry = entry.map_err(Error::io("reading directory", path))?;
            delete_path(&entry.path())?;
        }
        fs::remove_dir(path).map_err(Error::io("deleting directory", path))
    } else {
        match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("deleting file", path)(e))
            }
            _ => Ok(()),
        }
    }
}

/// Renames `old` to `new`. A read-only directory is made writable for the rename (moving a
/// directory to another parent updates its `..` entry) and gets its mode back afterwards.
pub fn move_path(old: &Path, new: &Path) -> Result<(), Error> {
    let meta = fs::symlink_metadata(old).map_err(Error::io("getting status of", old))?;
    let change = meta.is_dir() && meta.mode() & 0o200 == 0;
    let mode = meta.mode() & 0o7777;
    if change {
        fs::set_permissions(old, fs::Permissions::from_mode(mode | 0o200))
            .map_err(Error::io("changing mode of", old))?;
    }
    fs::rename(old, new).map_err(Error::io("renaming", old))?;
    if change {
        fs::set_permissions(new, fs::Permissions::from_mode(mode))
            .map_err(Error::io("changing mode of", new))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    fn mtime(p: &Path) -> i64 {
        fs::symlink_metadata(p).unwrap().mtime()
    }

    #[test]
    fn canonical_modes_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("plain"), b"a").unwrap();
        fs::write(root.join("exec"), b"#!").unwrap();
        fs::write(root.join("sub/group-exec"), b"x").unwrap();
        fs::set_permissions(root.join("exec"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(
            root.join("sub/group-exec"),
            fs::Permissions::from_mode(0o654),
        )
        .unwrap();
        symlink("/nonexistent", root.join("dangling")).unwrap();
        symlink("plain", root.join("rel")).unwrap();
        canonicalise(&root).unwrap();
        let cases = [
            ("", 0o555),
            ("sub", 0o555),
            ("plain", 0o444),
            ("exec", 0o555),
            // Only the owner-execute bit counts.
            ("sub/group-exec", 0o444),
        ];
        for (rel, want) in cases {
            let p = if rel.is_empty() {
                root.clone()
            } else {
                root.join(rel)
            };
            assert_eq!(mode(&p), want, "{rel}");
            assert_eq!(mtime(&p), 1, "{rel}");
        }
        for link in ["dangling", "rel"] {
            assert_eq!(mtime(&root.join(link)), 1, "{link}");
        }
        delete_path(&root).unwrap();
        assert!(!root.exists());
    }

    #[test]
    fn unsupported_types_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let err = canonicalise(dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("file \"{}\" has an unsupported type", sock.display())
        );
    }

    #[test]
    fn move_keeps_read_only_directory_mode() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::create_dir_all(a.join("x")).unwrap();
        fs::create_dir(dir.path().join("other")).unwrap();
        canonicalise(&a).unwrap();
        let b = dir.path().join("other/b");
        move_path(&a, &b).unwrap();
        assert_eq!(mode(&b), 0o555);
        assert_eq!(mtime(&b), 1);
        delete_path(&dir.path().join("other")).unwrap();
        delete_path(&dir.path().join("missing")).unwrap();
    }
}
