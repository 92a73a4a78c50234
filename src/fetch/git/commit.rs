//! Commit mode (spec §7.3.4–7.3.7, Nix's `getAccessorFromCommit`): a local repository with a
//! `ref` or `rev` is read directly; a remote one through the clone cache ([`super::remote`]).
//! The result has `ref` (given, or the default branch), `rev`, `lastModified` and, unless
//! `shallow`, `revCount`. With `submodules`, every submodule that `.gitmodules` declares and
//! the tree has as a gitlink is fetched as a git input of its own and put in its place.
//!
//! # Deviations
//!
//! None known.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::{Oid, Repository};

use super::remote::{self, Request};
use super::submodule;
use super::{Flags, Location, export, repo};
use crate::fetch::Env;
use crate::flakeref::Input;
use crate::flakeref::attrs::{Attr, Attrs};

/// Fetches `input` at `location` in commit mode into `dest`.
pub fn fetch(
    env: &Env<'_>,
    input: &Input,
    location: &Location,
    flags: Flags,
    dest: &Path,
) -> anyhow::Result<Input> {
    let given_rev = input.rev().map(|h| repo::oid_of(&h)).transpose()?;
    let r#ref = match input.git_ref() {
        Some(r) => r.to_owned(),
        None => default_ref(env, location, flags.shallow)?,
    };
    let mut attrs = input.attrs().clone();
    attrs.insert("ref".into(), Attr::Str(r#ref.clone()));
    let (repo_dir, rev) = match location {
        Location::Local(path) => {
            let rev = match given_rev {
                Some(rev) => rev,
                None => repo::resolve_ref(&repo::open(path)?, &r#ref)?,
            };
            (path.clone(), rev)
        }
        Location::Remote(url) => remote::update(
            env,
            &Request {
                url,
                r#ref: &r#ref,
                ref_given: input.git_ref().is_some(),
                rev: given_rev,
                flags,
            },
        )?,
    };
    if given_rev.is_none() {
        attrs.insert("rev".into(), Attr::Str(rev.to_string()));
    }
    let repo = repo::open(&repo_dir)?;
    if !attrs.contains_key("lastModified") {
        let t = repo::last_modified(env, &repo, rev)?;
        attrs.insert("lastModified".into(), Attr::Int(t));
    }
    if !flags.shallow && !attrs.contains_key("revCount") {
        let n = repo::rev_count(env, &repo, location, rev)?;
        attrs.insert("revCount".into(), Attr::Int(n));
    }
    env.reporter.message(
        crate::report::Verbosity::Talkative,
        &format!("using revision {rev} of repo '{}'", location.display()),
    );
    let gitlinks = export::commit_tree(&repo_dir, rev, dest, flags.export_ignore)?;
    if flags.submodules {
        let parent = Parent {
            repo: &repo,
            rev,
            r#ref: &r#ref,
            flags,
            dest,
        };
        fetch_submodules(env, &parent, &gitlinks)?;
    }
    Ok(Input::from_attrs(attrs, env.reporter)?)
}

/// Returns the default ref: `HEAD`'s branch locally, the remote's `HEAD` otherwise; `master`
/// with a warning when neither can be read.
fn default_ref(env: &Env<'_>, location: &Location, shallow: bool) -> anyhow::Result<String> {
    let head = match location {
        Location::Local(path) => repo::head_ref(&repo::open(path)?)?,
        Location::Remote(url) => remote::default_ref(env, url, shallow)?,
    };
    Ok(head.unwrap_or_else(|| {
        env.reporter.warn(&format!(
            "could not read HEAD ref from repo at '{}', using 'master'",
            location.display()
        ));
        "master".to_owned()
    }))
}

/// The parent repository of submodules.
struct Parent<'a> {
    repo: &'a Repository,
    rev: Oid,
    r#ref: &'a str,
    flags: Flags,
    dest: &'a Path,
}

/// Fetches the submodules of the parent's commit into their places in its exported tree.
fn fetch_submodules(
    env: &Env<'_>,
    parent: &Parent<'_>,
    gitlinks: &[(String, Oid)],
) -> anyhow::Result<()> {
    let tree = parent.repo.find_commit(parent.rev)?.tree()?;
    let Ok(entry) = tree.get_path(Path::new(".gitmodules")) else {
        return Ok(());
    };
    let blob = parent.repo.find_blob(entry.id())?;
    for sub in submodule::parse_bytes(blob.content())? {
        let Some((_, sub_rev)) = gitlinks.iter().find(|(p, _)| *p == sub.path) else {
            continue;
        };
        let url = submodule::resolve_url(parent.repo, &sub.url)?;
        env.reporter.debug(&format!(
            "Git submodule {}: {} {} {sub_rev} -> {url}",
            sub.path, sub.url, sub.branch
        ));
        let mut attrs = Attrs::new();
        let mut set = |k: &str, v: Attr| {
            attrs.insert(k.to_owned(), v);
        };
        set("type", Attr::Str("git".into()));
        set("url", Attr::Str(url));
        match sub.branch.as_str() {
            "" => {}
            "." => set("ref", Attr::Str(parent.r#ref.to_owned())),
            b => set("ref", Attr::Str(b.to_owned())),
        }
        set("rev", Attr::Str(sub_rev.to_string()));
        set("exportIgnore", Attr::Bool(parent.flags.export_ignore));
        set("submodules", Attr::Bool(true));
        set("lfs", Attr::Bool(parent.flags.lfs));
        set("allRefs", Attr::Bool(true));
        let sub_input = Input::from_attrs(attrs, env.reporter)?;
        let target: PathBuf = parent.dest.join(&sub.path);
        if target.symlink_metadata().is_ok() {
            crate::store::local::canon::delete_path(&target)?;
        }
        super::fetch_into(env, &sub_input, &target).with_context(|| {
            format!(
                "while fetching the Git submodule '{}' ('{}')",
                sub.path,
                sub_input.to_display()
            )
        })?;
    }
    Ok(())
}
