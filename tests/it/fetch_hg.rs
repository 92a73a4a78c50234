//! `flake prefetch` of Mercurial inputs (spec §7.6): clean repositories through the clone
//! cache, unclean work trees, `rev`, the fetcher cache, `--offline`; Nix 2.8 as the oracle for
//! store paths. Needs `hg` (the Debian package `mercurial`; `tests/run.sh` installs it).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use insta::assert_snapshot;
use serde_json::Value;

use crate::support::{TestEnv, require_nix};

/// A Mercurial repository with a fixed user and dates.
struct HgRepo {
    path: PathBuf,
    commits: std::cell::Cell<u64>,
}

impl HgRepo {
    fn init(path: PathBuf) -> HgRepo {
        std::fs::create_dir_all(&path).unwrap();
        hg_in(&path, &["init"]);
        HgRepo {
            path,
            commits: std::cell::Cell::new(0),
        }
    }

    fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    fn commit_all(&self, msg: &str) -> String {
        let date = format!("{} 0", 1_700_000_000 + 100 * self.commits.get());
        hg_in(&self.path, &["commit", "-A", "-q", "-m", msg, "-d", &date]);
        self.commits.set(self.commits.get() + 1);
        hg_in(&self.path, &["log", "-r", ".", "--template", "{node}"])
    }

    fn url(&self, query: &str) -> String {
        format!("hg+file://{}{query}", self.path.display())
    }
}

fn hg_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("hg")
        .current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HGPLAIN", "1")
        .env("HGRCPATH", "/dev/null")
        .env("HGUSER", "rflake test <test@example.invalid>")
        .output()
        .expect("running hg (Debian package mercurial)");
    assert!(
        out.status.success(),
        "hg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn two_commits(env: &TestEnv) -> (HgRepo, String, String) {
    let repo = HgRepo::init(env.path("repo"));
    repo.write("hello", "hello\n").write("dir/a", "a\n");
    let first = repo.commit_all("first");
    repo.write("hello", "hello 2\n");
    let second = repo.commit_all("second");
    (repo, first, second)
}

fn prefetch(env: &TestEnv, url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["flake", "prefetch", "--json", url];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.success(), "{out}");
    serde_json::from_str(out.stdout()).unwrap()
}

fn locked(v: &Value) -> String {
    serde_json::to_string_pretty(&v["locked"]).unwrap()
}

#[test]
fn clean_repository_and_revisions() {
    let env = TestEnv::new();
    let (repo, first, _second) = two_commits(&env);
    let v = prefetch(&env, &repo.url(""), &[]);
    assert_snapshot!(locked(&v), @r#"
    {
      "narHash": "sha256-fgkMJkN/kg2KZQGcMXO3CYnXbEgj8mWCSPwA+z4GotA=",
      "ref": "default",
      "rev": "f8df54c5813faf8c73d627617d3c9d09ce012c58",
      "revCount": 1,
      "type": "hg",
      "url": "file://$TEST_ENV/repo"
    }
    "#);
    let cached = prefetch(&env, &repo.url(""), &["--offline"]);
    assert_eq!(cached["storePath"], v["storePath"]);
    let v = prefetch(&env, &repo.url(&format!("?rev={first}")), &[]);
    assert_eq!(v["locked"]["revCount"], 0);
    assert_eq!(v["locked"]["ref"], "default");
}

#[test]
fn unclean_work_tree_copies_tracked_files() {
    let env = TestEnv::new();
    let (repo, _, _) = two_commits(&env);
    repo.write("hello", "changed\n").write("untracked", "x\n");
    let out = env.run(&["flake", "prefetch", "--json", &repo.url("")]);
    assert_snapshot!(out.stderr(), @r#"warning: Mercurial tree "$TEST_ENV/repo" is unclean"#);
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    assert_snapshot!(locked(&v), @r#"
    {
      "narHash": "sha256-IEa8U79QCcvBX3XWvy1C7Jzg5JvZvBuDlm78zolQbUI=",
      "ref": "default",
      "type": "hg",
      "url": "file://$TEST_ENV/repo"
    }
    "#);
    let real = env
        .path("store")
        .join(v["storePath"].as_str().unwrap().trim_start_matches('/'));
    assert_eq!(
        std::fs::read_to_string(real.join("hello")).unwrap(),
        "changed\n"
    );
    assert!(!real.join("untracked").exists());
    let out = env.run(&["flake", "prefetch", "--no-allow-dirty", &repo.url("")]);
    assert_snapshot!(out, @r#"
    ------- stderr -------
    error: while fetching the input 'hg+file://$TEST_ENV/repo'
    caused by: Mercurial tree "$TEST_ENV/repo" is unclean
    [exit status: 1]
    "#);
}

#[test]
fn store_paths_equal_nix() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let nix = TestEnv::new();
    let (repo, first, _) = two_commits(&env);
    for url in [repo.url(""), repo.url(&format!("?rev={first}"))] {
        let args = ["flake", "prefetch", "--json", url.as_str()];
        let ours = env.run(&args);
        let theirs = nix.run_nix(&args);
        assert!(ours.success() && theirs.success(), "{ours}{theirs}");
        let a: Value = serde_json::from_str(ours.stdout()).unwrap();
        let b: Value = serde_json::from_str(theirs.stdout()).unwrap();
        assert_eq!(a["storePath"], b["storePath"], "{url}");
        assert_eq!(a["hash"], b["hash"], "{url}");
    }
}
