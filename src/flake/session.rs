//! What one command sets up before it resolves, fetches or locks anything: the store, the
//! fetcher cache, the fetch environment and the registry layers (with `--override-flake` and
//! `--inputs-from` entries in the flag layer). Mirrors the parts of Nix's `MixFlakeOptions`
//! (`src/libcmd/installables.cc`) and `getStore` that every flake command shares.
//!
//! `cli` gathers the explicit inputs into a [`Config`] (settings, flags, paths, the clock);
//! a [`Session`] opens what they name, each at most once, and hands out [`fetch::Env`]s,
//! [`Registries`] and [`Loader`]s.

use std::cell::OnceCell;
use std::path::PathBuf;
use std::sync::Arc;

use super::load::Loader;
use super::lock::{self, Flags};
use super::lockfile::{Edge, LockFile};
use crate::fetch::{self, cache::Cache};
use crate::flakeref::{Attr, Attrs, FlakeRef, Input};
use crate::registry::global::Downloader;
use crate::registry::layers::{Locations, Registries};
use crate::registry::{Entry, Registry};
use crate::report::Reporter;
use crate::store::Store;
use crate::store::local::LocalStore;
use crate::store::open::{self, OpenConfig, StoreSettings};
use crate::store::uri::StoreUri;
use crate::util::http::HttpClient;

/// How many paths a command copies to another store at once (`--to`, and publishing into a
/// remote store).
pub const COPY_JOBS: usize = 4;

/// Where, under Nix's cache directory, fetchers stage trees for a remote store.
const STAGING: &str = "rflake-staging";

/// Whether `uri` names another process's store (the daemon, `ssh://`, `ssh-ng://`), which
/// fetchers and the evaluator cannot add to directly: they add to the staging store
/// ([`staging_uri`]) and what is needed is copied over.
pub fn is_remote(uri: &StoreUri) -> bool {
    matches!(
        uri,
        StoreUri::Daemon { .. } | StoreUri::SshNg { .. } | StoreUri::Ssh { .. }
    )
}

/// The staging store for a remote store: a chroot store in Nix's cache directory
/// (`cache_home`).
pub fn staging_uri(cache_home: &std::path::Path) -> StoreUri {
    StoreUri::Local {
        root: Some(cache_home.join(STAGING)),
        params: Default::default(),
    }
}

/// The explicit inputs of a session, gathered by `cli`.
pub struct Config {
    /// The working directory.
    pub cwd: PathBuf,
    /// Nix's cache directory (`$XDG_CACHE_HOME/nix`).
    pub cache_home: PathBuf,
    /// The current time in Unix seconds.
    pub now: u64,
    /// The fetcher settings (with `--offline` and `--refresh` applied).
    pub fetch: fetch::Settings,
    /// How the global registry is downloaded and cached.
    pub downloader: Downloader,
    /// Where the user, system and global registries are.
    pub registries: Locations,
    /// Whether registries may be used at all (`use-registries`, not `--no-registries`).
    pub use_registries: bool,
    /// The store `--store` (or the `store` setting) names, `auto` resolved.
    pub store: StoreUri,
    /// How stores check signatures.
    pub store_settings: StoreSettings,
    /// How many inputs may be fetched at once (`http-connections`, 1 to 64).
    pub jobs: usize,
    /// The process's HTTP client.
    pub http: Arc<HttpClient>,
}

/// The store, the fetcher cache and the registries of one command, opened on first use.
pub struct Session<'r> {
    cfg: Config,
    reporter: Rep<'r>,
    open: OnceCell<OpenConfig>,
    store: OnceCell<LocalStore>,
    cache: OnceCell<Cache>,
}

/// The reporter of a session: borrowed from the command, or owned (a session that outlives
/// the command's frame, such as the one an evaluator fetches through).
enum Rep<'r> {
    Borrowed(&'r dyn Reporter),
    Owned(Arc<dyn Reporter + Send>),
}

impl Session<'static> {
    /// A session for `cfg` that owns its reporter, so that it can live as long as whatever
    /// holds it (the evaluator's host). Nothing is opened yet.
    pub fn owning(cfg: Config, reporter: Arc<dyn Reporter + Send>) -> Session<'static> {
        Session {
            cfg,
            reporter: Rep::Owned(reporter),
            open: OnceCell::new(),
            store: OnceCell::new(),
            cache: OnceCell::new(),
        }
    }
}

impl<'r> Session<'r> {
    /// A session for `cfg`, reporting through `reporter`. Nothing is opened yet.
    pub fn new(cfg: Config, reporter: &'r dyn Reporter) -> Session<'r> {
        Session {
            cfg,
            reporter: Rep::Borrowed(reporter),
            open: OnceCell::new(),
            store: OnceCell::new(),
            cache: OnceCell::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The reporter.
    pub fn reporter(&self) -> &dyn Reporter {
        match &self.reporter {
            Rep::Borrowed(r) => *r,
            Rep::Owned(r) => &**r,
        }
    }

    /// The store fetchers add to: the one `--store` names, which must be local.
    pub fn local_store(&self) -> anyhow::Result<&LocalStore> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let uri = match self.remote() {
            // Fetchers add to a local store: for a remote one, a staging store in the cache
            // directory, whose paths [`Session::publish`] copies into the remote store.
            true => staging_uri(&self.cfg.cache_home),
            false => self.cfg.store.clone(),
        };
        let mut store = open::open_local(&uri, self.open_config()?)?;
        // The staging store has most trees from the previous run: hash before copying.
        store.set_hash_first(self.remote());
        Ok(self.store.get_or_init(|| store))
    }

    /// Whether the session's store is another process's (the daemon, `ssh://`, `ssh-ng://`),
    /// which fetchers cannot add to directly.
    fn remote(&self) -> bool {
        is_remote(&self.cfg.store)
    }

    /// Makes `paths`, fetched into the local store, valid in the session's store: a no-op for a
    /// local store; for a remote one, copies them there from the staging store (quietly: with
    /// Nix the fetchers add to that store directly, and say nothing of it).
    pub fn publish(
        &self,
        paths: &std::collections::BTreeSet<crate::store::StorePath>,
    ) -> anyhow::Result<()> {
        if !self.remote() || paths.is_empty() {
            return Ok(());
        }
        let upstream = self.open_store(None)?;
        let opts = crate::store::copy::CopyOptions {
            check_sigs: crate::store::CheckSigs::Check,
            jobs: COPY_JOBS,
        };
        crate::store::copy::copy_paths(
            self.local_store()?,
            upstream.as_ref(),
            paths,
            opts,
            &crate::report::Silent,
        )?;
        Ok(())
    }

    /// Opens another store (`--to`), or the session's own when `uri` is `None`. Stores rflake
    /// cannot use yet open as stand-ins that fail when they are used.
    pub fn open_store(&self, uri: Option<&StoreUri>) -> anyhow::Result<Arc<dyn Store>> {
        open::open(
            uri.unwrap_or(&self.cfg.store),
            self.open_config()?,
            self.reporter(),
        )
    }

    /// What opening a store needs, built when a store is first opened (a malformed
    /// `trusted-public-keys` setting only matters to commands that open one).
    fn open_config(&self) -> anyhow::Result<&OpenConfig> {
        if let Some(c) = self.open.get() {
            return Ok(c);
        }
        let cfg = OpenConfig::new(&self.cfg.store_settings, self.cfg.http.clone())?;
        Ok(self.open.get_or_init(|| cfg))
    }

    fn cache(&self) -> anyhow::Result<&Cache> {
        if let Some(c) = self.cache.get() {
            return Ok(c);
        }
        let cache = Cache::open(&self.cfg.cache_home)?;
        Ok(self.cache.get_or_init(|| cache))
    }

    /// What fetchers need: the local store, the fetcher cache, the settings and the clock.
    pub fn fetch_env(&self) -> anyhow::Result<fetch::Env<'_>> {
        Ok(fetch::Env {
            store: self.local_store()?,
            cache_dir: self.cfg.cache_home.clone(),
            cache: self.cache()?,
            settings: self.cfg.fetch.clone(),
            cwd: self.cfg.cwd.clone(),
            now: self.cfg.now,
            reporter: self.reporter(),
            http: &self.cfg.http,
        })
    }

    /// The registry layers, with `flag` (the `--override-flake` entries) on top.
    pub fn registries(&self, flag: Registry) -> Registries<'_> {
        Registries::new(
            self.cfg.registries.clone(),
            flag,
            &self.cfg.downloader,
            self.reporter(),
        )
    }

    /// Resolves each reference through all registry layers (`registry resolve`, the top-level
    /// reference of `flake prefetch` and `registry pin`).
    pub fn resolve(&self, refs: &[FlakeRef], flag: Registry) -> anyhow::Result<Vec<FlakeRef>> {
        let mut regs = self.registries(flag);
        refs.iter().map(|r| regs.resolve(r)).collect()
    }

    /// Runs `f` with a loader over this session's store, fetcher cache and registries; the
    /// flag layer holds `flag` and, for each of `inputs_from`, the top-level inputs of that
    /// flake's lock (Nix's `--inputs-from`).
    pub fn with_loader<T>(
        &self,
        flag: Registry,
        inputs_from: &[FlakeRef],
        f: impl FnOnce(&Loader<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.with_loader_reading(flag, inputs_from, false, f)
    }

    /// [`Session::with_loader`], where the loader reads the top-level flake without adding its
    /// tree to the store when `unstored_root` (a dry run's root, see
    /// [`crate::fetch::fetch_for_reading`]).
    fn with_loader_reading<T>(
        &self,
        flag: Registry,
        inputs_from: &[FlakeRef],
        unstored_root: bool,
        f: impl FnOnce(&Loader<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let env = self.fetch_env()?;
        let mut flag = flag;
        for from in inputs_from {
            let entries = {
                let mut regs = self.registries(flag.clone());
                let loader = Loader::new(&env, &mut regs, self.cfg.use_registries, self.cfg.jobs);
                let flags = Flags {
                    write_lock_file: false,
                    ..Flags::default()
                };
                let locked = lock::lock_flake(&loader, from, &flags)?;
                inputs_from_entries(&locked.lock_file)?
            };
            flag.entries.extend(entries);
        }
        let mut regs = self.registries(flag);
        let mut loader = Loader::new(&env, &mut regs, self.cfg.use_registries, self.cfg.jobs);
        loader.unstored_root = unstored_root;
        f(&loader)
    }
}

/// The flag-registry entries `--inputs-from` adds: each top-level input of the lock file
/// (after following `follows`) as `indirect:<name>` → its locked reference.
fn inputs_from_entries(file: &LockFile) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (name, edge) in &file.nodes[file.root].inputs {
        let id = match edge {
            Edge::Node(n) => Some(*n),
            Edge::Follows(p) => file.resolve(p)?,
        };
        let Some(locked) = id.and_then(|n| file.nodes[n].locked.as_ref()) else {
            continue;
        };
        let mut from = Attrs::new();
        from.insert("type".into(), Attr::Str("indirect".into()));
        from.insert("id".into(), Attr::Str(name.clone()));
        out.push(Entry {
            from: Input::from_attrs(from, &crate::report::Silent)?,
            to: locked.locked.input.clone(),
            dir: locked.locked.subdir.clone(),
            exact: false,
        });
    }
    Ok(out)
}

/// What locking the top-level flake of a command needs: the reference, the lock flags and the
/// flag-layer entries.
#[derive(Clone)]
pub struct LockRequest {
    /// The flake (`FLAKE-URL`).
    pub top: FlakeRef,
    /// The lock flags.
    pub flags: Flags,
    /// The `--override-flake` entries.
    pub flag_registry: Registry,
    /// The `--inputs-from` flakes.
    pub inputs_from: Vec<FlakeRef>,
}

impl Session<'_> {
    /// Locks the request's flake (Nix's `lockFlake`) and runs `f` with the loader that
    /// locked it and the result.
    pub fn lock<T>(
        &self,
        req: &LockRequest,
        f: impl FnOnce(&Loader<'_>, lock::LockedFlake) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.lock_reading(req, false, f)
    }

    /// [`Session::lock`], reading the top-level flake without adding it to the store when
    /// `unstored_root` (`flake archive --dry-run`).
    pub fn lock_reading<T>(
        &self,
        req: &LockRequest,
        unstored_root: bool,
        f: impl FnOnce(&Loader<'_>, lock::LockedFlake) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let (flag, from) = (req.flag_registry.clone(), &req.inputs_from);
        self.with_loader_reading(flag, from, unstored_root, |loader| {
            let locked = lock::lock_flake(loader, &req.top, &req.flags)?;
            f(loader, locked)
        })
    }
}
