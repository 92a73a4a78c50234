//! Adding objects to a local store: from NAR streams (copies from other stores) and from
//! file system trees (flake sources).
//!
//! Mirrors the Nix source's `src/libstore/local-store.cc` (`addToStore`, `addToStoreFromDump`,
//! `registerValidPaths`, `pathInfoIsUntrusted`). The steps of an add are: check signatures,
//! register a temporary GC root, skip paths that are valid, lock, check again, materialise in
//! a temporary directory while hashing, verify, canonicalise, rename into place, register,
//! unlock.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::canon::{STORE_META, canonicalise, delete_path, move_path};
use super::lock::{PathLocks, TempDir};
use super::{Error, LocalStore};
use crate::hash::{Algo, Hash, Hasher};
use crate::store::ca::Method;
use crate::store::path::{References, check_name};
use crate::store::{CheckSigs, PathInfo, StorePath, nar};

/// A tree added by [`LocalStore::add_tree_reading_mtime`].
#[derive(Debug, Clone)]
pub struct AddedTree {
    /// Its store path.
    pub path: StorePath,
    /// Its metadata.
    pub info: PathInfo,
    /// The newest modification time (seconds) in the source tree, not following symlinks;
    /// `None` when the tree was not read because the path it must have was valid already.
    pub newest_mtime: Option<i64>,
}

/// Whether a tree about to be moved into place has its canonical metadata already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Meta {
    Canonical,
    AsFound,
}

/// Reads from `inner` and hashes (and counts) every byte read.
struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    hasher: Hasher,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl LocalStore {
    /// Adds the paths of `batch` from their NARs and registers them in one transaction, so
    /// that references among them are allowed. Paths that are valid already are skipped
    /// (their NARs are not read). On error nothing of the batch is registered or left behind.
    pub fn add_nars(
        &self,
        batch: Vec<(PathInfo, &mut dyn Read)>,
        check: CheckSigs,
    ) -> Result<(), Error> {
        self.add_nars_with(batch, check, |todo, placed| {
            self.materialise_and_register(todo, placed)
        })
    }

    /// [`LocalStore::add_nars`], restoring up to `workers` NARs at once (a substituted closure
    /// of many small paths spends most of its registration in file system calls, which
    /// overlap). The paths are registered in one transaction all the same.
    pub fn add_nars_parallel(
        &self,
        batch: Vec<(PathInfo, &mut (dyn Read + Send))>,
        check: CheckSigs,
        workers: usize,
    ) -> Result<(), Error> {
        self.add_nars_with(batch, check, |todo, placed| {
            self.materialise_parallel(todo, placed, workers)
        })
    }

    /// What the two `add_nars` share: checks, temporary roots, skipping valid paths, locks, and
    /// deleting what was placed when the batch fails.
    fn add_nars_with<R>(
        &self,
        batch: Vec<(PathInfo, R)>,
        check: CheckSigs,
        materialise: impl FnOnce(Vec<(PathInfo, R)>, &mut Vec<PathBuf>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for (info, _) in &batch {
            self.check_trusted(info, check)?;
            self.check_ca_claim(info)?;
        }
        let mut todo = Vec::new();
        let mut seen = BTreeSet::new();
        for (info, nar) in batch {
            self.add_temp_root(&info.path)?;
            if seen.insert(info.path.clone()) && !self.is_valid_path(&info.path)? {
                todo.push((info, nar));
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        let real: BTreeSet<PathBuf> = todo.iter().map(|(i, _)| self.real_path(&i.path)).collect();
        let mut locks = PathLocks::lock(&real)?;
        let mut placed = Vec::new();
        let result = materialise(todo, &mut placed);
        if result.is_err() {
            for p in &placed {
                let _ = delete_path(p);
            }
        }
        // Unlike Nix, delete the lock files after a failure too, so that a failed add leaves
        // nothing in the store directory (the stale-lock protocol makes this safe).
        locks.set_deletion(true);
        result
    }

    fn materialise_and_register(
        &self,
        todo: Vec<(PathInfo, &mut dyn Read)>,
        placed: &mut Vec<PathBuf>,
    ) -> Result<(), Error> {
        let mut infos = Vec::new();
        for (info, nar) in todo {
            // Another process may have added the path before we got the lock.
            if self.is_valid_path(&info.path)? {
                continue;
            }
            let real = self.real_path(&info.path);
            self.restore_verified(&info, nar, &real)?;
            placed.push(real);
            infos.push(info);
        }
        self.register(&infos)
    }

    /// [`Self::materialise_and_register`] with `workers` threads restoring; the first error
    /// stops the others and fails the batch.
    fn materialise_parallel(
        &self,
        todo: Vec<(PathInfo, &mut (dyn Read + Send))>,
        placed: &mut Vec<PathBuf>,
        workers: usize,
    ) -> Result<(), Error> {
        let workers = workers.clamp(1, todo.len().max(1));
        let queue = Mutex::new(todo.into_iter().enumerate());
        let done: Mutex<Vec<(usize, PathBuf, PathInfo)>> = Mutex::new(Vec::new());
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        if lock(&failed).is_some() {
                            return;
                        }
                        let Some((i, (info, nar))) = lock(&queue).next() else {
                            return;
                        };
                        let restored = (|| {
                            // Another process may have added the path before we got the lock.
                            if self.is_valid_path(&info.path)? {
                                return Ok(None);
                            }
                            let real = self.real_path(&info.path);
                            self.restore_verified(&info, nar, &real)?;
                            Ok(Some(real))
                        })();
                        match restored {
                            Ok(Some(real)) => lock(&done).push((i, real, info)),
                            Ok(None) => {}
                            Err(e) => {
                                lock(&failed).get_or_insert(e);
                                return;
                            }
                        }
                    }
                });
            }
        });
        let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
        done.sort_by_key(|(i, _, _)| *i);
        let mut infos = Vec::with_capacity(done.len());
        for (_, real, info) in done {
            placed.push(real);
            infos.push(info);
        }
        if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        self.register(&infos)
    }

    /// Restores `nar` into a temporary directory, checks it against `info` and moves the
    /// canonicalised result to `real`, replacing any leftover there.
    fn restore_verified(
        &self,
        info: &PathInfo,
        nar: &mut dyn Read,
        real: &Path,
    ) -> Result<(), Error> {
        let tmp = self.new_temp_dir()?;
        let dest = tmp.path().join(info.path.base_name());
        let mut reader = HashingReader {
            inner: nar,
            hasher: Hasher::new(Algo::Sha256),
        };
        nar::restore(&mut reader, &dest)?;
        let size = reader.hasher.len();
        let hash = reader.hasher.finish();
        info.check_nar(&self.opts.store_dir, &hash, size)?;
        self.check_ca_hash(info, &dest, &hash)?;
        canonicalise(&dest)?;
        delete_path(real)?;
        move_path(&dest, real)
    }

    /// Adds the file system tree at `src` (a directory, file or symlink) as a flake source:
    /// NAR-hashed, no references, `ca = fixed:r:sha256:…`, named `name`. Returns the path and
    /// its info; a path that is valid already is returned as it is.
    pub fn add_tree(&self, name: &str, src: &Path) -> Result<(StorePath, PathInfo), Error> {
        self.add_tree_impl(name, src, None)
    }

    /// Like [`LocalStore::add_tree`], but fails without registering anything unless the tree's
    /// NAR hash is `expected`. When the path `expected` gives is valid already, the tree is not
    /// read at all (as in Nix, a valid path short-circuits the add).
    pub fn add_tree_with_hash(
        &self,
        name: &str,
        src: &Path,
        expected: &Hash,
    ) -> Result<(StorePath, PathInfo), Error> {
        self.add_tree_impl(name, src, Some(expected))
    }

    /// [`LocalStore::add_tree`] or [`LocalStore::add_tree_with_hash`], as `expected` says.
    pub fn add_tree_with_hash_opt(
        &self,
        name: &str,
        src: &Path,
        expected: Option<&Hash>,
    ) -> Result<(StorePath, PathInfo), Error> {
        self.add_tree_impl(name, src, expected)
    }

    /// Like [`LocalStore::add_tree_with_hash_opt`], and also returns the newest modification
    /// time in the tree, found while copying it (the `lastModified` of a path input), so the
    /// tree is read once.
    pub fn add_tree_reading_mtime(
        &self,
        name: &str,
        src: &Path,
        expected: Option<&Hash>,
    ) -> Result<AddedTree, Error> {
        check_name(name)?;
        if let Some((path, info)) = self.valid_with_hash(name, expected)? {
            return Ok(AddedTree {
                path,
                info,
                newest_mtime: None,
            });
        }
        // A small tree is hashed first: when it is in the store already, nothing is copied.
        if expected.is_none()
            && let Ok(Some(small)) = nar::hash_small(src)
            && let Some((path, info)) = self.valid_with_hash(name, Some(&small.hash))?
        {
            return Ok(AddedTree {
                path,
                info,
                newest_mtime: Some(small.newest_mtime),
            });
        }
        // A store that usually has the tree already hashes any tree first.
        if expected.is_none() && self.opts.hash_first {
            let hashed = nar::hash_path_with_mtime(src)?;
            if let Some((path, info)) = self.valid_with_hash(name, Some(&hashed.hash))? {
                return Ok(AddedTree {
                    path,
                    info,
                    newest_mtime: Some(hashed.newest_mtime),
                });
            }
        }
        let tmp = self.new_temp_dir()?;
        let dest = tmp.path().join(name);
        // The copy gets its canonical metadata as it is written, so there is no second pass.
        let copied = nar::copy_tree(src, &dest, &STORE_META)?;
        let hashed = (copied.hash, copied.size);
        let (path, info) = self.place_tree(name, &dest, src, hashed, expected, Meta::Canonical)?;
        Ok(AddedTree {
            path,
            info,
            newest_mtime: Some(copied.newest_mtime),
        })
    }

    fn add_tree_impl(
        &self,
        name: &str,
        src: &Path,
        expected: Option<&Hash>,
    ) -> Result<(StorePath, PathInfo), Error> {
        let added = self.add_tree_reading_mtime(name, src, expected)?;
        Ok((added.path, added.info))
    }

    /// Returns a locked temporary directory in the store directory: a fetcher that builds a
    /// tree there (unpacking an archive, exporting a git tree) can then add it with
    /// [`LocalStore::adopt_tree`] without copying it.
    pub fn temp_dir(&self) -> Result<TempDir, Error> {
        self.new_temp_dir()
    }

    /// Adds the tree at `tree`, which must be inside a [`LocalStore::temp_dir`], by moving it
    /// into place: hashed, checked against `expected` (nothing is registered on a mismatch),
    /// canonicalised, renamed, registered. A valid path is returned as it is.
    pub fn adopt_tree(
        &self,
        name: &str,
        tree: &Path,
        expected: Option<&Hash>,
    ) -> Result<(StorePath, PathInfo), Error> {
        check_name(name)?;
        if let Some(found) = self.valid_with_hash(name, expected)? {
            return Ok(found);
        }
        let hashed = nar::hash_path(tree)?;
        self.place_tree(name, tree, tree, hashed, expected, Meta::AsFound)
    }

    /// With an expected hash, returns the path it gives if that is valid already.
    ///
    /// The temporary GC root is added only for a path found valid (and then it is looked up
    /// again, in case a collector deleted it in between): a path that is not valid yet gets
    /// its root when it is added ([`LocalStore::place_tree`]). So the store is not written
    /// before a tree is copied, and a store inside that tree is copied as it was (Nix 2.8
    /// serialises a path input before it touches the store).
    fn valid_with_hash(
        &self,
        name: &str,
        expected: Option<&Hash>,
    ) -> Result<Option<(StorePath, PathInfo)>, Error> {
        let Some(expected) = expected else {
            return Ok(None);
        };
        let path = self
            .opts
            .store_dir
            .make_source_path(expected, name, &References::default())?;
        if self.path_info(&path)?.is_none() {
            return Ok(None);
        }
        self.add_temp_root(&path)?;
        Ok(self.path_info(&path)?.map(|info| (path, info)))
    }

    /// Moves the tree at `dest`, whose NAR has hash and size `hashed`, into place as a source
    /// path (canonicalising it first unless it is already), unless its path is valid.
    fn place_tree(
        &self,
        name: &str,
        dest: &Path,
        src: &Path,
        (hash, size): (Hash, u64),
        expected: Option<&Hash>,
        meta: Meta,
    ) -> Result<(StorePath, PathInfo), Error> {
        if let Some(expected) = expected
            && *expected != hash
        {
            return Err(Error::TreeHashMismatch {
                src: src.to_owned(),
                specified: expected.to_sri(),
                got: hash.to_sri(),
            });
        }
        let dir = &self.opts.store_dir;
        let path = dir.make_source_path(&hash, name, &References::default())?;
        self.add_temp_root(&path)?;
        if let Some(info) = self.path_info(&path)? {
            return Ok((path, info));
        }
        let real = self.real_path(&path);
        let mut locks = PathLocks::lock(&BTreeSet::from([real.clone()]))?;
        if let Some(info) = self.path_info(&path)? {
            locks.set_deletion(true);
            return Ok((path, info));
        }
        locks.set_deletion(true);
        let mut info = PathInfo::source(path.clone(), hash, size);
        info.registration_time = (self.opts.clock)();
        if meta == Meta::AsFound {
            canonicalise(dest)?;
        }
        delete_path(&real)?;
        move_path(dest, &real)?;
        if let Err(e) = self.register(std::slice::from_ref(&info)) {
            let _ = delete_path(&real);
            return Err(e);
        }
        Ok((path, info))
    }

    /// Registers `infos` as valid in one transaction. Their contents must be in place at
    /// [`LocalStore::real_path`] already; references must be valid or in the batch.
    pub fn register_valid_paths(&self, infos: &[PathInfo]) -> Result<(), Error> {
        for info in infos {
            self.check_ca_claim(info)?;
        }
        self.register(infos)
    }

    fn register(&self, infos: &[PathInfo]) -> Result<(), Error> {
        if infos.is_empty() {
            return Ok(());
        }
        let now = (self.opts.clock)();
        self.db().register(&self.opts.store_dir, infos, now)
    }

    /// Whether `info` would be refused by a checked add (Nix's `pathInfoIsUntrusted`): not
    /// content-addressed and without a signature by a trusted key while `require-sigs` is on.
    pub fn is_untrusted(&self, info: &PathInfo) -> bool {
        self.check_trusted(info, CheckSigs::Check).is_err()
    }

    /// Rejects an untrusted path (Nix's `pathInfoIsUntrusted`, spec A5.6).
    pub(super) fn check_trusted(&self, info: &PathInfo, check: CheckSigs) -> Result<(), Error> {
        let dir = &self.opts.store_dir;
        crate::store::signature::check_trusted_with(
            info,
            dir,
            self.opts.require_sigs,
            check,
            || self.opts.sig_checker.has_trusted_signature(dir, info),
        )
        .map_err(|_| Error::Untrusted(dir.print(&info.path)))
    }

    /// Rejects a `ca` field that does not produce the path (Nix's `addValidPath`).
    fn check_ca_claim(&self, info: &PathInfo) -> Result<(), Error> {
        let dir = &self.opts.store_dir;
        if info.ca.is_some() && !info.is_content_addressed(dir) {
            return Err(Error::NotContentAddressed(dir.print(&info.path)));
        }
        Ok(())
    }

    /// Checks the content at `dest` against the hash of `info.ca` (`nar_hash` is its NAR's
    /// sha256, already verified).
    fn check_ca_hash(&self, info: &PathInfo, dest: &Path, nar_hash: &Hash) -> Result<(), Error> {
        let Some(ca) = &info.ca else { return Ok(()) };
        let algo = ca.hash.algo();
        let actual = match ca.method {
            // Hashing modulo the path's own hash part is not implemented (module docs).
            Method::Recursive if info.references.contains(&info.path) => return Ok(()),
            // `ContentAddress::parse` never yields git hashing (see `store::ca`).
            Method::Git => {
                return Err(Error::NotContentAddressed(
                    self.opts.store_dir.print(&info.path),
                ));
            }
            Method::Recursive if algo == Algo::Sha256 => nar_hash.clone(),
            Method::Recursive => {
                let mut h = Hasher::new(algo);
                nar::dump(dest, &mut h)?;
                h.finish()
            }
            Method::Flat | Method::Text => {
                let mut h = Hasher::new(algo);
                let mut f = std::fs::File::open(dest).map_err(Error::io("opening file", dest))?;
                std::io::copy(&mut f, &mut h).map_err(Error::io("reading file", dest))?;
                h.finish()
            }
        };
        if actual != ca.hash {
            return Err(Error::CaHashMismatch {
                path: self.opts.store_dir.print(&info.path),
                specified: ca.hash.to_prefixed_nix32(),
                got: actual.to_prefixed_nix32(),
            });
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
