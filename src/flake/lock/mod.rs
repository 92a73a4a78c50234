//! Locking a flake (Nix's `lockFlake`, spec C4–C5): compute the new lock from `flake.nix`
//! and the old lock, check its `follows`, and decide whether and where to write it, printing
//! Nix's messages.
//!
//! # Deviations
//!
//! - Nix adds the trace lines `while updating the flake input '…'` to errors (shown with
//!   `--show-trace`); rflake prints the error alone.
//! - Inputs of one flake that need a new lock are fetched in parallel (at most
//!   `http-connections` at once) before they are locked in Nix's order; results and messages
//!   are the same as fetching them one by one.

mod compute;
mod overrides;
mod write;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use compute::{Computer, Level};

use super::InputPath;
use super::load::{Flake, Loader};
use super::lockfile::LockFile;
use crate::flakeref::FlakeRef;
use crate::report::Reporter;

/// The lock-file flags (Nix's `LockFlags`).
#[derive(Debug, Clone)]
pub struct Flags {
    /// `--recreate-lock-file`: ignore the old lock while computing.
    pub recreate_lock_file: bool,
    /// Not `--no-update-lock-file`.
    pub update_lock_file: bool,
    /// Not `--no-write-lock-file` (and no `--override-input`).
    pub write_lock_file: bool,
    /// `--commit-lock-file`.
    pub commit_lock_file: bool,
    /// The `commit-lock-file-summary` setting.
    pub commit_lock_file_summary: String,
    /// `--reference-lock-file`.
    pub reference_lock_file: Option<PathBuf>,
    /// `--output-lock-file`.
    pub output_lock_file: Option<PathBuf>,
    /// `--override-input PATH REF`, in order.
    pub input_overrides: Vec<(InputPath, FlakeRef)>,
    /// `--update-input PATH`.
    pub input_updates: BTreeSet<InputPath>,
    /// Fail rather than warn when the new lock has an unlocked input (`nix flake lock`).
    pub fail_on_unlocked: bool,
    /// The `allow-dirty` setting.
    pub allow_dirty: bool,
    /// The `allow-dirty-locks` setting.
    pub allow_dirty_locks: bool,
    /// The `warn-dirty` setting.
    pub warn_dirty: bool,
    /// The `trust-tarballs-from-git-forges` setting.
    pub trust_tarballs_from_git_forges: bool,
    /// The lock file must already lock every input, in sync with `flake.nix`: locking that
    /// would fetch an input, resolve a reference or change the lock fails with [`OutOfSync`]
    /// (`flake archive --check`, an rflake addition; the check of NixOS/nix#8637).
    pub frozen: bool,
}

/// With [`Flags::frozen`]: the lock file is incomplete or out of sync with `flake.nix`.
#[derive(Debug, thiserror::Error)]
#[error(
    "the lock file of flake '{flake}' is incomplete or out of sync with its flake.nix: {reason}"
)]
pub struct OutOfSync {
    /// The top-level flake.
    pub flake: String,
    /// What locking would change.
    pub reason: String,
}

impl Default for Flags {
    fn default() -> Flags {
        Flags {
            recreate_lock_file: false,
            update_lock_file: true,
            write_lock_file: true,
            commit_lock_file: false,
            commit_lock_file_summary: String::new(),
            reference_lock_file: None,
            output_lock_file: None,
            input_overrides: Vec::new(),
            input_updates: BTreeSet::new(),
            fail_on_unlocked: false,
            allow_dirty: true,
            allow_dirty_locks: false,
            warn_dirty: true,
            trust_tarballs_from_git_forges: true,
            frozen: false,
        }
    }
}

/// A locked flake (Nix's `LockedFlake`).
#[derive(Debug)]
pub struct LockedFlake {
    /// The top-level flake (re-read after its lock file was written).
    pub flake: Flake,
    /// The lock file.
    pub lock_file: LockFile,
}

/// Reads a lock file if it exists (an empty lock otherwise), checking that its inputs are
/// locked; `label` names it in messages (the file the user edits, for a local flake).
pub fn read_lock_file(
    path: &Path,
    label: &str,
    flags: &Flags,
    report: &dyn Reporter,
) -> anyhow::Result<LockFile> {
    let Some(bytes) = crate::util::fs::read_if_exists(path)? else {
        return Ok(LockFile::default());
    };
    let text = String::from_utf8_lossy(&bytes);
    let file = LockFile::parse(&text, label)?;
    for w in file.check_locked(
        flags.allow_dirty_locks,
        flags.trust_tarballs_from_git_forges,
    )? {
        report.warn(&w);
    }
    Ok(file)
}

/// Locks the flake `top` (spec C4–C5): computes the new lock from its `flake.nix` and old
/// lock, then writes it if it changed and may be written (`write::save`).
pub fn lock_flake(
    loader: &Loader<'_>,
    top: &FlakeRef,
    flags: &Flags,
) -> anyhow::Result<LockedFlake> {
    let flake = loader.get_flake(top, loader.mode(true), &Vec::new())?;
    lock_read_flake(loader, top, flags, flake)
}

/// [`lock_flake`] of a flake its caller has already got (`loader.get_flake(top, …)` at the
/// root): its `flake.nix` is not fetched and read a second time.
pub fn lock_read_flake(
    loader: &Loader<'_>,
    top: &FlakeRef,
    flags: &Flags,
    flake: Flake,
) -> anyhow::Result<LockedFlake> {
    let old = read_old_lock(&flake, flags, loader.fetch.reporter)?;
    let new = compute_lock(loader, flags, top, &flake, &old)?;
    let flake = write::save(loader, top, flags, &old, &new, flake)?;
    Ok(LockedFlake {
        flake,
        lock_file: new,
    })
}

/// Reads the lock file that locking starts from: `--reference-lock-file`, else the flake's
/// own `flake.lock`.
fn read_old_lock(flake: &Flake, flags: &Flags, report: &dyn Reporter) -> anyhow::Result<LockFile> {
    if flags.reference_lock_file.is_some() && !flags.allow_dirty {
        anyhow::bail!(
            "reference lock file was provided, but the `allow-dirty` setting is set to false"
        );
    }
    let (path, label) = match &flags.reference_lock_file {
        Some(p) => (p.clone(), p.display().to_string()),
        None => (flake.lock_file_path(), flake.source.flake_lock_shown()),
    };
    read_lock_file(&path, &label, flags, report)
}

/// Computes the lock file of `flake` from its declarations and `old` (unless
/// `--recreate-lock-file`), warns about flags that matched no input, and checks its
/// `follows`.
fn compute_lock(
    loader: &Loader<'_>,
    flags: &Flags,
    top: &FlakeRef,
    flake: &Flake,
    old: &LockFile,
) -> anyhow::Result<LockFile> {
    let mut computer = Computer::new(loader, flags, &flake.source, top);
    let root = Level {
        node: computer.new.root,
        prefix: Vec::new(),
        old: (!flags.recreate_lock_file).then_some((old, old.root)),
        follows_prefix: Vec::new(),
        source: flake.source.clone(),
        trust_lock: false,
    };
    computer.compute(&flake.decl.inputs, &root)?;
    for w in computer.unused_flag_warnings() {
        loader.fetch.reporter.warn(&w);
    }
    let new = computer.new;
    new.check()?;
    Ok(new)
}
