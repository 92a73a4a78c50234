//! Work-tree mode: a local repository without `ref`/`rev` (spec §7.3.3; Nix's `fetchGit.sh`).

use insta::assert_snapshot;

use super::{locked, prefetch, prefetch_json, tree};
use crate::support::{GitRepo, TestEnv};

/// A repository with two commits: `hello`, an executable `dir/run.sh` and a symlink `link`.
pub fn two_commits(env: &TestEnv, rel: &str) -> GitRepo {
    let repo = GitRepo::init(env.path(rel));
    repo.write("hello", "hello\n")
        .write("dir/run.sh", "#!/bin/sh\n")
        .make_executable("dir/run.sh")
        .symlink("link", "hello");
    repo.commit_all("first");
    repo.write("hello", "hello 2\n");
    repo.commit_all("second");
    repo
}

#[test]
fn clean_work_tree_is_locked_to_head() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    let v = prefetch_json(&env, &repo.url(""), &[]);
    assert_snapshot!(locked(&v), @r#"
    {
      "lastModified": 1700000100,
      "narHash": "sha256-LqzmS1gG88Q8AlM87ItPnxDEA0P5BPOZkYGt7Jttqh8=",
      "ref": "refs/heads/master",
      "rev": "f8082d2f6ec9c355680395c969e109f00dce3c29",
      "revCount": 2,
      "type": "git",
      "url": "file://$TEST_ENV/repo"
    }
    "#);
    assert_snapshot!(tree(&env, &v), @"
    d dir
    x dir/run.sh: #!/bin/sh
    f hello: hello 2
    l link -> hello
    ");
    assert_snapshot!(v["storePath"].as_str().unwrap(), @"/nix/store/llqpi2mggpyz7y29iwbymsdm6npcfmsx-source");
}

#[test]
fn dirty_work_tree_has_dirty_rev_and_tracked_files_only() {
    // fetchGit.sh: `hello` removed with `git rm`, `dir1/foo` staged, `bar` and `dir2/bar`
    // untracked, `dir/run.sh` modified without staging.
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    repo.git(&["rm", "-q", "hello"]);
    repo.write("dir1/foo", "foo\n").git(&["add", "dir1/foo"]);
    repo.write("bar", "bar\n").write("dir2/bar", "bar\n");
    repo.write("dir/run.sh", "#!/bin/sh\necho changed\n");
    let out = prefetch(&env, &repo.url(""), &[]);
    assert_snapshot!(out.stderr(), @"warning: Git tree '$TEST_ENV/repo' is dirty");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    assert_snapshot!(locked(&v), @r#"
    {
      "dirtyRev": "f8082d2f6ec9c355680395c969e109f00dce3c29-dirty",
      "dirtyShortRev": "f8082d2-dirty",
      "lastModified": 1700000100,
      "narHash": "sha256-2a8VAuqtWzXoN9AmEGfRXkKbddOk+537Nnqa6XoCFeM=",
      "type": "git",
      "url": "file://$TEST_ENV/repo"
    }
    "#);
    assert_snapshot!(tree(&env, &v), @"
    d dir
    x dir/run.sh: #!/bin/sh
    echo changed
    d dir1
    f dir1/foo: foo
    l link -> hello
    ");
}

#[test]
fn dirty_settings() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    repo.write("hello", "changed\n");
    assert_snapshot!(prefetch(&env, &repo.url(""), &["--no-allow-dirty"]), @"
    ------- stderr -------
    error: while fetching the input 'git+file://$TEST_ENV/repo'
    caused by: Git tree '$TEST_ENV/repo' is dirty
    [exit status: 1]
    ");
    let quiet = prefetch(&env, &repo.url(""), &["--no-warn-dirty"]);
    assert!(quiet.success());
    assert_eq!(quiet.stderr(), "");
}

#[test]
fn untracked_files_do_not_make_the_tree_dirty() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    repo.write("untracked", "x\n")
        .write(".gitignore", "ignored\n");
    repo.git(&["add", ".gitignore"]);
    repo.commit("ignore");
    repo.write("ignored", "x\n");
    let out = prefetch(&env, &repo.url(""), &[]);
    assert_eq!(out.stderr(), "");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["locked"]["revCount"], 3);
    assert_snapshot!(tree(&env, &v), @"
    f .gitignore: ignored
    d dir
    x dir/run.sh: #!/bin/sh
    f hello: hello 2
    l link -> hello
    ");
}

#[test]
fn intent_to_add_includes_a_new_file() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    repo.write("new", "new\n").git(&["add", "-N", "new"]);
    let v = prefetch_json(&env, &repo.url(""), &["--no-warn-dirty"]);
    assert!(v["locked"]["dirtyRev"].is_string());
    assert!(tree(&env, &v).contains("f new: new"));
}

#[test]
fn repository_without_commits() {
    let env = TestEnv::new();
    let repo = GitRepo::init(env.path("empty"));
    let v = prefetch_json(&env, &repo.url(""), &[]);
    assert_snapshot!(locked(&v), @r#"
    {
      "lastModified": 0,
      "narHash": "sha256-pQpattmS9VmO3ZIQUFn66az8GSmB4IvYhTTCFn6SUmo=",
      "ref": "refs/heads/master",
      "rev": "0000000000000000000000000000000000000000",
      "revCount": 0,
      "type": "git",
      "url": "file://$TEST_ENV/empty"
    }
    "#);
    // Staging a file makes it dirty; there is no commit for a `dirtyRev`.
    repo.write("a", "a\n").git(&["add", "a"]);
    let out = prefetch(&env, &repo.url(""), &[]);
    assert_snapshot!(out.stderr(), @"warning: Git tree '$TEST_ENV/empty' is dirty");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    assert_snapshot!(locked(&v), @r#"
    {
      "lastModified": 0,
      "narHash": "sha256-ZC9jnmoT/hJWt2mz/0FE9wqQ0718VSOdPlkpQKJXNLg=",
      "type": "git",
      "url": "file://$TEST_ENV/empty"
    }
    "#);
}

#[test]
fn detached_head_has_no_ref() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    repo.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    let v = prefetch_json(&env, &repo.url(""), &[]);
    assert_snapshot!(locked(&v), @r#"
    {
      "lastModified": 1700000000,
      "narHash": "sha256-LhImTDhgtf8DYAez9mrOxKGBlAzQuHb67DIiKg+6D9U=",
      "rev": "176efd92fbdb5e123ce815052e1a47dd4d0e1bcc",
      "revCount": 1,
      "type": "git",
      "url": "file://$TEST_ENV/repo"
    }
    "#);
}

#[test]
fn path_like_reference_to_a_flake_in_a_subdirectory() {
    let mut env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    repo.write("sub/flake.nix", "{ outputs = _: { }; }\n");
    repo.commit_all("flake");
    env.set_cwd("repo");
    let v = prefetch_json(&env, "./sub", &[]);
    assert_snapshot!(serde_json::to_string_pretty(&v["original"]).unwrap(), @r#"
    {
      "dir": "sub",
      "type": "git",
      "url": "file://$TEST_ENV/repo"
    }
    "#);
    assert_eq!(v["locked"]["dir"], "sub");
    assert_eq!(v["locked"]["revCount"], 3);
}
