//! Reading repositories with libgit2: opening, refs, revisions, `lastModified` and `revCount`
//! (with their fetcher-cache entries), object ids ↔ [`Hash`](struct@Hash)es (Nix's `GitRepoImpl`).
//!
//! # Deviations
//!
//! None known.

use std::path::Path;

use anyhow::Context as _;
use git2::{Oid, Repository};
use serde_json::json;

use super::super::Env;
use super::super::cache::fields;
use super::{Error, Location};
use crate::hash::{Algo, Hash};

/// Opens the repository at `path` (its work tree, or a bare repository's directory); no
/// upward search.
pub fn open(path: &Path) -> anyhow::Result<Repository> {
    Repository::open_ext(
        path,
        git2::RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&std::ffi::OsStr>(),
    )
    .with_context(|| format!("opening Git repository \"{}\"", path.display()))
}

/// Converts a revision to a git object id.
pub fn oid_of(rev: &Hash) -> anyhow::Result<Oid> {
    Oid::from_bytes(rev.bytes())
        .with_context(|| format!("unsupported Git revision '{}'", rev.to_base16()))
}

/// Converts a git object id to a revision (SHA-1).
pub fn hash_of(oid: Oid) -> Hash {
    Hash::from_bytes(Algo::Sha1, oid.as_bytes()).unwrap_or_else(|| Hash::zero(Algo::Sha1))
}

/// Returns the symbolic target of `HEAD` (`refs/heads/main`), `None` when it is detached
/// (Nix's `getWorkdirRef`).
pub fn head_ref(repo: &Repository) -> anyhow::Result<Option<String>> {
    let head = repo.find_reference("HEAD").context("looking up HEAD")?;
    Ok(head
        .symbolic_target()
        .context("reading HEAD")?
        .map(str::to_owned))
}

/// Returns the commit `HEAD` points at, `None` without commits.
pub fn head_rev(repo: &Repository) -> anyhow::Result<Option<Oid>> {
    match repo.refname_to_id("HEAD") {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context("resolving HEAD")),
    }
}

/// Resolves a ref (short or full name, annotated tags included) to its commit
/// (`<ref>^{commit}`).
pub fn resolve_ref(repo: &Repository, r#ref: &str) -> anyhow::Result<Oid> {
    let object = repo
        .revparse_single(&format!("{ref}^{{commit}}"))
        .with_context(|| format!("resolving Git reference '{ref}'"))?;
    Ok(object.id())
}

/// Returns whether the repository has the object `oid`.
pub fn has_object(repo: &Repository, oid: Oid) -> bool {
    repo.find_object(oid, None).is_ok()
}

/// Returns the committer time of `rev` (`lastModified`), through the fetcher cache
/// (`gitLastModified`).
pub fn last_modified(env: &Env<'_>, repo: &Repository, rev: Oid) -> anyhow::Result<u64> {
    let key = fields([("rev", json!(rev.to_string()))]);
    if let Some(hit) = env.cache.lookup("gitLastModified", &key)?
        && let Some(n) = hit.value.get("lastModified").and_then(|v| v.as_u64())
    {
        return Ok(n);
    }
    let commit = repo
        .find_commit(rev)
        .with_context(|| format!("looking up Git commit '{rev}'"))?;
    let time = u64::try_from(commit.time().seconds()).unwrap_or(0);
    env.cache.upsert(
        "gitLastModified",
        &key,
        &fields([("lastModified", json!(time))]),
        env.now,
    )?;
    Ok(time)
}

/// Returns the number of commits reachable from `rev`, `rev` included (`revCount`), through
/// the fetcher cache (`gitRevCount`). Fails on shallow repositories.
pub fn rev_count(
    env: &Env<'_>,
    repo: &Repository,
    location: &Location,
    rev: Oid,
) -> anyhow::Result<u64> {
    if repo.is_shallow() {
        return Err(Error::ShallowRevCount(location.display()).into());
    }
    let key = fields([("rev", json!(rev.to_string()))]);
    if let Some(hit) = env.cache.lookup("gitRevCount", &key)?
        && let Some(n) = hit.value.get("revCount").and_then(|v| v.as_u64())
    {
        return Ok(n);
    }
    let _act = crate::report::Activity::start(
        env.reporter,
        crate::report::Verbosity::Chatty,
        crate::report::ActivityType::Unknown,
        &format!("getting Git revision count of '{}'", location.display()),
        &[],
    );
    let mut walk = repo.revwalk()?;
    walk.push(rev)
        .with_context(|| format!("walking the history of Git commit '{rev}'"))?;
    let mut count = 0u64;
    for oid in walk {
        oid.with_context(|| {
            format!(
                "walking the history of Git commit '{rev}' (the repository's history may be \
                 incomplete; add '?shallow=1' to the flake URL)"
            )
        })?;
        count += 1;
    }
    env.cache.upsert(
        "gitRevCount",
        &key,
        &fields([("revCount", json!(count))]),
        env.now,
    )?;
    Ok(count)
}
