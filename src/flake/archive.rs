//! `flake archive` (spec Part D, Nix's `CmdFlakeArchive`): the store paths of a locked flake
//! and of every input in its lock file, as a JSON tree and as the set of paths to copy.
//!
//! # Deviations
//!
//! - Inputs are fetched in parallel (at most `http-connections` at once) before the tree is
//!   walked in Nix's order; the output is the same as fetching them one by one.
//! - With `--dry-run`, a git or Mercurial root is read where it was exported and only hashed,
//!   as current Nix does; a tarball root is still added to the store (rflake's fetcher cache
//!   keeps downloads as store paths). A `path:` root is copied, as in Nix.
//!
//! # Additions (no Nix release has them; `docs/deviations.md` "Additions")
//!
//! - [`check`] (`--check`): the paths from a frozen lock, asked of the destination store.
//! - [`run_streaming`] (`--print-paths`, `--json-lines`): each path handed out as the walk
//!   reaches it; without `--dry-run` the inputs are fetched in parallel on other threads while
//!   the walk waits for each in turn, so each path is handed out as soon as it is in the store.
//! - [`Selection`] (`--inputs-only`, `--input`, `--exclude`): what the walk takes.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::load::Loader;
use super::lock::LockedFlake;
use super::lockfile::{Edge, LockFile, NodeId};
use super::relative_path;
use super::selection::Selection;
use super::session::{LockRequest, Session};
use crate::flakeref::Input;
use crate::store::copy::{CopyOptions, copy_paths};
use crate::store::uri::StoreUri;
use crate::store::{CheckSigs, Store as _, StorePath};

/// What `flake archive` is asked to do besides locking.
pub struct Request {
    /// The flake and how to lock it.
    pub lock: LockRequest,
    /// `--dry-run`: compute paths from the lock file, fetch and copy nothing.
    pub dry_run: bool,
    /// `--to`: the store to copy the paths to.
    pub to: Option<StoreUri>,
    /// Whether the destination checks signatures (not `--no-check-sigs`).
    pub check_sigs: CheckSigs,
    /// Which parts are archived (rflake additions; the default is all, as Nix).
    pub selection: Selection,
}

/// Runs `flake archive` (Nix's `CmdFlakeArchive`): locks the flake, lists the store paths of
/// the flake and its inputs (fetching them unless `dry_run`), hands the listing to `listed`
/// (which prints it, as Nix prints before it copies), then copies the paths `--to` a store.
pub fn run(
    session: &Session<'_>,
    req: &Request,
    listed: impl FnOnce(&Archive) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    run_streaming(session, req, listed, &mut |_| Ok(()))
}

/// [`run`], handing each store path to `emit` as the walk reaches it (`--print-paths`,
/// `--json-lines`: rflake additions), before the listing and the copy.
pub fn run_streaming(
    session: &Session<'_>,
    req: &Request,
    listed: impl FnOnce(&Archive) -> anyhow::Result<()>,
    emit: Emit<'_>,
) -> anyhow::Result<()> {
    session.lock_reading(&req.lock, req.dry_run, |loader, locked| {
        let archive = archive_with(loader, &locked, req.dry_run, &req.selection, emit)?;
        if !req.dry_run {
            session.publish(&archive.sources)?;
        }
        listed(&archive)?;
        if !req.dry_run
            && let Some(to) = &req.to
        {
            let dst = session.open_store(Some(to))?;
            let opts = CopyOptions {
                check_sigs: req.check_sigs,
                jobs: super::session::COPY_JOBS,
            };
            copy_paths(
                loader.fetch.store,
                dst.as_ref(),
                &archive.sources,
                opts,
                session.reporter(),
            )?;
        }
        Ok(())
    })
}

/// One store path of the archive as the walk reaches it (`--print-paths`, `--json-lines`).
pub struct Reached<'r> {
    /// The input path from the root (`[]` for the root itself); an input reached along
    /// several edges is reached once per edge.
    pub attr_path: &'r [String],
    /// The locked reference.
    pub locked: &'r crate::flakeref::FlakeRef,
    /// Its store path, printed.
    pub path: &'r str,
    /// Whether no earlier edge reached this store path.
    pub first: bool,
}

/// Receives each [`Reached`] path; an error stops the walk.
pub type Emit<'e> = &'e mut dyn FnMut(Reached<'_>) -> anyhow::Result<()>;

/// The outcome of `flake archive --check` (an rflake addition).
#[derive(Debug)]
pub struct Checked {
    /// The paths that were checked (the root's and every selected input's).
    pub archive: Archive,
    /// Those not valid in the destination store, printed, in store-path order.
    pub missing: Vec<String>,
    /// The destination store's URI.
    pub store: String,
}

/// Runs `flake archive --check`: locks the flake with [`super::lock::Flags::frozen`] (an
/// incomplete or out-of-sync lock fails with [`super::lock::OutOfSync`]), computes every path
/// from the lock file as `--dry-run` does (nothing is fetched, no registry is read), hands the
/// listing to `listed`, and asks the destination store (`--to`, else the session's store)
/// which of the paths it lacks.
pub fn check(
    session: &Session<'_>,
    req: &Request,
    listed: impl FnOnce(&Archive) -> anyhow::Result<()>,
    emit: Emit<'_>,
) -> anyhow::Result<Checked> {
    let mut lock = req.lock.clone();
    lock.flags.frozen = true;
    session.lock_reading(&lock, true, |loader, locked| {
        let archive = archive_with(loader, &locked, true, &req.selection, emit)?;
        listed(&archive)?;
        let dst = session.open_store(req.to.as_ref())?;
        let valid = dst.query_valid_paths(&archive.sources)?;
        let store_dir = loader.fetch.store.store_dir();
        let missing = archive
            .sources
            .difference(&valid)
            .map(|p| store_dir.print(p))
            .collect();
        Ok(Checked {
            archive,
            missing,
            store: dst.uri(),
        })
    })
}

/// What archiving found: the JSON tree and the paths to copy.
#[derive(Debug)]
pub struct Archive {
    /// `{"inputs": {…}, "path": …}`.
    pub json: Value,
    /// The root's and every non-relative input's store path.
    pub sources: BTreeSet<StorePath>,
}

/// Walks the lock graph of `locked` (a tree walk: shared nodes are visited once per edge;
/// follows edges are skipped). With `dry_run`, paths are computed from the lock file's
/// `narHash` instead of fetching.
pub fn archive(
    loader: &Loader<'_>,
    locked: &LockedFlake,
    dry_run: bool,
) -> anyhow::Result<Archive> {
    archive_with(loader, locked, dry_run, &Selection::default(), &mut |_| {
        Ok(())
    })
}

/// [`archive`] of the `selection` only (the JSON tree keeps the edges that lead to a selected
/// input; a path is listed only where it is selected), handing each path to `emit` as it is
/// reached.
pub fn archive_with(
    loader: &Loader<'_>,
    locked: &LockedFlake,
    dry_run: bool,
    selection: &Selection,
    emit: Emit<'_>,
) -> anyhow::Result<Archive> {
    selection.check(&locked.lock_file)?;
    let root_path = if dry_run {
        path_from_hash(loader, &locked.flake.locked.input)?
    } else {
        match &locked.flake.store_path {
            Some(p) => p.clone(),
            None => path_from_hash(loader, &locked.flake.locked.input)?,
        }
    };
    let mut prefetch = Vec::new();
    if !dry_run {
        collect(
            &locked.lock_file,
            locked.lock_file.root,
            selection,
            &mut Vec::new(),
            &mut prefetch,
            &mut BTreeSet::new(),
        );
    }
    // The inputs are fetched in parallel on other threads while the walk goes on here: the walk
    // waits for each input's fetch and reports its path as soon as it is in the store
    // (`--print-paths` streams).
    let (fetcher, env, jobs) = (&loader.fetcher, loader.fetch, loader.jobs);
    std::thread::scope(|s| {
        if !prefetch.is_empty() {
            s.spawn(move || fetcher.prefetch(env, jobs, prefetch));
        }
        walk_and_list(loader, locked, dry_run, selection, emit, &root_path)
    })
}

/// The walk of [`archive_with`], after its fetches were started.
fn walk_and_list(
    loader: &Loader<'_>,
    locked: &LockedFlake,
    dry_run: bool,
    selection: &Selection,
    emit: Emit<'_>,
    root_path: &StorePath,
) -> anyhow::Result<Archive> {
    let store_dir = loader.fetch.store.store_dir();
    let mut sources = BTreeSet::new();
    if selection.root() {
        sources.insert(root_path.clone());
        emit(Reached {
            attr_path: &[],
            locked: &locked.flake.locked,
            path: &store_dir.print(root_path),
            first: true,
        })?;
    }
    let mut walker = Walker {
        loader,
        file: &locked.lock_file,
        dry_run,
        sources: &mut sources,
        emit,
        attr_path: Vec::new(),
        selection,
    };
    let inputs = walker.walk(locked.lock_file.root)?;
    let mut obj = Map::new();
    obj.insert("inputs".into(), Value::Object(inputs));
    if selection.root() {
        obj.insert("path".into(), Value::String(store_dir.print(root_path)));
    }
    Ok(Archive {
        json: Value::Object(obj),
        sources,
    })
}

/// Every selected non-relative locked input below `node` (at `path`), each node once (the
/// prefetch: the walk fetches whatever this misses).
fn collect(
    file: &LockFile,
    node: NodeId,
    selection: &Selection,
    path: &mut Vec<String>,
    out: &mut Vec<Input>,
    seen: &mut BTreeSet<NodeId>,
) {
    for (name, edge) in &file.nodes[node].inputs {
        let Edge::Node(c) = edge else { continue };
        path.push(name.clone());
        if !selection.excludes(path) && seen.insert(*c) {
            if let Some(l) = &file.nodes[*c].locked
                && relative_path(&l.locked.input).is_none()
                && selection.selects(path)
            {
                out.push(l.locked.input.make_final());
            }
            collect(file, *c, selection, path, out, seen);
        }
        path.pop();
    }
}

/// The tree walk of [`archive_with`].
struct Walker<'w, 'l> {
    loader: &'w Loader<'l>,
    file: &'w LockFile,
    dry_run: bool,
    sources: &'w mut BTreeSet<StorePath>,
    emit: Emit<'w>,
    /// The input path of the node being walked.
    attr_path: Vec<String>,
    selection: &'w Selection,
}

impl Walker<'_, '_> {
    fn walk(&mut self, node: NodeId) -> anyhow::Result<Map<String, Value>> {
        let store_dir = self.loader.fetch.store.store_dir();
        let file = self.file;
        let mut out = Map::new();
        for (name, edge) in &file.nodes[node].inputs {
            let Edge::Node(c) = edge else { continue };
            self.attr_path.push(name.clone());
            if self.selection.excludes(&self.attr_path) {
                self.attr_path.pop();
                continue;
            }
            let selected = self.selection.selects(&self.attr_path);
            let mut entry = Map::new();
            if let Some(l) = &file.nodes[*c].locked
                && relative_path(&l.locked.input).is_none()
                && selected
            {
                let path = if self.dry_run {
                    path_from_hash(self.loader, &l.locked.input)?
                } else {
                    self.loader.fetch_to_store(&l.locked.input.make_final())?.0
                };
                let printed = store_dir.print(&path);
                let first = self.sources.insert(path);
                (self.emit)(Reached {
                    attr_path: &self.attr_path,
                    locked: &l.locked,
                    path: &printed,
                    first,
                })?;
                entry.insert("path".into(), Value::String(printed));
            }
            let inputs = self.walk(*c)?;
            self.attr_path.pop();
            if !selected && inputs.is_empty() {
                continue;
            }
            entry.insert("inputs".into(), Value::Object(inputs));
            out.insert(name.clone(), Value::Object(entry));
        }
        Ok(out)
    }
}

/// The store path of a locked input computed from its `narHash` and name.
fn path_from_hash(loader: &Loader<'_>, input: &Input) -> anyhow::Result<StorePath> {
    let Some(hash) = input.nar_hash()? else {
        anyhow::bail!(
            "cannot compute store path for unlocked input '{}'",
            input.to_display()
        );
    };
    Ok(loader.fetch.store.store_dir().make_source_path(
        &hash,
        input.store_name(),
        &crate::store::path::References::default(),
    )?)
}
