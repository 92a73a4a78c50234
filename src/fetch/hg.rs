//! `hg` inputs (spec §7.6, Nix's `src/libfetchers/mercurial.cc`): the `hg` program run with
//! `HGPLAIN` set.
//!
//! - A local repository (`file:` URL with `.hg`) without `ref`/`rev` whose work tree has
//!   modified, added or removed files is **unclean**: its tracked files (clean, modified,
//!   added) are copied with their work-tree contents, `ref` is the current branch, and there is
//!   no `rev` (`allow-dirty`, `warn-dirty` as for git).
//! - Otherwise the repository is cloned (`hg clone --noupdate`) or pulled into
//!   `<cache>/hg/<nix32(sha256(url))>`; `ref` defaults to `default`; `rev`, `ref` (the branch)
//!   and `revCount` (hg's local revision number) come from `hg log`; the tree is `hg archive`
//!   without `.hg_archival.txt`. There is no `lastModified`.
//! - The fetcher cache remembers the rev of a ref for `tarball-ttl` (`hgRefToRev`) and the
//!   store path and `revCount` of a rev for good (`hgRev`).
//!
//! # Deviations
//!
//! - With `--offline`, `hg pull`/`hg clone` never run: a cached ref is used whatever its age,
//!   and what is not in the clone fails with
//!   `cannot fetch Mercurial repository '<url>' while offline (it is not in the cache)`.
//! - A failing `hg` command is reported as `program 'hg <args>' failed: <hg's stderr>`
//!   (Nix: `program 'hg' failed with exit code N`, after hg printed its complaint itself).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use serde_json::json;

use super::cache::fields;
use super::{Env, Fetched, Place, Tree};
use crate::flakeref::Input;
use crate::flakeref::attrs::Attr;
use crate::hash::{Algo, Hash};
use crate::store::Store as _;

/// Where the repository is: a local path, or a URL for `hg`.
enum Location {
    Local(PathBuf),
    Remote(String),
}

impl Location {
    fn arg(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Remote(u) => u.clone(),
        }
    }
}

/// Fetches a `hg` input.
pub fn fetch(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    if let Some(rev) = input.rev()
        && rev.algo() != Algo::Sha1
    {
        anyhow::bail!(
            "Hash '{}' is not supported by Mercurial. Only sha1 is supported.",
            rev.to_prefixed_base16()
        );
    }
    let raw = input.get_str("url").unwrap_or_default();
    let url = crate::flakeref::url::parse(raw)
        .with_context(|| format!("parsing the Mercurial URL '{raw}'"))?;
    let location = if url.scheme == "file" {
        Location::Local(env.cwd.join(url.path_string()))
    } else {
        Location::Remote(url.to_string())
    };
    if let Location::Local(path) = &location
        && input.git_ref().is_none()
        && input.get_str("rev").is_none()
        && path.join(".hg").exists()
        && !hg(path, &["status", "--modified", "--added", "--removed"])?.is_empty()
    {
        return fetch_unclean(env, input, path);
    }
    fetch_clean(env, input, &location)
}

/// Copies the tracked files of an unclean work tree.
fn fetch_unclean(env: &Env<'_>, input: &Input, path: &Path) -> anyhow::Result<Fetched> {
    let shown = format!("\"{}\"", path.display());
    if !env.settings.allow_dirty {
        anyhow::bail!("Mercurial tree {shown} is unclean");
    }
    if env.settings.warn_dirty {
        env.reporter
            .warn(&format!("Mercurial tree {shown} is unclean"));
    }
    let branch = hg(path, &["branch"])?.trim_end().to_owned();
    let listing = hg(
        path,
        &[
            "status",
            "--clean",
            "--modified",
            "--added",
            "--no-status",
            "--print0",
        ],
    )?;
    let tmp = env.store.temp_dir()?;
    let dest = tmp.path().join("tree");
    super::git::export::create_dir(&dest)?;
    for rel in listing.split('\0').filter(|f| !f.is_empty()) {
        let out = dest.join(rel);
        if let Some(parent) = out.parent() {
            crate::util::fs::create_dir_all(parent)?;
        }
        super::git::workdir::copy_entry(&path.join(rel), &out)?;
    }
    let mut attrs = input.attrs().clone();
    attrs.insert("ref".into(), Attr::Str(branch));
    Ok(Fetched {
        tree: Tree {
            path: dest,
            place: Place::StoreTemp(tmp),
        },
        input: Input::from_attrs(attrs, env.reporter)?,
    })
}

/// Fetches a revision through the clone cache.
fn fetch_clean(env: &Env<'_>, input: &Input, location: &Location) -> anyhow::Result<Fetched> {
    let actual = location.arg();
    let name = input.store_name().to_owned();
    let orig_rev = input.rev().map(|h| h.to_base16());
    let r#ref = input.git_ref().unwrap_or("default").to_owned();
    let mut attrs = input.attrs().clone();
    attrs.insert("ref".into(), Attr::Str(r#ref.clone()));
    let ref_key = fields([("ref", json!(r#ref)), ("url", json!(actual))]);
    let ttl = (!env.settings.offline).then_some(env.settings.tarball_ttl);
    let mut rev = orig_rev.clone();
    if rev.is_none()
        && let Some(hit) = env
            .cache
            .lookup_fresh("hgRefToRev", &ref_key, ttl, env.now)?
    {
        rev = hit
            .value
            .get("rev")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
    }
    if let Some(rev) = &rev
        && let Some(found) = cached_rev(env, &name, rev)?
    {
        return finish(env, attrs, rev, found);
    }
    let cache_dir = env
        .cache_dir
        .join("hg")
        .join(Hash::digest(Algo::Sha256, actual.as_bytes()).to_nix32());
    let have_rev = match &rev {
        Some(rev) if cache_dir.exists() => {
            hg(&cache_dir, &["log", "-r", rev, "--template", "1"]).is_ok_and(|o| o == "1")
        }
        _ => false,
    };
    if !have_rev {
        update_clone(env, &cache_dir, &actual)?;
    }
    let spec = rev.clone().unwrap_or_else(|| r#ref.clone());
    let log = hg(
        &cache_dir,
        &["log", "-r", &spec, "--template", "{node} {rev} {branch}"],
    )?;
    let tokens: Vec<&str> = log.split_whitespace().collect();
    let [node, number, branch] = tokens[..] else {
        anyhow::bail!("unexpected output of 'hg log' for '{spec}': '{log}'");
    };
    let rev = Hash::parse_bare(node, Algo::Sha1)
        .with_context(|| format!("parsing the Mercurial revision '{node}'"))?
        .to_base16();
    let rev_count: u64 = number
        .parse()
        .with_context(|| format!("parsing the Mercurial revision number '{number}'"))?;
    attrs.insert("ref".into(), Attr::Str(branch.to_owned()));
    if let Some(found) = cached_rev(env, &name, &rev)? {
        return finish(env, attrs, &rev, found);
    }
    let tmp = env.store.temp_dir()?;
    let dest = tmp.path().join("tree");
    hg(
        &cache_dir,
        &["archive", "-r", &rev, &dest.display().to_string()],
    )?;
    let archival = dest.join(".hg_archival.txt");
    std::fs::remove_file(&archival)
        .with_context(|| format!("deleting \"{}\"", archival.display()))?;
    let (path, info) = env.store.adopt_tree(&name, &dest, None)?;
    drop(tmp);
    if orig_rev.is_none() {
        env.cache.upsert(
            "hgRefToRev",
            &ref_key,
            &fields([("rev", json!(rev))]),
            env.now,
        )?;
    }
    let printed = env.store.store_dir().print(&path);
    env.cache.upsert(
        "hgRev",
        &rev_key(env, &name, &rev),
        &fields([
            ("revCount", json!(rev_count)),
            ("storePath", json!(printed)),
        ]),
        env.now,
    )?;
    finish(env, attrs, &rev, (path, info, rev_count))
}

/// A revision already in the store: its path, its info and its `revCount`.
type Found = (crate::store::StorePath, crate::store::PathInfo, u64);

/// Returns the attributes and the stored tree of a fetched revision.
fn finish(
    env: &Env<'_>,
    mut attrs: crate::flakeref::attrs::Attrs,
    rev: &str,
    found: Found,
) -> anyhow::Result<Fetched> {
    let (path, info, rev_count) = found;
    if !attrs.contains_key("rev") {
        attrs.insert("rev".into(), Attr::Str(rev.to_owned()));
    }
    attrs.insert("revCount".into(), Attr::Int(rev_count));
    Ok(Fetched {
        tree: Tree {
            path: env.store.real_path(&path),
            place: Place::Stored(path, info),
        },
        input: Input::from_attrs(attrs, env.reporter)?,
    })
}

/// The `hgRev` key of a revision.
fn rev_key(env: &Env<'_>, name: &str, rev: &str) -> super::cache::Fields {
    fields([
        ("name", json!(name)),
        ("rev", json!(rev)),
        ("store", json!(env.store.store_dir().as_str())),
    ])
}

/// Returns the store path and `revCount` of `rev` if the fetcher cache knows them and the path
/// is still valid.
fn cached_rev(env: &Env<'_>, name: &str, rev: &str) -> anyhow::Result<Option<Found>> {
    let Some(hit) = env.cache.lookup("hgRev", &rev_key(env, name, rev))? else {
        return Ok(None);
    };
    let (Some(printed), Some(rev_count)) = (
        hit.value.get("storePath").and_then(|v| v.as_str()),
        hit.value.get("revCount").and_then(|v| v.as_u64()),
    ) else {
        return Ok(None);
    };
    let Ok(path) = env.store.store_dir().parse(printed) else {
        return Ok(None);
    };
    Ok(env
        .store
        .path_info(&path)?
        .map(|info| (path, info, rev_count)))
}

/// Clones `url` into `cache_dir`, or pulls into an existing clone (recovering an abandoned
/// transaction once).
fn update_clone(env: &Env<'_>, cache_dir: &Path, url: &str) -> anyhow::Result<()> {
    if env.settings.offline {
        anyhow::bail!(
            "cannot fetch Mercurial repository '{url}' while offline (it is not in the cache)"
        );
    }
    let label = format!("fetching Mercurial repository '{url}'");
    let _act = crate::report::Activity::start(
        env.reporter,
        crate::report::Verbosity::Talkative,
        crate::report::ActivityType::Unknown,
        &label,
        &[],
    );
    env.reporter.progress(&label, 0, None);
    let result = if cache_dir.exists() {
        hg(cache_dir, &["pull", "--", url]).map(drop).or_else(|e| {
            if cache_dir.join(".hg/store/journal").exists() {
                hg(cache_dir, &["recover"])?;
                hg(cache_dir, &["pull", "--", url]).map(drop)
            } else {
                Err(e.context("'hg pull' failed"))
            }
        })
    } else {
        let parent = cache_dir.parent().unwrap_or(cache_dir);
        crate::util::fs::create_dir_all(parent)?;
        run_hg(&[
            "clone".as_ref(),
            "--noupdate".as_ref(),
            "--".as_ref(),
            url.as_ref(),
            cache_dir.as_os_str(),
        ])
        .map(drop)
    };
    env.reporter.progress_done(&label);
    result
}

/// Runs `hg -R <repo> <args>` and returns its stdout; fails with its stderr.
fn hg(repo: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut full: Vec<&OsStr> = vec![args[0].as_ref(), "-R".as_ref(), repo.as_os_str()];
    full.extend(args[1..].iter().map(|a| OsStr::new(*a)));
    run_hg(&full)
}

/// Runs `hg` with `HGPLAIN` set (no user configuration leaks into the output).
fn run_hg(args: &[&OsStr]) -> anyhow::Result<String> {
    let mut cmd = Command::new("hg");
    cmd.args(args).env("HGPLAIN", "").stdin(Stdio::null());
    let out = crate::util::process::output(&mut cmd).context("running 'hg'")?;
    if !out.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        anyhow::bail!(
            "program 'hg {}' failed: {}",
            shown.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
