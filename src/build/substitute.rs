//! Substitution: making store paths valid by downloading them from binary caches instead of
//! building them (Nix's `PathSubstitutionGoal` in `src/libstore/build/substitution-goal.cc`,
//! the derivation goal that tries substitutes for its outputs before building, and
//! `Store::queryMissing` for `--dry-run`; spec E5, E6 and the store spec's A5).
//!
//! [`Substituters`] are the `substituters` setting opened (binary caches only), in order of
//! `Priority`. Planning ([`super::goal::plan_with`]) asks them whether the missing outputs of
//! a derivation can be substituted: the `.narinfo` of each missing path of the outputs'
//! closure is looked up in the caches in order, many at once (`http-connections`); a
//! `.narinfo` that the local store would refuse (no signature by a key of
//! `trusted-public-keys` while `require-sigs` is on) is passed over with Nix's warning. If the
//! whole closure is available the derivation is substituted and its inputs are never
//! visited; otherwise it is built.
//!
//! [`Substituters::fetch`] then downloads the missing closure: up to `max-substitution-jobs`
//! NARs at once, references first, each decompressed and checked against its `NarHash` and
//! `NarSize` while it streams, and registers what arrived in one transaction of the local
//! store (the signatures were checked at lookup). A path whose download failed is not
//! registered, nor is anything that refers to it.
//!
//! # Deviations
//!
//! - Only binary caches (`file://`, `http(s)://`) can be substituters; another store URI is
//!   skipped with a warning.
//! - The paths fetched together are registered together, after all of them arrived (Nix
//!   registers each path as soon as it is unpacked); NARs wait in memory, or in a temporary
//!   file when bigger than [`SPOOL_IN_MEMORY`].
//! - No narinfo disk cache (`binary-cache-v*.sqlite`): each run asks the caches again.
//! - Content-addressed paths known under another store directory, and the realisations of
//!   floating content-addressed outputs, are not looked up.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

mod walk;

use super::goal::Substitutes;
use crate::report::{Activity, ActivityType, Field, Reporter, Verbosity};
use crate::store::binary_cache::{self, BinaryCacheStore};
use crate::store::derivation::Derivation;
use crate::store::local::LocalStore;
use crate::store::narinfo::NarInfo;
use crate::store::{CheckSigs, Store as _, StorePath};

/// NARs up to this size wait in memory between download and registration; bigger ones in a
/// temporary file.
pub const SPOOL_IN_MEMORY: u64 = 8 << 20;

/// How substitution runs (settings of `nix.conf` and the command line).
#[derive(Clone, Debug)]
pub struct Settings {
    /// `max-substitution-jobs`: NARs downloaded at once (at least one).
    pub jobs: usize,
    /// `http-connections`: `.narinfo` lookups at once (at least one).
    pub query_jobs: usize,
    /// `fallback`: build a derivation whose substitution failed.
    pub fallback: bool,
    /// `always-allow-substitutes`: ignore `allowSubstitutes = false` in derivations.
    pub always_allow: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jobs: 16,
            query_jobs: 25,
            fallback: false,
            always_allow: false,
        }
    }
}

/// A path a cache can provide.
#[derive(Clone, Debug)]
pub struct Found {
    /// The index of the cache (in priority order).
    pub cache: usize,
    /// Its `.narinfo`.
    pub info: NarInfo,
}

/// What the caches said about one path.
#[derive(Clone, Debug)]
enum Lookup {
    /// No cache has it (or none that the local store trusts).
    Absent,
    /// The first cache that has it.
    Found(Box<Found>),
    /// A lookup failed and no later cache had it: the error.
    Failed(String),
}

/// The opened substituters, with what they were asked already.
pub struct Substituters<'a> {
    uris: Vec<String>,
    opts: binary_cache::OpenOptions,
    /// The caches, opened when first needed (so that a run with nothing to substitute never
    /// contacts them), in order of priority.
    caches: OnceLock<Vec<BinaryCacheStore>>,
    store: &'a LocalStore,
    settings: Settings,
    reporter: &'a dyn Reporter,
    known: Mutex<BTreeMap<StorePath, Lookup>>,
    /// Derivations whose substitution failed: planned as builds from now on.
    skip: Mutex<BTreeSet<StorePath>>,
    /// The first lookup error met while planning (fatal unless `fallback`).
    error: Mutex<Option<String>>,
}

/// What [`Substituters::fetch`] did not manage.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Paths whose download or registration failed, with whether the NAR was merely gone
    /// (Nix's `SubstituteGone`, which counts as no substitute rather than a failure).
    pub failed: BTreeMap<StorePath, bool>,
}

impl Outcome {
    /// Whether any path of `closure` failed for real (not just gone).
    pub fn really_failed<'p>(&self, closure: impl IntoIterator<Item = &'p StorePath>) -> bool {
        closure
            .into_iter()
            .any(|p| self.failed.get(p).is_some_and(|gone| !gone))
    }
}

impl<'a> Substituters<'a> {
    /// The substituters `uris` (binary caches), opened when first needed.
    pub fn open(
        uris: &[String],
        store: &'a LocalStore,
        opts: &binary_cache::OpenOptions,
        settings: Settings,
        reporter: &'a dyn Reporter,
    ) -> Substituters<'a> {
        Substituters {
            uris: uris.to_vec(),
            opts: opts.clone(),
            caches: OnceLock::new(),
            store,
            settings,
            reporter,
            known: Mutex::new(BTreeMap::new()),
            skip: Mutex::new(BTreeSet::new()),
            error: Mutex::new(None),
        }
    }

    /// Opens the caches (duplicates once), warning about those that cannot be opened as Nix
    /// does (`getDefaultSubstituters`), sorted by priority.
    fn caches(&self) -> &[BinaryCacheStore] {
        self.caches.get_or_init(|| {
            let mut caches = Vec::new();
            let mut seen = BTreeSet::new();
            for uri in &self.uris {
                if !seen.insert(uri.as_str()) {
                    continue;
                }
                if !binary_cache::is_binary_cache_uri(uri) {
                    self.reporter.warn(&format!(
                        "substituter '{uri}' is not a binary cache, which rflake does not support as a substituter"
                    ));
                    continue;
                }
                match binary_cache::open(uri, self.opts.clone(), self.reporter) {
                    Ok(c) if c.store_dir() == self.store.store_dir() => caches.push(c),
                    // Nix skips a substituter for another store directory.
                    Ok(_) => {}
                    Err(e) => self.reporter.warn(&format!("{e:#}")),
                }
            }
            caches.sort_by_key(BinaryCacheStore::priority);
            caches
        })
    }

    /// Whether there is no usable substituter.
    pub fn is_empty(&self) -> bool {
        self.uris.is_empty()
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Plans `drv` as a build from now on (after its substitution failed, with `fallback`).
    pub fn skip(&self, drv: &StorePath) {
        lock(&self.skip).insert(drv.clone());
    }

    /// Takes the first lookup error met since the last call.
    pub fn take_error(&self) -> Option<String> {
        lock(&self.error).take()
    }

    fn valid(&self, p: &StorePath) -> bool {
        self.store.is_valid_path(p).unwrap_or(false)
    }

    /// What the caches say about `path`, asked once per run.
    fn lookup_once(&self, path: &StorePath) -> Lookup {
        if let Some(known) = lock(&self.known).get(path) {
            return known.clone();
        }
        let found = self.lookup(path);
        lock(&self.known).insert(path.clone(), found.clone());
        found
    }

    /// Asks the caches for `path`, in order (Nix's `tryNext`).
    fn lookup(&self, path: &StorePath) -> Lookup {
        let dir = self.store.store_dir();
        let mut last_error: Option<String> = None;
        for (i, cache) in self.caches().iter().enumerate() {
            if let Some(e) = last_error.take() {
                self.reporter
                    .message(Verbosity::Error, &format!("error: {e}"));
            }
            let info = match cache.query_nar_info(path) {
                Ok(Some(info)) => info,
                Ok(None) => continue,
                Err(e) => {
                    last_error = Some(format!("{e:#}"));
                    continue;
                }
            };
            if self.store.is_untrusted(&info.info) {
                self.reporter.warn(&format!(
                    "ignoring substitute for '{}' from '{}', as it's not signed by any of the keys in 'trusted-public-keys'",
                    dir.print(path),
                    cache.uri()
                ));
                continue;
            }
            return Lookup::Found(Box::new(Found { cache: i, info }));
        }
        match last_error {
            Some(e) => Lookup::Failed(e),
            None => Lookup::Absent,
        }
    }

    /// The missing paths of the closure of `roots` with where to get them, or `None` when a
    /// path of it is missing and no cache has it. A lookup error is kept for
    /// [`Substituters::take_error`] (and reported now with `fallback`).
    pub fn closure(
        &self,
        roots: impl IntoIterator<Item = StorePath>,
    ) -> Option<BTreeMap<StorePath, Found>> {
        let mut seen = BTreeSet::new();
        let roots: Vec<StorePath> = roots
            .into_iter()
            .filter(|p| seen.insert(p.clone()) && !self.valid(p))
            .collect();
        if roots.is_empty() {
            return Some(BTreeMap::new());
        }
        if self.caches().is_empty() {
            return None;
        }
        let walked = walk::walk(
            roots,
            self.settings.query_jobs,
            |p: &StorePath| self.lookup_once(p),
            |p: &StorePath| self.valid(p),
        );
        match walked {
            Ok(found) => Some(found),
            Err(Some(e)) => {
                if self.settings.fallback {
                    self.reporter
                        .message(Verbosity::Error, &format!("error: {e}"));
                } else {
                    lock(&self.error).get_or_insert(e);
                }
                None
            }
            Err(None) => None,
        }
    }

    /// What [`Substituters::fetch`] of `roots` would download: the missing paths, the download
    /// size (compressed, as far as the caches tell) and the unpacked size.
    pub fn missing(&self, roots: &BTreeSet<StorePath>) -> (BTreeSet<StorePath>, u64, u64) {
        let closure = self.closure(roots.iter().cloned()).unwrap_or_default();
        let download = closure.values().map(|f| f.info.file_size).sum();
        let unpacked = closure.values().map(|f| f.info.info.nar_size).sum();
        (closure.into_keys().collect(), download, unpacked)
    }

    /// Downloads the missing closure of `roots` (which [`Substituters::closure`] found) and
    /// registers it in the local store. What failed is reported (`error: …`) and returned;
    /// it is not registered, nor is what refers to it.
    pub fn fetch(&self, roots: &BTreeSet<StorePath>) -> Outcome {
        let mut outcome = Outcome::default();
        let Some(closure) = self.closure(roots.iter().cloned()) else {
            for r in roots.iter().filter(|r| !self.valid(r)) {
                outcome.failed.insert(r.clone(), true);
            }
            return outcome;
        };
        if closure.is_empty() {
            return outcome;
        }
        let order = levels(&closure);
        let mut spools = self.download(&order, &closure);
        let mut batch: Vec<(StorePath, Spool)> = Vec::new();
        // References come first in `order`: a path is registered only if they are.
        let mut bad: BTreeSet<StorePath> = BTreeSet::new();
        for p in &order {
            let refs_ok = closure[p]
                .info
                .info
                .references
                .iter()
                .all(|r| r == p || !bad.contains(r));
            match spools.remove(p) {
                Some(Ok(spool)) if refs_ok => batch.push((p.clone(), spool)),
                Some(Err(gone)) => {
                    outcome.failed.insert(p.clone(), gone);
                    bad.insert(p.clone());
                }
                // A reference failed, or the download never started (interrupted).
                _ => {
                    bad.insert(p.clone());
                }
            }
        }
        self.register(batch, &closure, &mut outcome);
        outcome
    }

    /// Downloads the NARs of `order` (references first), `jobs` at once; each is `Ok` with its
    /// spool or `Err(gone)` after its error was reported.
    fn download(
        &self,
        order: &[StorePath],
        closure: &BTreeMap<StorePath, Found>,
    ) -> BTreeMap<StorePath, Result<Spool, bool>> {
        let results = Mutex::new(BTreeMap::new());
        let next = AtomicUsize::new(0);
        // The `copying path` lines come in `order` (references first, as Nix starts a path's
        // substitution only once its references are valid): a worker starts its activity
        // when the one before has started its own.
        let started = (Mutex::new(0usize), std::sync::Condvar::new());
        let workers = self.settings.jobs.clamp(1, order.len().max(1));
        let dir = self.store.store_dir();
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        if crate::util::interrupt::is_interrupted() {
                            return;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = order.get(i) else { return };
                        let found = &closure[p];
                        let cache = &self.caches()[found.cache];
                        let printed = dir.print(p);
                        let uri = cache.uri();
                        let result = {
                            let mut turn = lock(&started.0);
                            while *turn < i {
                                turn = started.1.wait(turn).unwrap_or_else(|p| p.into_inner());
                            }
                            let _act = Activity::start(
                                self.reporter,
                                Verbosity::Info,
                                ActivityType::CopyPath,
                                &format!("copying path '{printed}' from '{uri}'"),
                                &[
                                    Field::from(printed.as_str()),
                                    Field::from(uri.as_str()),
                                    Field::from("local"),
                                ],
                            );
                            *turn += 1;
                            drop(turn);
                            started.1.notify_all();
                            fetch_one(cache, &found.info)
                        };
                        let result = result.map_err(|e| {
                            let gone = e.chain().any(|c| {
                                matches!(
                                    c.downcast_ref::<binary_cache::Error>(),
                                    Some(binary_cache::Error::NoSuchFile { .. })
                                )
                            });
                            let msg = format!("{e:#}");
                            if gone {
                                self.reporter.warn(&msg);
                            } else {
                                self.reporter
                                    .message(Verbosity::Error, &format!("error: {msg}"));
                            }
                            gone
                        });
                        lock(&results).insert(p.clone(), result);
                    }
                });
            }
        });
        results.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers `batch` (references first) in one transaction; if that fails, path by path,
    /// so that one bad path does not keep the others out.
    fn register(
        &self,
        batch: Vec<(StorePath, Spool)>,
        closure: &BTreeMap<StorePath, Found>,
        outcome: &mut Outcome,
    ) {
        if batch.is_empty() {
            return;
        }
        let mut readers: Vec<(StorePath, Box<dyn Read + Send>)> = Vec::new();
        for (p, spool) in batch {
            match spool.reader() {
                Ok(r) => readers.push((p, r)),
                Err(e) => {
                    self.reporter
                        .message(Verbosity::Error, &format!("error: {e:#}"));
                    outcome.failed.insert(p, false);
                }
            }
        }
        // A path whose reference could not be read is left out.
        let failed_before: BTreeSet<StorePath> = outcome.failed.keys().cloned().collect();
        readers.retain(|(p, _)| {
            closure[p]
                .info
                .info
                .references
                .iter()
                .all(|r| !failed_before.contains(r))
        });
        let dir = self.store.store_dir();
        let mut items: Vec<(crate::store::PathInfo, Box<dyn Read + Send>)> = readers
            .into_iter()
            .map(|(p, r)| (closure[&p].info.info.clone(), r))
            .collect();
        let all: Vec<StorePath> = items.iter().map(|(i, _)| i.path.clone()).collect();
        let batch: Vec<(crate::store::PathInfo, &mut (dyn Read + Send))> = items
            .iter_mut()
            .map(|(i, r)| (i.clone(), r.as_mut() as &mut (dyn Read + Send)))
            .collect();
        // The signatures were checked when the `.narinfo`s were looked up, against the same
        // store's keys (Nix checks them again while adding; verifying ed25519 signatures is
        // most of the CPU time of a substitution of small paths).
        // Restored two (or more, with more cores) at a time: for many small paths most of the
        // time is file system calls.
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        if self
            .store
            .add_nars_parallel(batch, CheckSigs::NoCheck, workers)
            .is_ok()
        {
            return;
        }
        // Slow path: the readers were (partly) consumed, so read the spools again is not
        // possible; re-fetch each path alone.
        drop(items);
        let mut bad: BTreeSet<StorePath> = BTreeSet::new();
        for p in &all {
            let found = &closure[p];
            if found.info.info.references.iter().any(|r| bad.contains(r)) {
                bad.insert(p.clone());
                continue;
            }
            let added = fetch_one(&self.caches()[found.cache], &found.info).and_then(|s| {
                let mut r = s.reader()?;
                self.store
                    .add_nars(vec![(found.info.info.clone(), &mut r)], CheckSigs::Check)
                    .map_err(anyhow::Error::from)
            });
            if let Err(e) = added {
                let e = e.context(format!(
                    "copying path '{}' from '{}'",
                    dir.print(p),
                    self.caches()[found.cache].uri()
                ));
                self.reporter
                    .message(Verbosity::Error, &format!("error: {e:#}"));
                outcome.failed.insert(p.clone(), false);
                bad.insert(p.clone());
            }
        }
    }
}

impl Substitutes for Substituters<'_> {
    fn outputs(&self, drv_path: &StorePath, drv: &Derivation, paths: &BTreeSet<StorePath>) -> bool {
        if self.is_empty()
            || lock(&self.skip).contains(drv_path)
            || !substitutes_allowed(drv, self.settings.always_allow)
        {
            return false;
        }
        self.closure(paths.iter().cloned()).is_some()
    }

    fn path(&self, path: &StorePath) -> bool {
        self.closure([path.clone()]).is_some()
    }
}

/// Whether a derivation may be substituted: not when it sets `allowSubstitutes` to false
/// (Nix's `substitutesAllowed`), unless `always-allow-substitutes` is on.
pub fn substitutes_allowed(drv: &Derivation, always: bool) -> bool {
    if always {
        return true;
    }
    if let Some(json) = drv.env.get(b"__json".as_slice()) {
        return serde_json::from_slice::<serde_json::Value>(json)
            .ok()
            .and_then(|v| {
                v.get("allowSubstitutes")
                    .and_then(serde_json::Value::as_bool)
            })
            .unwrap_or(true);
    }
    // As Nix's `getBoolAttr`: only `1` (what `true` becomes) is true.
    drv.env
        .get(b"allowSubstitutes".as_slice())
        .is_none_or(|v| v == b"1")
}

/// A downloaded NAR waiting to be registered.
enum Spool {
    Memory(Vec<u8>),
    File(std::fs::File),
}

impl Spool {
    fn reader(self) -> anyhow::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Spool::Memory(v) => Box::new(std::io::Cursor::new(v)),
            Spool::File(mut f) => {
                f.rewind()?;
                Box::new(std::io::BufReader::with_capacity(1 << 16, f))
            }
        })
    }
}

/// Downloads and checks one NAR.
fn fetch_one(cache: &BinaryCacheStore, ni: &NarInfo) -> anyhow::Result<Spool> {
    if ni.info.nar_size <= SPOOL_IN_MEMORY {
        let mut buf = Vec::with_capacity(usize::try_from(ni.info.nar_size).unwrap_or(0));
        cache.nar_from_info(ni, &mut buf)?;
        Ok(Spool::Memory(buf))
    } else {
        let file = tempfile::tempfile()?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
        cache.nar_from_info(ni, &mut w)?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        Ok(Spool::File(file))
    }
}

/// The paths of `closure`, references before the paths that refer to them.
fn levels(closure: &BTreeMap<StorePath, Found>) -> Vec<StorePath> {
    let mut depth: BTreeMap<&StorePath, usize> = BTreeMap::new();
    fn visit<'a>(
        p: &'a StorePath,
        closure: &'a BTreeMap<StorePath, Found>,
        depth: &mut BTreeMap<&'a StorePath, usize>,
        stack: &mut BTreeSet<&'a StorePath>,
    ) -> usize {
        if let Some(&d) = depth.get(p) {
            return d;
        }
        // A reference cycle (corrupt metadata) is cut here.
        if !stack.insert(p) {
            return 0;
        }
        let d = closure[p]
            .info
            .info
            .references
            .iter()
            .filter(|r| *r != p)
            .filter_map(|r| closure.get_key_value(r).map(|(k, _)| k))
            .map(|r| visit(r, closure, depth, stack) + 1)
            .max()
            .unwrap_or(0);
        stack.remove(p);
        depth.insert(p, d);
        d
    }
    let mut stack = BTreeSet::new();
    for p in closure.keys() {
        visit(p, closure, &mut depth, &mut stack);
    }
    let mut order: Vec<(usize, &StorePath)> = depth.into_iter().map(|(p, d)| (d, p)).collect();
    order.sort();
    order.into_iter().map(|(_, p)| p.clone()).collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drv(env: &[(&str, &str)]) -> Derivation {
        Derivation {
            env: env
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            ..Derivation::default()
        }
    }

    #[test]
    fn allow_substitutes_is_read_as_nix_reads_it() {
        assert!(substitutes_allowed(&drv(&[]), false));
        assert!(substitutes_allowed(
            &drv(&[("allowSubstitutes", "1")]),
            false
        ));
        assert!(!substitutes_allowed(
            &drv(&[("allowSubstitutes", "")]),
            false
        ));
        assert!(!substitutes_allowed(
            &drv(&[("allowSubstitutes", "0")]),
            false
        ));
        assert!(substitutes_allowed(&drv(&[("allowSubstitutes", "")]), true));
        let json = |v: &str| drv(&[("__json", v)]);
        assert!(!substitutes_allowed(
            &json(r#"{"allowSubstitutes":false}"#),
            false
        ));
        assert!(substitutes_allowed(
            &json(r#"{"allowSubstitutes":true}"#),
            false
        ));
        assert!(substitutes_allowed(&json("{}"), false));
    }
}
