//! Writing a commit's tree to disk (Nix's `GitSourceAccessor`, seen through a NAR dump):
//! files with their contents, executable when their git mode is `100755`, symlinks, and an
//! empty directory for each submodule (gitlink). With `exportIgnore`, paths whose
//! `.gitattributes` give them `export-ignore` are left out (`GitExportIgnoreSourceAccessor`).
//!
//! Blobs are written by several threads, each with its own libgit2 handle, straight into the
//! destination (a temporary directory of the store).
//!
//! # Deviations
//!
//! None known. (Nix reads the attributes of the commit through libgit2's `attr_commit_id`;
//! rflake loads the commit's tree into an in-memory index and asks libgit2 with
//! `GIT_ATTR_CHECK_INDEX_ONLY`, which reads the same `.gitattributes` files.)

use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use git2::{AttrCheckFlags, AttrValue, ObjectType, Oid, Repository, Tree};

use super::repo;

/// A git mode: executable file.
const MODE_EXECUTABLE: i32 = 0o100755;
/// A git mode: symlink.
const MODE_LINK: i32 = 0o120000;

/// A file to write: where, which blob, executable or not.
struct Job {
    path: PathBuf,
    oid: Oid,
    executable: bool,
}

/// Writes the tree of commit `rev` of the repository at `repo_path` to `dest`, which must not
/// exist. Returns the paths (relative, `/`-separated) of the gitlinks written as empty
/// directories, with their commits.
pub fn commit_tree(
    repo_path: &Path,
    rev: Oid,
    dest: &Path,
    export_ignore: bool,
) -> anyhow::Result<Vec<(String, Oid)>> {
    let repo = repo::open(repo_path)?;
    let commit = repo
        .find_commit(rev)
        .with_context(|| format!("looking up Git commit '{rev}'"))?;
    let tree = commit.tree()?;
    let attrs = if export_ignore {
        Some(attr_repo_for_tree(repo_path, &tree)?)
    } else {
        None
    };
    let mut walk = Walk {
        repo: &repo,
        attrs: attrs.as_ref(),
        dest,
        jobs: Vec::new(),
        gitlinks: Vec::new(),
    };
    create_dir(dest)?;
    walk.tree(&tree, Path::new(""))?;
    let Walk { jobs, gitlinks, .. } = walk;
    write_blobs(repo_path, &repo, &jobs)?;
    Ok(gitlinks)
}

/// Opens a second handle on the repository whose index is `tree`, so that libgit2 reads
/// `.gitattributes` files from the commit.
fn attr_repo_for_tree(repo_path: &Path, tree: &Tree<'_>) -> anyhow::Result<Repository> {
    let attr_repo = repo::open(repo_path)?;
    let mut index = git2::Index::new()?;
    index.read_tree(tree)?;
    attr_repo.set_index(&mut index)?;
    Ok(attr_repo)
}

/// Returns whether `rel` has the `export-ignore` attribute set (a value such as
/// `export-ignore=x` does not count, as in git), reading attributes from the index only.
pub fn is_export_ignored(repo: &Repository, rel: &Path) -> anyhow::Result<bool> {
    let flags = AttrCheckFlags::INDEX_ONLY | AttrCheckFlags::NO_SYSTEM;
    let value = repo
        .get_attr_bytes(rel, "export-ignore", flags)
        .with_context(|| format!("looking up the Git attributes of '{}'", rel.display()))?;
    Ok(matches!(AttrValue::from_bytes(value), AttrValue::True))
}

/// The state of a tree walk.
struct Walk<'a> {
    repo: &'a Repository,
    attrs: Option<&'a Repository>,
    dest: &'a Path,
    jobs: Vec<Job>,
    gitlinks: Vec<(String, Oid)>,
}

impl Walk<'_> {
    /// Creates the directories and symlinks under `tree` (at `rel`) and queues its files.
    fn tree(&mut self, tree: &Tree<'_>, rel: &Path) -> anyhow::Result<()> {
        for entry in tree.iter() {
            crate::util::interrupt::check()?;
            let child = rel.join(OsStr::from_bytes(entry.name_bytes()));
            if let Some(attrs) = self.attrs
                && is_export_ignored(attrs, &child)?
            {
                continue;
            }
            let out = self.dest.join(&child);
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    create_dir(&out)?;
                    let sub = self.repo.find_tree(entry.id())?;
                    self.tree(&sub, &child)?;
                }
                Some(ObjectType::Blob) if entry.filemode() == MODE_LINK => {
                    let blob = self.repo.find_blob(entry.id())?;
                    std::os::unix::fs::symlink(OsStr::from_bytes(blob.content()), &out)
                        .with_context(|| format!("creating symlink \"{}\"", out.display()))?;
                }
                Some(ObjectType::Blob) => self.jobs.push(Job {
                    path: out,
                    oid: entry.id(),
                    executable: entry.filemode() == MODE_EXECUTABLE,
                }),
                Some(ObjectType::Commit) => {
                    create_dir(&out)?;
                    let path = child.to_string_lossy().into_owned();
                    self.gitlinks.push((path, entry.id()));
                }
                _ => anyhow::bail!(
                    "unsupported Git tree entry '{}' ({:o})",
                    child.display(),
                    entry.filemode()
                ),
            }
        }
        Ok(())
    }
}

/// Creates one directory, naming it in the error.
pub fn create_dir(path: &Path) -> anyhow::Result<()> {
    fs::create_dir(path).with_context(|| format!("creating directory \"{}\"", path.display()))
}

/// Writes the queued blobs, on several threads when there are many.
fn write_blobs(repo_path: &Path, repo: &Repository, jobs: &[Job]) -> anyhow::Result<()> {
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let threads = parallel.min(jobs.len() / 64).max(1);
    if threads == 1 {
        return jobs.iter().try_for_each(|job| write_blob(repo, job));
    }
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let result = repo::open(repo_path).and_then(|repo| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else {
                            return Ok(());
                        };
                        write_blob(&repo, job)?;
                    }
                });
                if let Err(e) = result {
                    // Stop the other threads early.
                    next.store(jobs.len(), Ordering::Relaxed);
                    if let Ok(mut slot) = failure.lock() {
                        slot.get_or_insert(e);
                    }
                }
            });
        }
    });
    match failure.into_inner() {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

/// Writes one blob to its file.
fn write_blob(repo: &Repository, job: &Job) -> anyhow::Result<()> {
    crate::util::interrupt::check()?;
    let blob = repo
        .find_blob(job.oid)
        .with_context(|| format!("reading Git blob '{}'", job.oid))?;
    let mode = if job.executable { 0o755 } else { 0o644 };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&job.path)
        .with_context(|| format!("creating file \"{}\"", job.path.display()))?;
    file.write_all(blob.content())
        .with_context(|| format!("writing file \"{}\"", job.path.display()))?;
    Ok(())
}
