//! `git` inputs (spec §7.3, Nix's `src/libfetchers/git.cc` and `git-utils.cc`).
//!
//! Where the repository is decides the mode ([`Location`], spec §7.3.1–7.3.2):
//!
//! - a local work tree without `ref`/`rev` is fetched from the **work tree** ([`workdir`]): the
//!   tracked files with their current contents, dirty detection, `dirtyRev`;
//! - a local repository with `ref` or `rev` is read in **commit mode** directly ([`commit`]);
//! - anything else (`https`, `ssh`, `git://`, `file://` bare repositories) is fetched with the
//!   `git` command into the **clone cache** `<cache>/gitv3/<nix32(sha256(url))>[-shallow]`
//!   ([`remote`]) and read from there in commit mode.
//!
//! Repositories are read with libgit2 (through `git2`): status, refs, commits, trees, blobs.
//! Trees are exported straight into a temporary directory of the store ([`export`]), which the
//! pipeline then moves into place without copying. Remote fetches run `git` as Nix does, so
//! credentials helpers, SSH and HTTPS work as with plain git.
//!
//! # Deviations
//!
//! - `lfs = true` fails with `Git LFS is not supported by rflake yet` (Nix smudges LFS files).
//! - Commit signature verification (`verifyCommit`, `publicKey(s)`) fails with
//!   `commit signature verification is not supported by rflake yet`.
//! - `revCount` is computed when the input is fetched, not lazily when it is first needed.
//! - With `--offline`, rflake never runs `git fetch` or `git ls-remote`: it uses the clone
//!   cache as it is (however old) and fails with `cannot fetch Git repository '<url>' while
//!   offline (it is not in the cache)` when what is needed is not there. Nix only stops
//!   expiring the cache and lets `git` fail.
//! - libgit2 refuses repositories owned by another user unless `safe.directory` allows them
//!   (Nix turns libgit2's owner check off).
//! - The test-only `_NIX_FORCE_HTTP` variable is not supported.

pub mod commit;
pub mod export;
pub mod remote;
pub mod repo;
pub mod submodule;
pub mod workdir;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Env, Fetched, Place, Tree};
use crate::flakeref::Input;
use crate::flakeref::attrs::Attr;
use crate::hash::Algo;

/// Errors of the git fetcher that callers or tests may match on; wording as in Nix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A dirty work tree with `allow-dirty = false`.
    #[error("Git tree '{0}' is dirty")]
    Dirty(String),
    /// `revCount` asked of a shallow repository.
    #[error("'{0}' is a shallow Git repository, so 'revCount' is not available")]
    ShallowRevCount(String),
    /// A `rev` that the (fetched) repository does not have.
    #[error(
        "Cannot find Git revision '{rev}' in ref '{ref_name}' of repository '{url}'! Please make \
         sure that the rev exists on the ref you've specified or add allRefs = true; to fetchGit."
    )]
    MissingRev {
        /// The revision.
        rev: String,
        /// The ref it was looked for on.
        ref_name: String,
        /// The repository.
        url: String,
    },
    /// `git fetch` failed.
    #[error("Failed to fetch git repository '{0}'")]
    FetchFailed(String),
    /// `--offline` and the clone cache lacks what is needed.
    #[error("cannot fetch Git repository '{0}' while offline (it is not in the cache)")]
    Offline(String),
    /// A `rev` that is neither SHA-1 nor SHA-256.
    #[error("Hash '{0}' is not supported by Git. Supported types are sha1 and sha256.")]
    UnsupportedHash(String),
    /// `exportIgnore` together with `submodules`.
    #[error("exportIgnore and submodules are not supported together yet")]
    ExportIgnoreWithSubmodules,
    /// `lfs = true`.
    #[error("Git LFS is not supported by rflake yet (input '{0}')")]
    Lfs(String),
    /// Commit signature verification was asked for.
    #[error("commit signature verification is not supported by rflake yet (input '{0}')")]
    Verify(String),
}

/// Where a git repository is (spec §7.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local repository with a work tree: its absolute path.
    Local(PathBuf),
    /// Anything fetched through the clone cache: the URL handed to `git`.
    Remote(String),
}

impl Location {
    /// Returns how Nix names the repository in messages: the path, or the URL.
    pub fn display(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Remote(u) => u.clone(),
        }
    }
}

/// The Boolean attributes of a git input.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// `shallow`.
    pub shallow: bool,
    /// `submodules`.
    pub submodules: bool,
    /// `exportIgnore`.
    pub export_ignore: bool,
    /// `allRefs`.
    pub all_refs: bool,
    /// `lfs`.
    pub lfs: bool,
}

impl Flags {
    /// Reads the flags of `input`.
    pub fn of(input: &Input) -> Flags {
        let flag = |n: &str| matches!(input.attrs().get(n), Some(Attr::Bool(true)));
        Flags {
            shallow: flag("shallow"),
            submodules: flag("submodules"),
            export_ignore: flag("exportIgnore"),
            all_refs: flag("allRefs"),
            lfs: flag("lfs"),
        }
    }
}

/// Fetches a `git` input: exports its tree into a temporary directory of the store.
pub fn fetch(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let tmp = env.store.temp_dir()?;
    let dest = tmp.path().join("tree");
    let input = fetch_into(env, input, &dest)?;
    Ok(Fetched {
        tree: Tree {
            path: dest,
            place: Place::StoreTemp(tmp),
        },
        input,
    })
}

/// Writes the tree of a git input to `dest` (which must not exist) and returns the input with
/// the attributes learned (`ref`, `rev`, `revCount`, `lastModified`, `dirtyRev`, …).
///
/// Submodules are fetched through this function too, into their place in the parent's tree.
pub fn fetch_into(env: &Env<'_>, input: &Input, dest: &Path) -> anyhow::Result<Input> {
    let printed = input.to_display();
    check_supported(input, &printed)?;
    let location = locate(env, input)?;
    let flags = Flags::of(input);
    if input.git_ref().is_none()
        && input.get_str("rev").is_none()
        && let Location::Local(path) = &location
    {
        workdir::fetch(env, input, path, flags, dest)
    } else {
        commit::fetch(env, input, &location, flags, dest)
    }
}

/// Rejects what rflake cannot fetch (yet) and what Nix rejects before looking at the repo.
fn check_supported(input: &Input, printed: &str) -> anyhow::Result<()> {
    if let Some(rev) = input.rev()
        && !matches!(rev.algo(), Algo::Sha1 | Algo::Sha256)
    {
        return Err(Error::UnsupportedHash(rev.to_prefixed_base16()).into());
    }
    let flags = Flags::of(input);
    if flags.export_ignore && flags.submodules {
        return Err(Error::ExportIgnoreWithSubmodules.into());
    }
    if flags.lfs {
        return Err(Error::Lfs(printed.to_owned()).into());
    }
    let attrs = input.attrs();
    let verify = match attrs.get("verifyCommit") {
        Some(Attr::Bool(b)) => *b,
        _ => attrs.contains_key("publicKey") || attrs.contains_key("publicKeys"),
    };
    if verify {
        return Err(Error::Verify(printed.to_owned()).into());
    }
    Ok(())
}

/// Decides where the repository is (spec §7.3.1): a `file:` URL of a directory with `.git` (or
/// of nothing at all) is local; everything else goes through the clone cache.
pub fn locate(env: &Env<'_>, input: &Input) -> anyhow::Result<Location> {
    let raw = input.get_str("url").unwrap_or_default();
    let mut url =
        crate::flakeref::url::parse(raw).with_context(|| format!("parsing the Git URL '{raw}'"))?;
    if url.scheme == "file" {
        let path = PathBuf::from(url.path_string());
        let bare = path.exists() && !path.join(".git").exists();
        if !bare {
            if path.is_relative() {
                env.reporter.warn(&format!(
                    "Fetching Git repository '{url}', which uses a path relative to the current \
                     directory. This is not supported and will stop working in a future release. \
                     See https://github.com/NixOS/nix/issues/12281 for details."
                ));
            }
            return Ok(Location::Local(env.cwd.join(path)));
        }
        // Git would take a query as part of the file name.
        url.query.clear();
    }
    // Old lock files have `dir` in the URL; it is the flake's, not git's.
    url.query.remove("dir");
    Ok(Location::Remote(url.to_string()))
}

#[cfg(test)]
mod tests;
