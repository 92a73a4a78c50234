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
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use compute::{Computer, Override};

use super::InputPath;
use super::decl::InputDecl;
use super::load::{Flake, Loader};
use super::lockfile::{self, LockFile};
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

/// Locks the flake `top` (spec C4–C5).
pub fn lock_flake(
    loader: &Loader<'_>,
    top: &FlakeRef,
    flags: &Flags,
) -> anyhow::Result<LockedFlake> {
    let report = loader.fetch.reporter;
    let mut flake = loader.get_flake(top, loader.mode(true), &Vec::new())?;
    if flags.reference_lock_file.is_some() && !flags.allow_dirty {
        anyhow::bail!(
            "reference lock file was provided, but the `allow-dirty` setting is set to false"
        );
    }
    let (old_path, old_label) = match &flags.reference_lock_file {
        Some(p) => (p.clone(), p.display().to_string()),
        None => (flake.lock_file_path(), flake.source.flake_lock_shown()),
    };
    let old = read_lock_file(&old_path, &old_label, flags, report)?;

    let mut computer = Computer {
        loader,
        flags,
        overrides: BTreeMap::new(),
        cli_overrides: BTreeSet::new(),
        overrides_used: BTreeSet::new(),
        updates_used: BTreeSet::new(),
        parents: Vec::new(),
        new: LockFile::default(),
    };
    for (path, r) in &flags.input_overrides {
        computer
            .overrides
            .entry(path.clone())
            .or_insert_with(|| Override {
                input: InputDecl {
                    flake_ref: Some(r.clone()),
                    follows: None,
                    is_flake: true,
                    overrides: BTreeMap::new(),
                    pos: Default::default(),
                },
                source: flake.source.clone(),
                parent: Vec::new(),
            });
        computer.cli_overrides.insert(path.clone());
    }
    let root = computer.new.root;
    let old_root = (!flags.recreate_lock_file).then_some((&old, old.root));
    let source = flake.source.clone();
    computer.compute(
        &flake.decl.inputs,
        root,
        &Vec::new(),
        old_root,
        &Vec::new(),
        &source,
        false,
    )?;
    for (path, r) in &flags.input_overrides {
        if !computer.overrides_used.contains(path) {
            report.warn(&format!(
                "the flag '--override-input {} {}' does not match any input",
                super::print_path(path),
                r.to_url_string().unwrap_or_default()
            ));
        }
    }
    for path in &flags.input_updates {
        if !computer.updates_used.contains(path) {
            report.warn(&format!(
                "'{}' does not match any input of this flake",
                super::print_path(path)
            ));
        }
    }
    let new = computer.new;
    new.check()?;

    if new.to_json() != old.to_json() || flags.output_lock_file.is_some() {
        let diff = lockfile::diff(&old, &new);
        let top_s = top.to_url_string()?;
        if !flags.write_lock_file {
            report.warn(&format!(
                "not writing modified lock file of flake '{top_s}':\n{}",
                diff.trim_end()
            ));
        } else {
            let source_path = write::source_path(top);
            if source_path.is_none() && flags.output_lock_file.is_none() {
                anyhow::bail!(
                    "cannot write modified lock file of flake '{top_s}' (use '--no-write-lock-file' to ignore)"
                );
            }
            if let Some((_, unlocked)) = new.find_unlocked_ref(
                flags.trust_tarballs_from_git_forges,
                flags.allow_dirty_locks,
            ) {
                let shown = unlocked
                    .to_url_string()
                    .unwrap_or_else(|_| unlocked.input.to_display());
                if flags.fail_on_unlocked {
                    anyhow::bail!(
                        "Not writing lock file of flake '{top_s}' because it has an unlocked input ('{shown}'). Use '--allow-dirty-locks' to allow this anyway."
                    );
                }
                if flags.warn_dirty {
                    report.warn(&format!(
                        "not writing lock file of flake '{top_s}' because it has an unlocked input ('{shown}')"
                    ));
                }
            } else {
                if !flags.update_lock_file {
                    anyhow::bail!(
                        "flake '{top_s}' requires lock file changes but they're not allowed due to '--no-update-lock-file'"
                    );
                }
                let text = new.to_text();
                if let Some(out) = &flags.output_lock_file {
                    if flags.commit_lock_file {
                        anyhow::bail!(
                            "'--commit-lock-file' and '--output-lock-file' are incompatible"
                        );
                    }
                    crate::util::fs::write_atomic(out, text.as_bytes())?;
                } else if let Some(src) = source_path {
                    write::put_lock_file(loader.fetch, top, &src, &text, &diff, flags)?;
                }
                let prev_rev = flake.locked.input.get_str("rev").map(str::to_owned);
                loader.fetcher.forget();
                flake = loader.get_flake(top, loader.mode(true), &Vec::new())?;
                if flags.commit_lock_file
                    && let Some(rev) = flake.locked.input.get_str("rev")
                    && prev_rev.as_deref() != Some(rev)
                {
                    report.warn(&format!("committed new revision '{rev}'"));
                }
            }
        }
    }
    Ok(LockedFlake {
        flake,
        lock_file: new,
    })
}
