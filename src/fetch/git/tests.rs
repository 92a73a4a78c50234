//! Unit tests of the git fetcher: locating repositories, work-tree status, tree export (modes,
//! symlinks, gitlinks, `export-ignore` read from the commit), the fetcher-cache domains.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use git2::{Oid, Repository, Signature, Time};
use serde_json::json;

use super::*;
use crate::fetch::cache::{Cache, fields};
use crate::flakeref::attrs::Attrs;
use crate::report::Collect;
use crate::store::local::{LocalStore, Options};

/// A store, a cache and a reporter for an [`Env`].
struct Fixture {
    _root: tempfile::TempDir,
    store: LocalStore,
    cache: Cache,
    report: Collect,
    http: crate::util::http::HttpClient,
    cache_dir: PathBuf,
    cwd: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::open(Options::new(Some(root.path().join("store")))).unwrap();
        Fixture {
            store,
            cache: Cache::in_memory().unwrap(),
            report: Collect::default(),
            http: crate::util::http::HttpClient::default(),
            cache_dir: root.path().join("cache"),
            cwd: root.path().join("cwd"),
            _root: root,
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            store: &self.store,
            cache_dir: self.cache_dir.clone(),
            cache: &self.cache,
            settings: crate::fetch::Settings::default(),
            cwd: self.cwd.clone(),
            now: 1_800_000_000,
            reporter: &self.report,
            http: &self.http,
        }
    }
}

fn git_input(pairs: &[(&str, Attr)]) -> Input {
    let mut attrs: Attrs = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    attrs.insert("type".into(), Attr::Str("git".into()));
    Input::from_attrs(attrs, &crate::report::Silent).unwrap()
}

fn url(u: &str) -> (&'static str, Attr) {
    ("url", Attr::Str(u.to_owned()))
}

/// Commits the index of `repo` at time `t` on `HEAD`.
fn commit(repo: &Repository, t: i64) -> Oid {
    let sig = Signature::new("t", "t@example.invalid", &Time::new(t, 0)).unwrap();
    let mut index = repo.index().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let parents: Vec<_> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<_> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "m", &tree, &parents)
        .unwrap()
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn add(repo: &Repository, rels: &[&str]) {
    let mut index = repo.index().unwrap();
    for rel in rels {
        index.add_path(Path::new(rel)).unwrap();
    }
    index.write().unwrap();
}

#[test]
fn locates_local_and_remote_repositories() {
    let fx = Fixture::new();
    let env = fx.env();
    let work = tempfile::tempdir().unwrap();
    Repository::init(work.path()).unwrap();
    let bare = tempfile::tempdir().unwrap();
    Repository::init_bare(bare.path()).unwrap();
    let w = work.path().display();
    let b = bare.path().display();
    let cases = [
        (
            format!("file://{w}?foo=1"),
            Location::Local(work.path().into()),
        ),
        (
            format!("file://{b}?foo=1"),
            Location::Remote(format!("file://{b}")),
        ),
        (
            "https://example.org/r.git?dir=sub&x=1".to_owned(),
            Location::Remote("https://example.org/r.git?x=1".into()),
        ),
        (
            "file:///does/not/exist".to_owned(),
            Location::Local("/does/not/exist".into()),
        ),
    ];
    for (u, want) in cases {
        let input = git_input(&[url(&u)]);
        assert_eq!(locate(&env, &input).unwrap(), want, "{u}");
    }
    assert!(fx.report.lines().is_empty());
}

#[test]
fn unsupported_attributes_fail_before_the_repository_is_read() {
    let cases: [(&[(&str, Attr)], &str); 3] = [
        (
            &[("lfs", Attr::Bool(true))],
            "Git LFS is not supported by rflake yet",
        ),
        (
            &[
                ("exportIgnore", Attr::Bool(true)),
                ("submodules", Attr::Bool(true)),
            ],
            "exportIgnore and submodules are not supported together yet",
        ),
        (
            &[("publicKey", Attr::Str("AAAA".into()))],
            "commit signature verification is not supported by rflake yet",
        ),
    ];
    for (extra, want) in cases {
        let mut pairs = vec![url("file:///nowhere")];
        pairs.extend(extra.iter().cloned());
        let input = git_input(&pairs);
        let err = check_supported(&input, "x").unwrap_err().to_string();
        assert!(err.starts_with(want), "{err}");
    }
}

#[test]
fn work_tree_status() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    write(dir.path(), "a", "a");
    write(dir.path(), "b/c", "c");
    add(&repo, &["a", "b/c"]);
    commit(&repo, 10);
    let info = workdir::info(&repo, dir.path()).unwrap();
    assert!(!info.is_dirty);
    assert_eq!(info.files.len(), 2);
    write(dir.path(), "untracked", "u");
    assert!(!workdir::info(&repo, dir.path()).unwrap().is_dirty);
    std::fs::remove_file(dir.path().join("a")).unwrap();
    let info = workdir::info(&repo, dir.path()).unwrap();
    assert!(info.is_dirty);
    let files: Vec<_> = info.files.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(files, ["b/c"]);
}

#[test]
fn exports_modes_symlinks_and_gitlinks() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let blob = repo.blob(b"#!/bin/sh\n").unwrap();
    let target = repo.blob(b"run").unwrap();
    let sub = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
    let mut inner = repo.treebuilder(None).unwrap();
    inner.insert("run", blob, 0o100755).unwrap();
    inner.insert("plain", blob, 0o100644).unwrap();
    inner.insert("link", target, 0o120000).unwrap();
    let inner = inner.write().unwrap();
    let mut top = repo.treebuilder(None).unwrap();
    top.insert("bin", inner, 0o040000).unwrap();
    top.insert("module", sub, 0o160000).unwrap();
    let tree = repo.find_tree(top.write().unwrap()).unwrap();
    let sig = Signature::new("t", "t@example.invalid", &Time::new(5, 0)).unwrap();
    let rev = repo.commit(None, &sig, &sig, "m", &tree, &[]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("tree");
    let gitlinks = export::commit_tree(dir.path(), rev, &dest, false).unwrap();
    assert_eq!(gitlinks, vec![("module".to_owned(), sub)]);
    let mode = |rel: &str| {
        std::fs::symlink_metadata(dest.join(rel))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_eq!(mode("bin/run") & 0o111, 0o111);
    assert_eq!(mode("bin/plain") & 0o111, 0);
    assert_eq!(
        std::fs::read_link(dest.join("bin/link")).unwrap(),
        Path::new("run")
    );
    assert_eq!(std::fs::read_dir(dest.join("module")).unwrap().count(), 0);
}

#[test]
fn export_ignore_reads_the_commits_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    write(dir.path(), ".gitattributes", "old export-ignore\n");
    write(dir.path(), "old", "o");
    write(dir.path(), "new", "n");
    add(&repo, &[".gitattributes", "old", "new"]);
    let rev = commit(&repo, 10);
    // The work tree and index say otherwise; the commit wins.
    write(dir.path(), ".gitattributes", "new export-ignore\n");
    add(&repo, &[".gitattributes"]);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("tree");
    export::commit_tree(dir.path(), rev, &dest, true).unwrap();
    assert!(dest.join("new").exists());
    assert!(!dest.join("old").exists());
}

#[test]
fn rev_count_and_last_modified_use_the_fetcher_cache() {
    let fx = Fixture::new();
    let env = fx.env();
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    write(dir.path(), "a", "1");
    add(&repo, &["a"]);
    commit(&repo, 100);
    write(dir.path(), "a", "2");
    add(&repo, &["a"]);
    let rev = commit(&repo, 200);
    let loc = Location::Local(dir.path().into());
    assert_eq!(repo::rev_count(&env, &repo, &loc, rev).unwrap(), 2);
    assert_eq!(repo::last_modified(&env, &repo, rev).unwrap(), 200);
    let key = fields([("rev", json!(rev.to_string()))]);
    let hit = fx.cache.lookup("gitRevCount", &key).unwrap().unwrap();
    assert_eq!(hit.value["revCount"], 2);
    // Facts about a rev never change, so a cached value is believed.
    let fake = fields([("revCount", json!(42))]);
    fx.cache.upsert("gitRevCount", &key, &fake, 1).unwrap();
    assert_eq!(repo::rev_count(&env, &repo, &loc, rev).unwrap(), 42);
}

#[test]
fn relative_file_urls_warn() {
    let fx = Fixture::new();
    let env = fx.env();
    let input = git_input(&[url("file:repo")]);
    assert_eq!(
        locate(&env, &input).unwrap(),
        Location::Local(fx.cwd.join("repo"))
    );
    let lines = fx.report.lines();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with(
            "warning: Fetching Git repository 'file:repo', which uses a path relative"
        )
    );
}
