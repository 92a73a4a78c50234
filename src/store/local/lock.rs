//! Nix's lock files: per-path `<real>/<base>.lock` locks with the stale-lock protocol, and
//! temporary directories in the store that the garbage collector leaves alone.
//!
//! Mirrors the Nix source's `src/libstore/unix/pathlocks.cc` (`openLockFile`, `lockPaths`,
//! `deleteLockFile`) and `LocalStore::createTempDirInStore`. All locks are BSD `flock(2)`
//! locks, taken through `std::fs::File::lock`, so they interoperate with Nix's.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Error;
use super::canon::delete_path;
use crate::util::interrupt::TempGuard;

/// Opens (creating it if needed) a lock file, mode 0600, as Nix's `openLockFile`.
pub(super) fn open_lock_file(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("opening lock file", path))
}

/// Exclusive locks on a set of paths, held until drop.
///
/// Each path `p` is locked through `p.lock`. Locks are taken in sorted order, so two processes
/// locking overlapping sets cannot deadlock. A lock file found non-empty after locking was
/// deleted by its previous holder (see [`PathLocks::set_deletion`]) and is opened afresh.
pub struct PathLocks {
    held: Vec<(File, PathBuf)>,
    delete: bool,
}

impl PathLocks {
    /// Locks `paths`, blocking until every lock is held.
    pub fn lock(paths: &BTreeSet<PathBuf>) -> Result<PathLocks, Error> {
        let mut locks = PathLocks {
            held: Vec::with_capacity(paths.len()),
            delete: false,
        };
        for path in paths {
            let mut lock_path = path.clone().into_os_string();
            lock_path.push(".lock");
            let lock_path = PathBuf::from(lock_path);
            let file = lock_fresh(&lock_path)?;
            locks.held.push((file, lock_path));
        }
        Ok(locks)
    }

    /// Sets whether the lock files are deleted on release. Nix deletes them only after the
    /// locked work succeeded.
    pub fn set_deletion(&mut self, delete: bool) {
        self.delete = delete;
    }
}

/// Takes an exclusive lock on `lock_path`, retrying while the file we locked turns out to be
/// stale (unlinked and marked by its previous holder).
fn lock_fresh(lock_path: &Path) -> Result<File, Error> {
    loop {
        let file = open_lock_file(lock_path)?;
        crate::util::interrupt::lock_file(&file).map_err(Error::io("acquiring lock", lock_path))?;
        let size = file
            .metadata()
            .map_err(Error::io("getting status of lock file", lock_path))?
            .len();
        if size == 0 {
            return Ok(file);
        }
    }
}

impl Drop for PathLocks {
    fn drop(&mut self) {
        for (mut file, path) in self.held.drain(..) {
            if self.delete {
                // Unlink first, then mark the open file, so that a waiter that locks the
                // unlinked file sees a non-empty file and retries with a fresh one.
                let _ = std::fs::remove_file(&path);
                let _ = file.write_all(b"d");
            }
            // Closing the descriptor releases the lock.
            drop(file);
        }
    }
}

/// A directory `<real store>/tmp-<pid>-<n>`, mode 0700, locked so that Nix's garbage
/// collector leaves it alone, and deleted with its contents on drop.
/// A locked temporary directory in the real store directory (so a tree built in it can be
/// renamed into place), deleted on drop.
pub struct TempDir {
    path: PathBuf,
    _lock: File,
    // Dropped after the directory is deleted: until then the signal thread can remove it.
    _listed: TempGuard,
}

impl TempDir {
    /// Creates and locks a fresh temporary directory in `real_store_dir`.
    pub(super) fn new_in(real_store_dir: &Path) -> Result<TempDir, Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = real_store_dir.join(format!("tmp-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("creating directory", &path)(e)),
            }
            let lock = File::open(&path).map_err(Error::io("opening directory", &path))?;
            lock.lock().map_err(Error::io("acquiring lock", &path))?;
            // The garbage collector may have deleted the directory before we locked it.
            if std::fs::symlink_metadata(&path).is_ok() {
                let listed = TempGuard::new(&path);
                return Ok(TempDir {
                    path,
                    _lock: lock,
                    _listed: listed,
                });
            }
        }
    }

    /// Returns the directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = delete_path(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&Path]) -> BTreeSet<PathBuf> {
        paths.iter().map(|p| p.to_path_buf()).collect()
    }

    #[test]
    fn lock_files_are_kept_on_failure_and_deleted_on_success() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("aaa-x");
        let lock = dir.path().join("aaa-x.lock");
        let locks = PathLocks::lock(&set(&[&p])).unwrap();
        assert!(lock.exists());
        drop(locks);
        assert!(lock.exists(), "without set_deletion the lock file stays");
        let mut locks = PathLocks::lock(&set(&[&p])).unwrap();
        locks.set_deletion(true);
        drop(locks);
        assert!(!lock.exists());
    }

    #[test]
    fn stale_lock_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bbb-x");
        let lock = dir.path().join("bbb-x.lock");
        let mut first = PathLocks::lock(&set(&[&p])).unwrap();
        // A waiter opened the file before the first holder deleted it.
        let waiter_file = open_lock_file(&lock).unwrap();
        let waiter = std::thread::spawn(move || {
            waiter_file.lock().unwrap();
            let stale = waiter_file.metadata().unwrap().len() != 0;
            drop(waiter_file);
            stale
        });
        first.set_deletion(true);
        drop(first);
        assert!(waiter.join().unwrap(), "the waiter sees the 'd' marker");
        // The protocol retries with a fresh file.
        let again = PathLocks::lock(&set(&[&p])).unwrap();
        assert_eq!(std::fs::metadata(&lock).unwrap().len(), 0);
        drop(again);
    }

    #[test]
    fn locks_exclude_other_holders() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let held = PathLocks::lock(&set(&[&a, &b])).unwrap();
        let other = open_lock_file(&dir.path().join("b.lock")).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn temp_dirs_are_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let t = TempDir::new_in(dir.path()).unwrap();
        let p = t.path().to_owned();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::create_dir(p.join("sub")).unwrap();
        std::fs::write(p.join("sub/f"), b"x").unwrap();
        std::fs::set_permissions(p.join("sub"), std::fs::Permissions::from_mode(0o555)).unwrap();
        drop(t);
        assert!(!p.exists());
    }
}
