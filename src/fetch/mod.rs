//! Fetchers: turning a direct input into a file tree in the store and a locked input (spec
//! Part 7, Nix's `src/libfetchers/`).
//!
//! [`fetch_to_store`] is the common pipeline of spec §7.1: the short cut for final inputs whose
//! store path is valid already, the per-type fetcher, adding the tree to the store (NAR hash,
//! `source` path), checking the result against what was asked (`narHash`, `rev`, final
//! attributes) and marking it `__final`. Each type has its module: [`path`], [`git`],
//! [`tarball`] (also `file`), [`forge`] (github, gitlab, sourcehut) and [`hg`].
//!
//! Everything a fetcher needs arrives in an [`Env`]: the store, the fetcher cache, the HTTP
//! settings, the reporter and the clock. Nothing here reads environment variables.
//!
//! # Deviations
//!
//! See the type modules.

pub mod cache;
pub mod forge;
pub mod git;
pub mod hg;
pub mod http;
pub mod path;
pub mod tarball;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::flakeref::attrs::{self, Attr};
use crate::flakeref::{Input, Kind};
use crate::hash::{Algo, Hash};
use crate::report::{Activity, ActivityType, Reporter, Verbosity};
use crate::store::local::LocalStore;
use crate::store::path::References;
use crate::store::{PathInfo, Store as _, StorePath};

/// The settings that change how inputs are fetched (spec §7.8).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `tarball-ttl` in seconds: how long cached downloads, git refs and forge API answers stay
    /// fresh (0 with `--refresh`).
    pub tarball_ttl: u64,
    /// `--offline`: never touch the network; cached data never expires.
    pub offline: bool,
    /// `allow-dirty`.
    pub allow_dirty: bool,
    /// `warn-dirty`.
    pub warn_dirty: bool,
    /// `access-tokens`: host → token.
    pub access_tokens: BTreeMap<String, String>,
    /// `trust-tarballs-from-git-forges`.
    pub trust_tarballs_from_git_forges: bool,
    /// `download-attempts`.
    pub download_attempts: u64,
    /// Test-only: send the requests of github, gitlab and sourcehut inputs to
    /// `<base>/<host>/<path>` instead of `https://<host>/<path>` (the CLI reads it from
    /// `_RFLAKE_FORGE_BASE_URL`), so that tests can serve a forge's API on loopback.
    pub forge_base_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tarball_ttl: 3600,
            offline: false,
            allow_dirty: true,
            warn_dirty: true,
            access_tokens: BTreeMap::new(),
            trust_tarballs_from_git_forges: true,
            download_attempts: 5,
            forge_base_url: None,
        }
    }
}

/// What fetching needs: explicit inputs only.
pub struct Env<'a> {
    /// The store trees are added to.
    pub store: &'a LocalStore,
    /// Nix's cache directory (`$XDG_CACHE_HOME/nix`): clone caches, the fetcher cache.
    pub cache_dir: PathBuf,
    /// The fetcher cache (`fetcher-cache-v4.sqlite` in the cache directory).
    pub cache: &'a cache::Cache,
    /// The settings.
    pub settings: Settings,
    /// The working directory (relative git `file:` URLs, spec §7.3.1).
    pub cwd: PathBuf,
    /// The current time in Unix seconds.
    pub now: u64,
    /// Where warnings, notices and progress go.
    pub reporter: &'a dyn Reporter,
    /// The process's HTTP client.
    pub http: &'a crate::util::http::HttpClient,
}

/// A fetched tree: where it is on disk now, and what kind of place that is.
pub struct Tree {
    /// The directory (or file, or symlink) holding the tree.
    pub path: PathBuf,
    /// Where it is, which decides how it gets into the store.
    pub place: Place,
}

/// Where a fetched tree is.
pub enum Place {
    /// Somewhere outside the store (a work tree, a path input): it is copied in. With
    /// `last_modified`, the input gets the newest modification time in the tree as its
    /// `lastModified`, found while the tree is copied (so a path input is walked once).
    Outside {
        /// Whether to set `lastModified` from the copy.
        last_modified: bool,
    },
    /// In a temporary directory of the store (an unpacked archive, an exported git tree): it is
    /// moved into place.
    StoreTemp(crate::store::local::TempDir),
    /// A valid store path already (a cached download): used as it is when its name is right.
    Stored(StorePath, PathInfo),
}

impl Tree {
    /// A tree at `path` that the fetcher does not own.
    pub fn at(path: impl Into<PathBuf>) -> Tree {
        Tree {
            path: path.into(),
            place: Place::Outside {
                last_modified: false,
            },
        }
    }

    /// A tree at `path` that the fetcher does not own, whose newest modification time becomes
    /// the input's `lastModified` (path inputs).
    pub fn with_last_modified(path: impl Into<PathBuf>) -> Tree {
        Tree {
            path: path.into(),
            place: Place::Outside {
                last_modified: true,
            },
        }
    }
}

/// What a type's fetcher returns: the tree and the input with the attributes it learned
/// (`rev`, `lastModified`, …) added.
pub struct Fetched {
    /// The tree.
    pub tree: Tree,
    /// The input with its new attributes.
    pub input: Input,
}

/// The exit status of a `narHash` mismatch (Nix's `exit 102`).
pub const HASH_MISMATCH_EXIT: u8 = 102;

/// A fetched tree does not have the `narHash` that was asked for.
#[derive(Debug, thiserror::Error)]
#[error("NAR hash mismatch in input '{input}', expected '{expected}' but got '{got}'")]
pub struct HashMismatch {
    /// The requested input, printed.
    pub input: String,
    /// The requested hash (SRI).
    pub expected: String,
    /// The tree's hash (SRI).
    pub got: String,
}

/// Runs the type's fetcher for a direct input.
pub fn fetch(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    match input.kind() {
        Some(Kind::Path) => path::fetch(env, input),
        Some(Kind::Git) => git::fetch(env, input),
        Some(Kind::Tarball) => tarball::fetch_tarball(env, input),
        Some(Kind::File) => tarball::fetch_file(env, input),
        Some(Kind::GitHub | Kind::GitLab | Kind::SourceHut) => forge::fetch(env, input),
        Some(Kind::Hg) => hg::fetch(env, input),
        Some(Kind::Indirect) => anyhow::bail!(
            "cannot fetch indirect input '{}'; it must be resolved through a registry first",
            input.to_display()
        ),
        None => anyhow::bail!("cannot fetch unsupported input '{}'", input.to_display()),
    }
}

/// The directory whose files a local input's tree is read from, and which its user edits: a
/// `path` input not pinned by a `narHash`, or a git work tree (a local non-bare repository
/// fetched without `ref` or `rev`, spec §7.3.3). `None` for anything else.
pub fn local_tree(env: &Env<'_>, input: &Input) -> Option<PathBuf> {
    match input.kind()? {
        Kind::Path if !input.attrs().contains_key("narHash") => {
            let raw = input.get_str("path")?;
            raw.starts_with('/')
                .then(|| path::lexically_normal(Path::new(raw)))
        }
        Kind::Git if input.git_ref().is_none() && input.get_str("rev").is_none() => {
            let url = crate::flakeref::url::parse(input.get_str("url")?).ok()?;
            let dir = env.cwd.join(url.path_string());
            (url.scheme == "file" && dir.join(".git").exists()).then_some(dir)
        }
        _ => None,
    }
}

/// Fetches `input` into the store (spec §7.1) and returns its store path and the locked input
/// (with `narHash` and `__final`).
pub fn fetch_to_store(env: &Env<'_>, input: &Input) -> anyhow::Result<(StorePath, Input)> {
    fetch_to_store_keyed(env, input, &input.to_key())
}

/// [`fetch_to_store`], for a caller that has the input's key ([`Input::to_key`]) already.
pub fn fetch_to_store_keyed(
    env: &Env<'_>,
    input: &Input,
    key: &str,
) -> anyhow::Result<(StorePath, Input)> {
    let expected = input.nar_hash()?;
    if let Some(valid) = valid_final(env, input, expected.as_ref())? {
        return Ok((valid, input.clone()));
    }
    let _lock = lock_input(env, input, key)?;
    let fetched = fetch(env, input)
        .with_context(|| format!("while fetching the input '{}'", input.to_display()))?;
    add_fetched(env, input, expected.as_ref(), fetched)
}

/// The store path of a final input with a `narHash` when that path is valid already (the
/// short cut of spec §7.1: nothing is fetched).
fn valid_final(
    env: &Env<'_>,
    input: &Input,
    nar_hash: Option<&Hash>,
) -> anyhow::Result<Option<StorePath>> {
    if !input.is_final() {
        return Ok(None);
    }
    let Some(nar_hash) = nar_hash else {
        return Ok(None);
    };
    let path = env.store.store_dir().make_source_path(
        nar_hash,
        input.store_name(),
        &References::default(),
    )?;
    Ok(env.store.is_valid_path(&path)?.then_some(path))
}

/// A fetched tree that was not added to the store, and what it would be there: a dry run's
/// top-level flake is read where it was fetched (Nix's `FetchMode::DryRun`).
pub struct Readable {
    /// The store path the tree has, or would have once added.
    pub path: StorePath,
    /// The locked input (with `narHash` and `__final`).
    pub input: Input,
    /// Where the tree's files are now.
    pub root: PathBuf,
    /// Keeps a temporary tree on disk while it is read.
    pub keep: KeepTree,
}

/// Keeps a fetched tree that was not added to the store on disk while something reads it; the
/// tree is removed when the last clone is dropped.
#[derive(Clone, Default)]
pub struct KeepTree(Option<std::sync::Arc<crate::store::local::TempDir>>);

/// Keeping a tree on disk says nothing about which tree it is: all are equal.
impl PartialEq for KeepTree {
    fn eq(&self, _: &KeepTree) -> bool {
        true
    }
}

impl Eq for KeepTree {}

impl std::fmt::Debug for KeepTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "KeepTree(temp)"
        } else {
            "KeepTree"
        })
    }
}

/// Fetches `input` to read it without adding it to the store when the fetcher left its tree in
/// a temporary directory (git and Mercurial exports): the tree is hashed and checked as
/// [`fetch_to_store`] would, and its store path computed. Trees a fetcher keeps elsewhere (path
/// inputs, which Nix copies too; downloads, which rflake caches in the store) are added as
/// usual.
pub fn fetch_for_reading(env: &Env<'_>, input: &Input) -> anyhow::Result<Readable> {
    let stored = |path: StorePath, input: Input| Readable {
        root: env.store.real_path(&path),
        path,
        input,
        keep: KeepTree::default(),
    };
    let expected = input.nar_hash()?;
    if let Some(valid) = valid_final(env, input, expected.as_ref())? {
        return Ok(stored(valid, input.clone()));
    }
    let _lock = lock_input(env, input, &input.to_key())?;
    let fetched = fetch(env, input)
        .with_context(|| format!("while fetching the input '{}'", input.to_display()))?;
    let Place::StoreTemp(tmp) = fetched.tree.place else {
        let (path, locked) = add_fetched(env, input, expected.as_ref(), fetched)?;
        return Ok(stored(path, locked));
    };
    let (hash, _) = crate::store::nar::hash_path(&fetched.tree.path)?;
    if let Some(e) = &expected
        && *e != hash
    {
        return Err(HashMismatch {
            input: input.to_display(),
            expected: e.to_sri(),
            got: hash.to_sri(),
        }
        .into());
    }
    let path = env.store.store_dir().make_source_path(
        &hash,
        input.store_name(),
        &References::default(),
    )?;
    let mut result = fetched.input.attrs().clone();
    result.insert("narHash".into(), Attr::Str(hash.to_sri()));
    let locked = check_locks(input, expected.as_ref(), result, &hash)?;
    Ok(Readable {
        path,
        input: locked,
        root: fetched.tree.path,
        keep: KeepTree(Some(std::sync::Arc::new(tmp))),
    })
}

/// Adds a fetched tree to the store (moving, copying or keeping it by where it is), checks it
/// against what was asked (`narHash`, `rev`, final attributes) and marks the result final.
fn add_fetched(
    env: &Env<'_>,
    input: &Input,
    expected: Option<&Hash>,
    fetched: Fetched,
) -> anyhow::Result<(StorePath, Input)> {
    let name = input.store_name().to_owned();
    let mut newest_mtime = None;
    // What Nix says while it copies a tree from outside the store: a path input at `-v`
    // (`path.cc`), anything else at `-vv` (`fetchToStore`).
    let _act = match &fetched.tree.place {
        Place::Outside { last_modified } => Some(if *last_modified {
            Activity::start(
                env.reporter,
                Verbosity::Talkative,
                ActivityType::Unknown,
                &format!("copying \"{}\" to the store", fetched.tree.path.display()),
                &[],
            )
        } else {
            Activity::start(
                env.reporter,
                Verbosity::Chatty,
                ActivityType::Unknown,
                &format!("copying '«{}»/' to the store", input.to_display()),
                &[],
            )
        }),
        _ => None,
    };
    let added = match fetched.tree.place {
        Place::Stored(path, info)
            if path.name() == name && expected.is_none_or(|e| *e == info.nar_hash) =>
        {
            Ok((path, info))
        }
        Place::StoreTemp(_) => env.store.adopt_tree(&name, &fetched.tree.path, expected),
        Place::Outside {
            last_modified: true,
        } => copying_again(|| {
            env.store
                .add_tree_reading_mtime(&name, &fetched.tree.path, expected)
        })
        .map(|added| {
            // The tree is not read when its path is valid already: walk it then.
            newest_mtime = Some(added.newest_mtime);
            (added.path, added.info)
        }),
        _ => copying_again(|| {
            env.store
                .add_tree_with_hash_opt(&name, &fetched.tree.path, expected)
        }),
    };
    let (path, info) = added.map_err(|e| match e {
        crate::store::local::Error::TreeHashMismatch { specified, got, .. } => {
            anyhow::Error::new(HashMismatch {
                input: input.to_display(),
                expected: specified,
                got,
            })
        }
        other => other.into(),
    })?;
    let mut result = fetched.input.attrs().clone();
    if let Some(found) = newest_mtime {
        let mtime = match found {
            Some(m) => u64::try_from(m).unwrap_or(0),
            None => path::last_modified(&fetched.tree.path)?,
        };
        result.insert("lastModified".into(), Attr::Int(mtime));
    }
    result.insert("narHash".into(), Attr::Str(info.nar_hash.to_sri()));
    let result = check_locks(input, expected, result, &info.nar_hash)?;
    Ok((path, result))
}

/// Runs `add` again (three times in all) while the tree it copies changes under it: a file
/// another process creates and renames away, such as the temporary of a concurrent lock file
/// write into the same flake, or an editor's, vanished between listing and reading. Nix fails
/// then; rflake copies what is there once it holds still (issue #17: parallel archives of one
/// flake must all succeed).
fn copying_again<T>(
    mut add: impl FnMut() -> Result<T, crate::store::local::Error>,
) -> Result<T, crate::store::local::Error> {
    let mut attempts = 1;
    loop {
        match add() {
            Err(e) if attempts < 3 && e.is_tree_changing() => attempts += 1,
            result => return result,
        }
    }
}

/// Takes the per-input lock `<cache>/fetcher-locks/<sha256 of the attributes' JSON>`, so that
/// two processes do not fetch the same input at once (spec §7.1 step 3); says so when it has to
/// wait. The lock is released when the returned file is dropped.
fn lock_input(env: &Env<'_>, input: &Input, key: &str) -> anyhow::Result<std::fs::File> {
    let dir = env.cache_dir.join("fetcher-locks");
    crate::util::fs::create_dir_all(&dir)?;
    let key = Hash::digest(Algo::Sha256, key.as_bytes());
    let path = dir.join(key.to_base16());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening lock file '{}'", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            env.reporter.notice(&format!(
                "waiting for another Nix process to finish fetching input '{}'...",
                input.to_display()
            ));
            crate::util::interrupt::watch();
            file.lock()
                .with_context(|| format!("locking '{}'", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(anyhow::Error::new(e).context(format!("locking '{}'", path.display())));
        }
    }
    Ok(file)
}

/// Checks the fetched attributes against the requested input (Nix's `checkLocks`) and marks
/// the result final.
fn check_locks(
    requested: &Input,
    expected: Option<&Hash>,
    mut result: attrs::Attrs,
    nar_hash: &Hash,
) -> anyhow::Result<Input> {
    if requested.is_final() {
        for (k, v) in requested.attrs() {
            if !Input::is_identity_attr(k) {
                continue;
            }
            let ours = result.get(k);
            let same = match (k.as_str(), v, ours) {
                ("narHash", Attr::Str(a), Some(Attr::Str(b))) => {
                    Hash::parse_any(a, Some(Algo::Sha256)).ok()
                        == Hash::parse_any(b, Some(Algo::Sha256)).ok()
                }
                (_, _, None) => true,
                (_, a, Some(b)) => a == b,
            };
            if !same {
                anyhow::bail!(
                    "mismatch in field '{k}' of input '{}', got '{}'",
                    requested.to_key(),
                    attrs::to_compact_json(&result)
                );
            }
        }
        result = requested.attrs().clone();
    } else {
        if let Some(expected) = expected
            && expected != nar_hash
        {
            return Err(HashMismatch {
                input: requested.to_display(),
                expected: expected.to_sri(),
                got: nar_hash.to_sri(),
            }
            .into());
        }
        if let Some(rev) = requested.get_str("rev")
            && result.get("rev") != Some(&Attr::Str(rev.to_owned()))
        {
            let got = Input::from_attrs(result.clone(), &crate::report::Silent)
                .map(|i| i.to_display())
                .unwrap_or_default();
            anyhow::bail!("'rev' attribute mismatch in input '{got}', expected {rev}");
        }
    }
    Ok(Input::from_attrs(result, &crate::report::Silent)?.make_final())
}

/// Returns the largest modification time (seconds) of `path` and everything below it, not
/// following symlinks (the `lastModified` of path inputs and unpacked tarballs).
pub fn newest_mtime(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::symlink_metadata(path)?;
    let mut newest = u64::try_from(meta.mtime()).unwrap_or(0);
    if meta.is_dir() {
        for e in std::fs::read_dir(path)? {
            newest = newest.max(newest_mtime(&e?.path())?);
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Collect;

    #[test]
    fn a_second_fetch_of_the_same_input_waits_and_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LocalStore::open(crate::store::local::Options::new(Some(
            tmp.path().join("s"),
        )))
        .unwrap();
        let cache = cache::Cache::in_memory().unwrap();
        let log = Collect::default();
        let env = Env {
            store: &store,
            cache_dir: tmp.path().join("cache"),
            cache: &cache,
            settings: Settings::default(),
            cwd: tmp.path().to_owned(),
            now: 0,
            reporter: &log,
            http: &crate::util::http::HttpClient::default(),
        };
        let input = Input::from_attrs(
            [
                ("type".to_owned(), Attr::Str("path".into())),
                ("path".to_owned(), Attr::Str("/x".into())),
            ]
            .into(),
            &crate::report::Silent,
        )
        .unwrap();
        let first = lock_input(&env, &input, &input.to_key()).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| lock_input(&env, &input, &input.to_key()).map(drop));
            while log.lines().is_empty() {
                std::thread::yield_now();
            }
            assert_eq!(
                log.lines(),
                ["waiting for another Nix process to finish fetching input 'path:/x'..."]
            );
            drop(first);
            waiter.join().unwrap().unwrap();
        });
    }
}
