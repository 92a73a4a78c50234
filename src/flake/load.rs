//! Getting a flake: resolving its reference through the registries, fetching its source tree
//! and reading its `flake.nix` (Nix's `getFlake` and `readFlake` in `src/libflake/flake.cc`).
//!
//! # Deviations
//!
//! - Nix reads a flake through a lazily mounted tree; rflake fetches it into the store first and
//!   reads `flake.nix` there. Errors in `flake.nix` and `flake.lock` of a local flake (a
//!   `path:` directory, a git work tree) name the files in the user's directory
//!   ([`Source::local`]); Nix names a `path:` flake's store copy.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;

use super::InputPath;
use super::decl::{self, FlakeDecl, InputDecl};
use crate::fetch;
use crate::flakeref::{FlakeRef, Input};
use crate::registry::resolve::{self, Mode};
use crate::store::StorePath;

/// Where a flake's files are on disk: the root of its source tree and the directory of its
/// `flake.nix` inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The root of the source tree (a store path's real path).
    pub root: PathBuf,
    /// How the root is named in messages (`/nix/store/…-source`).
    pub label: String,
    /// The directory of `flake.nix` relative to the root (`""` at the root).
    pub dir: String,
    /// Keeps the root on disk when it is a temporary tree (not in the store).
    pub keep: fetch::KeepTree,
    /// For a local flake (a `path:` directory, a git work tree), the directory its user edits
    /// (the root's original): errors in its files name them there, not the store copy.
    pub local: Option<PathBuf>,
}

impl Source {
    /// The directory holding `flake.nix` on disk.
    pub fn flake_dir(&self) -> PathBuf {
        if self.dir.is_empty() {
            self.root.clone()
        } else {
            self.root.join(&self.dir)
        }
    }

    /// `flake.nix` as named in messages.
    pub fn flake_nix_label(&self) -> String {
        if self.dir.is_empty() {
            format!("{}/flake.nix", self.label)
        } else {
            format!("{}/{}/flake.nix", self.label, self.dir)
        }
    }

    /// `flake.nix` as named in errors about its contents: in the user's directory for a local
    /// flake, else as [`Source::flake_nix_label`].
    pub fn flake_nix_shown(&self) -> String {
        match &self.local {
            Some(dir) => self.shown_file(dir, "flake.nix"),
            None => self.flake_nix_label(),
        }
    }

    /// `flake.lock` as named in messages: in the user's directory for a local flake, else in
    /// the tree on disk.
    pub fn flake_lock_shown(&self) -> String {
        match &self.local {
            Some(dir) => self.shown_file(dir, "flake.lock"),
            None => self.flake_dir().join("flake.lock").display().to_string(),
        }
    }

    fn shown_file(&self, local: &Path, name: &str) -> String {
        let dir = if self.dir.is_empty() {
            local.to_path_buf()
        } else {
            local.join(&self.dir)
        };
        dir.join(name).display().to_string()
    }

    /// The source of a relative path input declared by the flake at `self`: `rel` resolved
    /// against the declaring flake's directory, inside the same tree.
    pub fn relative(&self, rel: &str) -> anyhow::Result<Source> {
        let mut parts: Vec<&str> = self.dir.split('/').filter(|s| !s.is_empty()).collect();
        for seg in rel.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        anyhow::bail!(
                            "path '{}' is outside the source tree of the flake that declares it \
                             ('{}'); relative path inputs must stay inside it",
                            rel,
                            self.label
                        );
                    }
                }
                s => parts.push(s),
            }
        }
        Ok(Source {
            root: self.root.clone(),
            label: self.label.clone(),
            dir: parts.join("/"),
            keep: self.keep.clone(),
            local: self.local.clone(),
        })
    }
}

/// A flake that was read: its references and declarations (Nix's `Flake`).
#[derive(Debug, Clone)]
pub struct Flake {
    /// The reference as given.
    pub original: FlakeRef,
    /// The reference after registry resolution.
    pub resolved: FlakeRef,
    /// The locked reference (with `narHash`; without `__final`).
    pub locked: FlakeRef,
    /// The store path of its source tree (`None` for relative path inputs, which live in their
    /// parent's tree).
    pub store_path: Option<StorePath>,
    /// Where its files are.
    pub source: Source,
    /// What its `flake.nix` declares; `follows` made absolute from the lock file's root.
    pub decl: FlakeDecl,
}

impl Flake {
    /// The path of its `flake.lock` on disk.
    pub fn lock_file_path(&self) -> PathBuf {
        self.source.flake_dir().join("flake.lock")
    }
}

/// What a run fetched: each input is fetched into the store at most once per run, also when
/// several threads ask for it at once (the later ones wait for the first).
#[derive(Default)]
pub struct Fetcher {
    fetched: Mutex<HashMap<String, Slot>>,
    /// Signalled when a fetch in flight ends.
    landed: std::sync::Condvar,
}

/// An input's fetch in this run.
#[derive(Clone)]
enum Slot {
    /// A thread is fetching it.
    InFlight,
    /// Fetched.
    Done(StorePath, Input),
}

/// What getting flakes needs: fetching, and the registries.
pub struct Loader<'a> {
    /// The fetch environment.
    pub fetch: &'a fetch::Env<'a>,
    /// This run's fetched inputs.
    pub fetcher: Fetcher,
    /// The registries (resolution happens on the calling thread).
    pub registries: RefCell<&'a mut dyn resolve::Source>,
    /// Whether registries may be used at all (`--no-use-registries`).
    pub use_registries: bool,
    /// How many inputs may be fetched at once (`http-connections`, at least 1).
    pub jobs: usize,
    /// Whether the top-level flake is read without adding its tree to the store (a dry run;
    /// see [`fetch::fetch_for_reading`]).
    pub unstored_root: bool,
}

impl Fetcher {
    /// Forgets what was fetched (the top-level flake changed on disk).
    pub fn forget(&self) {
        if let Ok(mut m) = self.fetched.lock() {
            m.clear();
        }
    }

    /// Fetches a direct input into the store, once per run: a fetch of the same input in
    /// flight on another thread is waited for (and done again here if it failed, so that this
    /// caller reports its own error).
    pub fn fetch_to_store(
        &self,
        env: &fetch::Env<'_>,
        input: &Input,
    ) -> anyhow::Result<(StorePath, Input)> {
        let key = input.to_key();
        {
            let Ok(mut m) = self.fetched.lock() else {
                return fetch::fetch_to_store_keyed(env, input, &key);
            };
            loop {
                match m.get(&key) {
                    Some(Slot::Done(path, locked)) => return Ok((path.clone(), locked.clone())),
                    Some(Slot::InFlight) => match self.landed.wait(m) {
                        Ok(guard) => m = guard,
                        Err(_) => return fetch::fetch_to_store_keyed(env, input, &key),
                    },
                    None => {
                        m.insert(key.clone(), Slot::InFlight);
                        break;
                    }
                }
            }
        }
        let result = fetch::fetch_to_store_keyed(env, input, &key);
        if let Ok(mut m) = self.fetched.lock() {
            match &result {
                Ok((path, locked)) => {
                    m.insert(key, Slot::Done(path.clone(), locked.clone()));
                }
                Err(_) => {
                    m.remove(&key);
                }
            }
        }
        self.landed.notify_all();
        result
    }

    /// Fetches several direct inputs at once (at most `jobs` at a time), so that later calls
    /// of [`Loader::fetch_to_store`] find them. Errors are left for those calls to report, in
    /// their order.
    pub fn prefetch(&self, env: &fetch::Env<'_>, jobs: usize, inputs: Vec<Input>) {
        let todo: Vec<Input> = {
            let Ok(m) = self.fetched.lock() else { return };
            let mut seen = std::collections::HashSet::new();
            inputs
                .into_iter()
                .filter(|i| {
                    let k = i.to_key();
                    !m.contains_key(&k) && seen.insert(k)
                })
                .collect()
        };
        if todo.len() < 2 || jobs < 2 {
            return;
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let total = todo.len() as u64;
        let done = std::sync::atomic::AtomicU64::new(0);
        let label = "fetching inputs";
        std::thread::scope(|s| {
            for _ in 0..jobs.min(todo.len()) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(input) = todo.get(i) else { break };
                        let _ = self.fetch_to_store(env, input);
                        let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        env.reporter.progress(label, d, Some(total));
                    }
                });
            }
        });
        env.reporter.progress_done(label);
    }
}

impl<'a> Loader<'a> {
    /// Makes a loader.
    pub fn new(
        fetch: &'a fetch::Env<'a>,
        registries: &'a mut dyn resolve::Source,
        use_registries: bool,
        jobs: usize,
    ) -> Loader<'a> {
        Loader {
            fetch,
            fetcher: Fetcher::default(),
            registries: RefCell::new(registries),
            use_registries,
            jobs: jobs.max(1),
            unstored_root: false,
        }
    }

    /// Fetches a direct input into the store, once per run.
    pub fn fetch_to_store(&self, input: &Input) -> anyhow::Result<(StorePath, Input)> {
        self.fetcher.fetch_to_store(self.fetch, input)
    }

    /// Fetches several direct inputs at once; see [`Fetcher::prefetch`].
    pub fn prefetch(&self, inputs: Vec<Input>) {
        self.fetcher.prefetch(self.fetch, self.jobs, inputs);
    }

    /// The registry mode for the top-level flake (`All`) or inputs (`Limited`).
    pub fn mode(&self, top: bool) -> Mode {
        match (self.use_registries, top) {
            (false, _) => Mode::No,
            (true, true) => Mode::All,
            (true, false) => Mode::Limited,
        }
    }

    /// Resolves a reference through the registries. Direct references are fetched as they
    /// are, without reading any registry (Nix's `InputCache::getAccessor`; spec §6.5): a lock
    /// file whose inputs need no new lock needs no registry.
    pub fn resolve(&self, flake_ref: &FlakeRef, mode: Mode) -> anyhow::Result<FlakeRef> {
        if flake_ref.input.is_direct() {
            return Ok(flake_ref.clone());
        }
        let mut regs = self.registries.borrow_mut();
        Ok(resolve::resolve(flake_ref, mode, &mut **regs)?)
    }

    /// Gets a flake by reference (Nix's `getFlake`): resolve, fetch, read `flake.nix`, apply
    /// `inputs.self`. `lock_root` is the flake's input path in the lock file, which prefixes
    /// its `follows`.
    pub fn get_flake(
        &self,
        original: &FlakeRef,
        mode: Mode,
        lock_root: &InputPath,
    ) -> anyhow::Result<Flake> {
        let resolved = self.resolve(original, mode)?;
        let unstored = self.unstored_root && lock_root.is_empty();
        let (mut path, mut locked, mut source) = self.fetch_source(&resolved, unstored)?;
        // A tree in the store never changes: what its flake.nix declares can be kept.
        let cache = (!unstored).then_some(self.fetch.cache_dir.as_path());
        let mut decl = read_decl(&source, &resolved, lock_root, cache)?;
        if !decl.self_attrs.is_empty() {
            let mut attrs = locked.without_final().without(&["narHash"]).attrs().clone();
            for (k, v) in &decl.self_attrs {
                if k != "submodules" && k != "lfs" {
                    anyhow::bail!("flake 'self' attribute '{k}' is not supported");
                }
                attrs.insert(k.clone(), v.clone());
            }
            let again = Input::from_attrs(attrs, self.fetch.reporter)?;
            if again.attrs() != locked.without_final().attrs() {
                let again = FlakeRef {
                    input: again,
                    subdir: resolved.subdir.clone(),
                };
                (path, locked, source) = self.fetch_source(&again, unstored)?;
                decl = read_decl(&source, &resolved, lock_root, cache)?;
            }
        }
        Ok(Flake {
            original: original.clone(),
            locked: FlakeRef {
                input: locked.without_final(),
                subdir: resolved.subdir.clone(),
            },
            resolved,
            store_path: Some(path),
            source,
            decl,
        })
    }

    /// Reads a relative path input's flake from its parent's tree (Nix's `readFlake` with the
    /// reference as original, resolved and locked reference).
    pub fn read_relative(
        &self,
        flake_ref: &FlakeRef,
        source: Source,
        lock_root: &InputPath,
    ) -> anyhow::Result<Flake> {
        let decl = read_decl(&source, flake_ref, lock_root, None)?;
        Ok(Flake {
            original: flake_ref.clone(),
            resolved: flake_ref.clone(),
            locked: flake_ref.clone(),
            store_path: None,
            source,
            decl,
        })
    }

    /// Fetches the tree of a resolved reference and says where its flake is: in the store, or
    /// (`unstored`) where the fetcher left it.
    fn fetch_source(
        &self,
        resolved: &FlakeRef,
        unstored: bool,
    ) -> anyhow::Result<(StorePath, Input, Source)> {
        let label = |p: &StorePath| crate::store::Store::store_dir(self.fetch.store).print(p);
        let dir = resolved.subdir.trim_matches('/').to_owned();
        let local = fetch::local_tree(self.fetch, &resolved.input);
        if unstored {
            let r = fetch::fetch_for_reading(self.fetch, &resolved.input)?;
            let source = Source {
                label: label(&r.path),
                root: r.root,
                dir,
                keep: r.keep,
                local,
            };
            return Ok((r.path, r.input, source));
        }
        let (path, locked) = self.fetch_to_store(&resolved.input)?;
        let source = Source {
            root: self.fetch.store.real_path(&path),
            label: label(&path),
            dir,
            keep: fetch::KeepTree::default(),
            local,
        };
        Ok((path, locked, source))
    }
}

/// Reads `flake.nix` of the flake at `source` (or what it declares from the cache under
/// `cache`, Nix's cache directory, for a tree in the store) and makes its `follows` absolute.
fn read_decl(
    source: &Source,
    resolved: &FlakeRef,
    lock_root: &InputPath,
    cache: Option<&Path>,
) -> anyhow::Result<FlakeDecl> {
    let cached = cache.map(|dir| (dir, super::decl_cache::key(&source.label, &source.dir)));
    let mut decl = match &cached {
        Some((dir, key)) => match super::decl_cache::get(dir, key) {
            Some(decl) => decl,
            None => {
                let decl = parse_decl(source, resolved)?;
                super::decl_cache::put(dir, key, &decl);
                decl
            }
        },
        None => parse_decl(source, resolved)?,
    };
    for input in decl.inputs.values_mut() {
        prefix_follows(input, lock_root);
    }
    Ok(decl)
}

/// Reads and parses `flake.nix` of `source`.
fn parse_decl(source: &Source, resolved: &FlakeRef) -> anyhow::Result<FlakeDecl> {
    let file = source.flake_dir().join("flake.nix");
    let text = read_flake_nix(&file, &source.flake_nix_label())?;
    let opts = decl::ReadOptions {
        file_label: source.flake_nix_shown(),
        flake_label: resolved.input.to_display(),
        subdir: source.dir.clone(),
    };
    let opts = decl::ReadOptions {
        flake_label: resolved.to_url_string().unwrap_or(opts.flake_label.clone()),
        ..opts
    };
    Ok(decl::read_located(&text, &opts)?)
}

fn read_flake_nix(file: &Path, label: &str) -> anyhow::Result<String> {
    match std::fs::read(file) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("file '{label}' is not valid UTF-8")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!("path '{label}' does not exist")
        }
        Err(e) => Err(e).with_context(|| format!("reading '{label}'")),
    }
}

/// Prefixes every `follows` of an input declaration (and of its overrides) with `prefix`, the
/// input path of the flake that declares it.
fn prefix_follows(input: &mut InputDecl, prefix: &InputPath) {
    if let Some(f) = &mut input.follows {
        let mut full = prefix.clone();
        full.append(f);
        *f = full;
    }
    for o in input.overrides.values_mut() {
        prefix_follows(o, prefix);
    }
}
