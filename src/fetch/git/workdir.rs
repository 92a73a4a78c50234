//! Work-tree mode (spec §7.3.3, Nix's `getAccessorFromWorkdir` and `getWorkdirInfo`): a local
//! repository fetched without `ref` or `rev` gives its tracked files with their work-tree
//! contents.
//!
//! The file set and dirtiness come from libgit2's status with unmodified entries included and
//! submodules excluded: every path the index or `HEAD` knows that is not deleted is exported;
//! untracked and ignored files are not listed and do not make the tree dirty; any other status
//! than "unmodified" does. A clean tree gets `ref`, `rev`, `revCount` and `lastModified`; a
//! dirty one `dirtyRev`, `dirtyShortRev` and `lastModified`, after the `allow-dirty` check
//! and the `warn-dirty` warning.
//!
//! # Deviations
//!
//! None known.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::{Oid, Repository, Status, StatusOptions};

use super::submodule::{self, Submodule};
use super::{Error, Flags, Location, export, repo};
use crate::fetch::Env;
use crate::flakeref::Input;
use crate::flakeref::attrs::Attr;

/// What the work tree holds (Nix's `WorkdirInfo`).
#[derive(Debug, Default)]
pub struct WorkdirInfo {
    /// The commit `HEAD` points at, if any.
    pub head_rev: Option<Oid>,
    /// The tracked paths that are not deleted, relative to the work tree.
    pub files: BTreeSet<PathBuf>,
    /// Whether any tracked path differs from `HEAD`.
    pub is_dirty: bool,
    /// The submodules declared in the work tree's `.gitmodules`.
    pub submodules: Vec<Submodule>,
}

/// Reads the status of the work tree of `repo` (at `path`).
pub fn info(repo: &Repository, path: &Path) -> anyhow::Result<WorkdirInfo> {
    let mut info = WorkdirInfo {
        head_rev: repo::head_rev(repo)?,
        ..WorkdirInfo::default()
    };
    let mut opts = StatusOptions::new();
    opts.include_unmodified(true)
        .exclude_submodules(true)
        .include_untracked(false)
        .include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .context("getting working directory status")?;
    for entry in statuses.iter() {
        let status = entry.status();
        if !status.intersects(Status::INDEX_DELETED | Status::WT_DELETED) {
            let rel = PathBuf::from(OsStr::from_bytes(entry.path_bytes()));
            info.files.insert(rel);
        }
        if status != Status::CURRENT {
            info.is_dirty = true;
        }
    }
    let modules = path.join(".gitmodules");
    if modules.exists() {
        info.submodules = submodule::parse_file(&modules)?;
    }
    Ok(info)
}

/// Fetches the work tree at `path` into `dest`.
pub fn fetch(
    env: &Env<'_>,
    input: &Input,
    path: &Path,
    flags: Flags,
    dest: &Path,
) -> anyhow::Result<Input> {
    let repo = repo::open(path)?;
    let mut info = info(&repo, path)?;
    let mounts: Vec<&Submodule> = if flags.submodules {
        info.submodules.iter().collect()
    } else {
        Vec::new()
    };
    export_files(&repo, path, &info.files, &mounts, flags.export_ignore, dest)?;
    for sub in &mounts {
        if !fetch_submodule(env, path, sub, flags, dest)? {
            info.is_dirty = true;
        }
    }
    let location = Location::Local(path.to_owned());
    let mut attrs = input.attrs().clone();
    if info.is_dirty {
        if !env.settings.allow_dirty {
            return Err(Error::Dirty(location.display()).into());
        }
        if env.settings.warn_dirty {
            env.reporter
                .warn(&format!("Git tree '{}' is dirty", location.display()));
        }
        if let Some(head) = info.head_rev {
            let rev = head.to_string();
            attrs.insert("dirtyRev".into(), Attr::Str(format!("{rev}-dirty")));
            attrs.insert(
                "dirtyShortRev".into(),
                Attr::Str(format!("{}-dirty", &rev[..7])),
            );
        }
    } else {
        if let Some(r) = repo::head_ref(&repo)? {
            attrs.insert("ref".into(), Attr::Str(r));
        }
        let rev = info.head_rev.unwrap_or(Oid::ZERO_SHA1);
        attrs.insert("rev".into(), Attr::Str(rev.to_string()));
        if !flags.shallow {
            let count = match info.head_rev {
                Some(head) => repo::rev_count(env, &repo, &location, head)?,
                None => 0,
            };
            attrs.insert("revCount".into(), Attr::Int(count));
        }
    }
    let last_modified = match info.head_rev {
        Some(head) => repo::last_modified(env, &repo, head)?,
        None => 0,
    };
    attrs.insert("lastModified".into(), Attr::Int(last_modified));
    Ok(Input::from_attrs(attrs, env.reporter)?)
}

/// Fetches a checked-out submodule of the work tree into its place; returns whether it was
/// clean (has a `rev`).
fn fetch_submodule(
    env: &Env<'_>,
    repo_path: &Path,
    sub: &Submodule,
    flags: Flags,
    dest: &Path,
) -> anyhow::Result<bool> {
    let sub_path = repo_path.join(&sub.path);
    let mut attrs = crate::flakeref::attrs::Attrs::new();
    attrs.insert("type".into(), Attr::Str("git".into()));
    attrs.insert(
        "url".into(),
        Attr::Str(sub_path.to_string_lossy().into_owned()),
    );
    attrs.insert("exportIgnore".into(), Attr::Bool(flags.export_ignore));
    attrs.insert("submodules".into(), Attr::Bool(true));
    let sub_input = Input::from_attrs(attrs, env.reporter)?;
    let target = dest.join(&sub.path);
    if let Some(parent) = target.parent() {
        crate::util::fs::create_dir_all(parent)?;
    }
    if target.symlink_metadata().is_ok() {
        crate::store::local::canon::delete_path(&target)?;
    }
    let got = super::fetch_into(env, &sub_input, &target).with_context(|| {
        format!(
            "while fetching the submodule '{}' of '{}'",
            sub.path,
            repo_path.display()
        )
    })?;
    Ok(got.get_str("rev").is_some())
}

/// Copies `files` (and the directories leading to them) from the work tree at `root` to `dest`,
/// leaving out submodule mount points and, with `export_ignore`, `export-ignore` paths.
fn export_files(
    repo: &Repository,
    root: &Path,
    files: &BTreeSet<PathBuf>,
    mounts: &[&Submodule],
    export_ignore: bool,
    dest: &Path,
) -> anyhow::Result<()> {
    export::create_dir(dest)?;
    let mut ignored: HashMap<PathBuf, bool> = HashMap::new();
    let mut is_ignored = |rel: &Path| -> anyhow::Result<bool> {
        if !export_ignore {
            return Ok(false);
        }
        if let Some(&hit) = ignored.get(rel) {
            return Ok(hit);
        }
        let hit = export::is_export_ignored(repo, rel)?;
        ignored.insert(rel.to_owned(), hit);
        Ok(hit)
    };
    'files: for rel in files {
        if mounts
            .iter()
            .any(|m| rel.starts_with(&m.path) && !m.path.is_empty())
        {
            continue;
        }
        // Directories on the way are created as long as they are not ignored, even if the
        // file itself is: Nix lists a directory whose files are all export-ignored as empty.
        let mut dir = PathBuf::new();
        let parents: Vec<_> = rel
            .parent()
            .map(|p| p.components().collect())
            .unwrap_or_default();
        for part in parents {
            dir.push(part);
            if is_ignored(&dir)? {
                continue 'files;
            }
            let out = dest.join(&dir);
            if !out.is_dir() {
                export::create_dir(&out)?;
            }
        }
        if is_ignored(rel)? {
            continue;
        }
        copy_entry(&root.join(rel), &dest.join(rel))?;
    }
    Ok(())
}

/// Copies a file, symlink or (a tracked file replaced by a) directory, not following symlinks.
pub fn copy_entry(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let meta = fs::symlink_metadata(src)
        .with_context(|| format!("getting status of \"{}\"", src.display()))?;
    if meta.file_type().is_symlink() {
        let target =
            fs::read_link(src).with_context(|| format!("reading symlink \"{}\"", src.display()))?;
        std::os::unix::fs::symlink(&target, dst)
            .with_context(|| format!("creating symlink \"{}\"", dst.display()))?;
    } else if meta.is_dir() {
        export::create_dir(dst)?;
        for entry in
            fs::read_dir(src).with_context(|| format!("reading directory \"{}\"", src.display()))?
        {
            let entry = entry?;
            copy_entry(&entry.path(), &dst.join(entry.file_name()))?;
        }
    } else {
        fs::copy(src, dst).with_context(|| format!("copying \"{}\"", src.display()))?;
    }
    Ok(())
}
