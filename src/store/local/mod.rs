//! The local store in Nix's own on-disk format: `<root>/nix/store` for the objects and
//! `<root>/nix/var/nix/db/db.sqlite` (schema 10) for their metadata, with Nix's locks, so
//! that rflake and Nix can use one store directory side by side (`nix --store <dir>`).
//!
//! Mirrors the Nix source's `src/libstore/local-store.cc` (`LocalStore`: opening, schema
//! check, `addToStore`, `registerValidPaths`), `src/libstore/local-fs-store.cc` (the
//! root/real-path mapping) and the files named in the submodules: [`canon`] (canonical
//! metadata), `lock` (per-path locks, temporary directories), `temproots` (GC temp roots),
//! `reclaim` (the temporary directories of dead processes, deleted at the first write, as
//! Nix's GC would), `db` (the SQLite schema and statements).
//!
//! Opening a store creates its layout (`nix/store`, `nix/store/.links`,
//! `nix/var/nix/{db,temproots,gcroots,profiles}`), takes a shared `flock` on `db/big-lock` for
//! as long as the store is open, creates a new database with Nix 2.8's DDL and the `schema`
//! file `10`, or opens an existing one (from Nix 2.8 or current Nix).
//!
//! Adding is atomic: an object is materialised in a locked temporary directory inside the real
//! store directory, verified, canonicalised, renamed into place under the per-path lock and
//! only then registered in one transaction. A crash leaves at most an unregistered directory,
//! which the next add of the same path (or Nix's garbage collector) deletes.
//!
//! # Deviations
//!
//! - Stores with a schema older than 10 are refused (Nix upgrades them); schema 10 databases
//!   are never migrated (current Nix adds `SchemaMigrations` and drops `IndexReferrer`).
//! - No `db/reserved` filler file, no hard-link optimisation (`auto-optimise-store`), no
//!   fsync of store objects, no check that the store directory is not a symlink.
//! - New objects are restored into a temporary directory and renamed into place (current Nix
//!   restores a NAR directly at its final location), and the `<base>.lock` file is removed
//!   after a failed add too (Nix keeps it), so a failed add leaves nothing behind.
//! - The registration time comes from the [`Clock`] in [`Options`] ([`system_clock`] by
//!   default) rather than from `time(nullptr)` deep inside the store.
//! - A tree added from outside the store (`add_tree`) is copied into the temporary directory
//!   with its canonical metadata set as each object is written, by the thread that wrote it;
//!   Nix serialises the tree to a NAR, restores it, then canonicalises it in a second walk.
//!   The resulting objects are the same.
//! - The `ca` re-hash of a path that refers to itself (hash modulo its own hash part) is
//!   skipped; rflake only adds paths without references.

pub mod canon;
mod db;
mod error;
mod lock;
pub use lock::{PathLocks, TempDir};
mod ops;
pub use ops::AddedTree;
mod reclaim;
mod roots;
pub(crate) use roots::replace_symlink;
mod temproots;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock};

pub use error::{Error, SCHEMA_VERSION};

use self::db::Db;
use self::lock::open_lock_file;
use self::temproots::TempRoots;
use super::{CheckSigs, PathInfo, Store, StoreDir, StorePath};
use crate::util::fs;

/// Decides whether a path carries a signature by a trusted key (`trusted-public-keys`).
///
/// The signature module implements it; the integrator passes one in [`Options`].
pub trait SigChecker: Send + Sync {
    /// Returns whether at least one of `info.sigs` verifies against a trusted key.
    fn has_trusted_signature(&self, store_dir: &StoreDir, info: &PathInfo) -> bool;
}

impl<F: Fn(&StoreDir, &PathInfo) -> bool + Send + Sync> SigChecker for F {
    fn has_trusted_signature(&self, store_dir: &StoreDir, info: &PathInfo) -> bool {
        self(store_dir, info)
    }
}

/// A [`SigChecker`] that trusts no key.
pub struct NoTrustedKeys;

impl SigChecker for NoTrustedKeys {
    fn has_trusted_signature(&self, _: &StoreDir, _: &PathInfo) -> bool {
        false
    }
}

/// Returns the current time in Unix seconds, the registration time of new paths.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Returns a [`Clock`] reading the system time. This is the store's only use of the clock,
/// at the boundary where paths are registered (Nix uses `time(nullptr)` there).
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// How to open a local store.
#[derive(Clone)]
pub struct Options {
    /// The chroot root (`--store <dir>`, `local?root=<dir>`); `None` for the real
    /// `/nix/store` and `/nix/var/nix`.
    pub root: Option<PathBuf>,
    /// The logical store directory, part of every store path (`/nix/store`).
    pub store_dir: StoreDir,
    /// Whether paths added with [`CheckSigs::Check`] need a trusted signature unless they are
    /// content-addressed (`require-sigs`).
    pub require_sigs: bool,
    /// Decides whether a path has a trusted signature.
    pub sig_checker: Arc<dyn SigChecker>,
    /// The registration time of new paths.
    pub clock: Clock,
    /// Whether a tree added from outside the store is hashed before it is copied, whatever
    /// its size, so that a tree already there costs one read and no writes: for a store that
    /// usually has the tree already (the staging store of a remote store, re-sent on every
    /// run). Otherwise only small trees are, and a big one is hashed while it is copied.
    pub hash_first: bool,
    /// The state directory (`state=`; default `<root>/nix/var/nix`, or `/nix/var/nix`).
    pub state_dir: Option<PathBuf>,
    /// Where build logs go (`log=`; default `<root>/nix/var/log/nix`, or `/nix/var/log/nix`).
    pub log_dir: Option<PathBuf>,
    /// The directory that really holds the objects (`real=`; default `<root>/nix/store`, or
    /// the logical store directory).
    pub real_store_dir: Option<PathBuf>,
}

impl Options {
    /// Returns the defaults for a store rooted at `root`: logical directory `/nix/store`,
    /// signatures required, no trusted keys, the system clock.
    pub fn new(root: Option<PathBuf>) -> Options {
        Options {
            root,
            store_dir: StoreDir::default(),
            require_sigs: true,
            sig_checker: Arc::new(NoTrustedKeys),
            clock: system_clock(),
            hash_first: false,
            state_dir: None,
            log_dir: None,
            real_store_dir: None,
        }
    }
}

/// A local store in Nix's format, open for reading and adding.
pub struct LocalStore {
    opts: Options,
    real_store_dir: PathBuf,
    state_dir: PathBuf,
    log_dir: PathBuf,
    db: Mutex<Db>,
    temp_roots: OnceLock<Arc<TempRoots>>,
    /// Whether the temporaries of dead processes were reclaimed (at the first write).
    reclaimed: Once,
    // Held shared while the store is open: Nix takes it exclusively to upgrade the schema.
    _big_lock: File,
}

impl LocalStore {
    /// Opens the store described by `opts`, creating its layout and database if needed.
    pub fn open(opts: Options) -> Result<LocalStore, Error> {
        // As in Nix, a chroot store keeps its files in `<root>/nix/store` whatever its logical
        // directory (`store=`) is.
        let (real_store_dir, state_dir, log_dir) = match &opts.root {
            Some(root) => (
                root.join("nix/store"),
                root.join("nix/var/nix"),
                root.join("nix/var/log/nix"),
            ),
            None => (
                PathBuf::from(opts.store_dir.as_str()),
                PathBuf::from("/nix/var/nix"),
                PathBuf::from("/nix/var/log/nix"),
            ),
        };
        // Nix's `real`, `state` and `log` settings of a local store override the defaults.
        let real_store_dir = opts.real_store_dir.clone().unwrap_or(real_store_dir);
        let state_dir = opts.state_dir.clone().unwrap_or(state_dir);
        let log_dir = opts.log_dir.clone().unwrap_or(log_dir);
        create_layout(&real_store_dir, &state_dir)?;
        let db_dir = state_dir.join("db");
        let big_lock_path = db_dir.join("big-lock");
        let big_lock = open_lock_file(&big_lock_path)?;
        big_lock
            .lock_shared()
            .map_err(Error::io("acquiring lock", &big_lock_path))?;
        let db = open_db(&db_dir)?;
        Ok(LocalStore {
            opts,
            real_store_dir,
            state_dir,
            log_dir,
            db: Mutex::new(db),
            temp_roots: OnceLock::new(),
            reclaimed: Once::new(),
            _big_lock: big_lock,
        })
    }

    /// Sets [`Options::hash_first`].
    pub fn set_hash_first(&mut self, on: bool) {
        self.opts.hash_first = on;
    }

    /// Returns the chroot root, if any.
    pub fn root(&self) -> Option<&Path> {
        self.opts.root.as_deref()
    }

    /// Returns the directory that really holds the store objects (`<root>/nix/store`).
    pub fn real_store_dir(&self) -> &Path {
        &self.real_store_dir
    }

    /// Returns the state directory (`<root>/nix/var/nix`).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Returns where build logs go (`<root>/nix/var/log/nix`).
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Returns where the object of `path` lives on disk.
    pub fn real_path(&self, path: &StorePath) -> PathBuf {
        self.real_store_dir.join(path.base_name())
    }

    /// Returns whether `path` is valid (registered) in this store.
    pub fn is_valid_path(&self, path: &StorePath) -> Result<bool, Error> {
        self.db().is_valid(&self.opts.store_dir.print(path))
    }

    /// Returns the metadata of `path`, or `None` if it is not valid.
    pub fn path_info(&self, path: &StorePath) -> Result<Option<PathInfo>, Error> {
        self.db().path_info(&self.opts.store_dir, path)
    }

    /// Returns which of `paths` are valid.
    pub fn valid_paths(&self, paths: &BTreeSet<StorePath>) -> Result<BTreeSet<StorePath>, Error> {
        self.db().valid_paths(&self.opts.store_dir, paths)
    }

    /// Writes the NAR of the valid path `path` to `sink`.
    pub fn dump_path(&self, path: &StorePath, sink: &mut dyn Write) -> Result<(), Error> {
        if !self.is_valid_path(path)? {
            return Err(Error::NotValid(self.opts.store_dir.print(path)));
        }
        crate::store::nar::dump(&self.real_path(path), sink)?;
        Ok(())
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        // A panic while holding the lock cannot leave a transaction half-done: rusqlite
        // rolls back on drop.
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a locked temporary directory in the store. The first one of a store also
    /// reclaims the temporary directories, path lock files and temporary roots files dead
    /// processes left there
    /// ([`reclaim`]): the store is being written, and that is when Nix's GC would have deleted
    /// them.
    fn new_temp_dir(&self) -> Result<TempDir, Error> {
        self.reclaimed.call_once(|| {
            let _ = reclaim::reclaim_temp_dirs(&self.real_store_dir);
            let _ = reclaim::reclaim_lock_files(&self.real_store_dir, |base| {
                let printed = format!("{}/{base}", self.opts.store_dir.as_str());
                // When in doubt, the path is kept.
                self.db().is_valid(&printed).unwrap_or(true)
            });
            let _ = reclaim::reclaim_temp_roots(&self.state_dir.join("temproots"));
        });
        TempDir::new_in(&self.real_store_dir)
    }

    /// Records `path` as a temporary GC root of this process (Nix's `addTempRoot`): a build
    /// keeps its inputs and outputs alive this way while it runs.
    pub fn add_temp_root(&self, path: &StorePath) -> Result<(), Error> {
        let roots = match self.temp_roots.get() {
            Some(r) => r,
            None => {
                let r = TempRoots::for_state_dir(&self.state_dir)?;
                self.temp_roots.get_or_init(|| r)
            }
        };
        roots.add(&self.opts.store_dir.print(path))
    }
}

/// Creates the directories of a store as Nix does on open.
fn create_layout(real_store_dir: &Path, state_dir: &Path) -> Result<(), Error> {
    for dir in [
        real_store_dir.to_owned(),
        real_store_dir.join(".links"),
        state_dir.join("profiles"),
        state_dir.join("temproots"),
        state_dir.join("db"),
    ] {
        fs::create_dir_all(&dir)?;
    }
    let gcroots = state_dir.join("gcroots");
    if std::fs::symlink_metadata(&gcroots).is_err() {
        fs::create_dir_all(&gcroots)?;
        let link = gcroots.join("profiles");
        match std::os::unix::fs::symlink(state_dir.join("profiles"), &link) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(Error::io("creating symlink", &link)(e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reads `db/schema`: 0 when absent.
fn read_schema(path: &Path) -> Result<u32, Error> {
    match fs::read_if_exists(path)? {
        None => Ok(0),
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::SchemaCorrupt(path.to_owned())),
    }
}

/// Writes the `schema` file (`10`, no newline) atomically, through a temporary file whose name
/// is unique also among the threads of this process.
fn write_schema(path: &Path) -> Result<(), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".schema.tmp-{}-{n}", std::process::id()));
    let written =
        std::fs::write(&tmp, SCHEMA_VERSION.to_string()).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("writing file", path)(e));
    }
    Ok(())
}

/// Opens the database in `db_dir`, creating it for a new store.
///
/// Two processes may create a new store at once: the DDL only creates what is missing
/// (`create … if not exists`, in one transaction) and the `schema` file is replaced
/// atomically, so both succeed, as with Nix.
fn open_db(db_dir: &Path) -> Result<Db, Error> {
    let schema_path = db_dir.join("schema");
    let db_path = db_dir.join("db.sqlite");
    let schema = read_schema(&schema_path)?;
    if schema == 0 {
        let db = Db::open(&db_path, true)?;
        write_schema(&schema_path)?;
        return Ok(db);
    }
    if schema > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew(schema));
    }
    if schema < SCHEMA_VERSION {
        return Err(Error::SchemaTooOld(schema));
    }
    Db::open(&db_path, false)
}

impl Store for LocalStore {
    fn uri(&self) -> String {
        match &self.opts.root {
            None => "local".to_owned(),
            Some(root) => format!("local?root={}", root.display()),
        }
    }

    fn store_dir(&self) -> &StoreDir {
        &self.opts.store_dir
    }

    fn query_path_info(&self, path: &StorePath) -> anyhow::Result<Option<PathInfo>> {
        Ok(self.path_info(path)?)
    }

    fn query_valid_paths(
        &self,
        paths: &BTreeSet<StorePath>,
    ) -> anyhow::Result<BTreeSet<StorePath>> {
        Ok(self.valid_paths(paths)?)
    }

    fn nar_from_path(&self, path: &StorePath, sink: &mut dyn Write) -> anyhow::Result<()> {
        Ok(self.dump_path(path, sink)?)
    }

    fn add_nar(&self, info: &PathInfo, nar: &mut dyn Read, check: CheckSigs) -> anyhow::Result<()> {
        Ok(self.add_nars(vec![(info.clone(), nar)], check)?)
    }
}

#[cfg(test)]
mod tests;
