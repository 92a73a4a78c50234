//! Nix 2.8 as the oracle: the same git references give the same store path and NAR hash.
//!
//! Only `storePath` and `hash` are compared: 2.8 records short ref names and no `dirtyRev`
//! (spec Part 8 item 10). Under `CI`, a missing `nix` fails these tests.

use serde_json::Value;

use super::workdir::two_commits;
use crate::support::{GitRepo, TestEnv, pin_with_both, require_nix};

/// Returns an environment for `nix`, or `None` (after a note) when it is not installed.
fn nix_env() -> Option<TestEnv> {
    if !require_nix() {
        return None;
    }
    let mut env = TestEnv::new();
    // Nix 2.8 clones submodules with `git submodule update`, which refuses local paths unless
    // allowed.
    env.add_env("GIT_CONFIG_COUNT", "1");
    env.add_env("GIT_CONFIG_KEY_0", "protocol.file.allow");
    env.add_env("GIT_CONFIG_VALUE_0", "always");
    Some(env)
}

/// Returns `(storePath, hash)` of `prefetch --json` output.
fn store_path_and_hash(out: &crate::support::CommandOutput) -> (String, String) {
    assert!(out.success(), "{out}");
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    (
        v["storePath"].as_str().unwrap().to_owned(),
        v["hash"].as_str().unwrap().to_owned(),
    )
}

/// Prefetches each URL with both tools and requires the same store path and hash.
fn same_as_nix(env: &TestEnv, nix: &TestEnv, urls: &[String]) {
    for url in urls {
        let args = [
            "flake",
            "prefetch",
            "--json",
            "--no-warn-dirty",
            url.as_str(),
        ];
        let ours = store_path_and_hash(&env.run(&args));
        let theirs = store_path_and_hash(&nix.run_nix(&args));
        assert_eq!(ours, theirs, "{url}: rflake (left) and nix (right)");
    }
}

#[test]
fn clean_and_dirty_work_trees_and_commits() {
    let Some(nix) = nix_env() else { return };
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    let first = repo.rev("HEAD~1");
    let mut urls = vec![
        repo.url(""),
        repo.url("?ref=master"),
        repo.url(&format!("?rev={first}&ref=master")),
    ];
    same_as_nix(&env, &nix, &urls);
    repo.git(&["rm", "-q", "hello"]);
    repo.write("dir1/foo", "foo\n").git(&["add", "dir1/foo"]);
    repo.write("untracked", "x\n");
    repo.write("dir/run.sh", "#!/bin/sh\necho changed\n");
    urls.truncate(1);
    same_as_nix(&env, &nix, &urls);
}

#[test]
fn bare_repositories_and_submodules() {
    let Some(nix) = nix_env() else { return };
    let env = TestEnv::new();
    let sub = GitRepo::init(env.path("sub"));
    sub.write("file", "in the submodule\n");
    sub.commit_all("sub");
    let repo = two_commits(&env, "repo");
    repo.git(&[
        "submodule",
        "add",
        "-q",
        &sub.path().display().to_string(),
        "sub",
    ]);
    repo.commit_all("with a submodule");
    let bare = GitRepo::init_bare(env.path("bare.git"));
    repo.push(&bare, "master");
    let urls = vec![
        bare.url(""),
        bare.url("?ref=master&shallow=1"),
        repo.url("?submodules=1"),
        repo.url("?ref=master&submodules=1"),
    ];
    same_as_nix(&env, &nix, &urls);
}

/// `registry pin` of a git reference writes what Nix 2.8 writes, up to the documented
/// differences (spec §6.8, Part 8 items 10 and 14): current Nix (and rflake) write `__final`,
/// no `narHash`, and the full ref name; 2.8 wrote a `narHash`, no `__final`, and a short ref.
#[test]
fn pin_equals_nix_up_to_the_documented_differences() {
    let Some(env) = nix_env() else { return };
    let repo = two_commits(&env, "repo");
    let url = repo.url("");
    let url = url.strip_prefix("git+").unwrap_or(&url);
    let (out, mut ours, nix) = pin_with_both(&env, &format!(r#"{{"type":"git","url":"{url}"}}"#));
    assert_eq!(out.stderr(), "", "a clean git pin is locked");
    let to = ours["flakes"][0]["to"].as_object_mut().unwrap();
    assert_eq!(to.remove("__final"), Some(Value::Bool(true)));
    assert_eq!(to["ref"], "refs/heads/master");
    to.insert("ref".into(), Value::from("master"));
    assert!(!to.contains_key("narHash"));
    to.insert("narHash".into(), nix["flakes"][0]["to"]["narHash"].clone());
    assert_eq!(ours, nix);
}
