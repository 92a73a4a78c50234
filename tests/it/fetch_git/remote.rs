//! Remote repositories through the clone cache (spec §7.3.5): `file://` bare repositories,
//! `git daemon`, smart HTTP; the default branch, `rev`, `shallow`, `allRefs`, the TTL of
//! cached refs, `--refresh` and `--offline`.

use insta::assert_snapshot;

use super::workdir::two_commits;
use super::{locked, prefetch, prefetch_json};
use crate::support::{GitDaemon, GitHttpServer, GitRepo, TestEnv};

/// A work repository with two commits on `master` and one on `other`, pushed to the bare
/// repository `served/repo.git`.
fn published(env: &TestEnv) -> (GitRepo, GitRepo) {
    let work = two_commits(env, "work");
    work.git(&["checkout", "-q", "-b", "other"]);
    work.write("other", "other\n");
    work.commit_all("on other");
    work.git(&["checkout", "-q", "master"]);
    let bare = GitRepo::init_bare(env.path("served/repo.git"));
    work.push(&bare, "refs/heads/*:refs/heads/*");
    (work, bare)
}

/// The `locked` attributes with the URL left out (it differs per transport).
fn locked_without_url(v: &serde_json::Value) -> String {
    let mut l = v["locked"].clone();
    l.as_object_mut().unwrap().remove("url");
    serde_json::to_string_pretty(&l).unwrap()
}

#[test]
fn bare_file_repository() {
    let env = TestEnv::new();
    let (work, bare) = published(&env);
    let v = prefetch_json(&env, &bare.url(""), &[]);
    assert_snapshot!(locked(&v), @r#"
    {
      "lastModified": 1700000100,
      "narHash": "sha256-LqzmS1gG88Q8AlM87ItPnxDEA0P5BPOZkYGt7Jttqh8=",
      "ref": "refs/heads/master",
      "rev": "f8082d2f6ec9c355680395c969e109f00dce3c29",
      "revCount": 2,
      "type": "git",
      "url": "file://$TEST_ENV/served/repo.git"
    }
    "#);
    let cache = std::fs::read_dir(env.path("cache/nix/gitv3"))
        .unwrap()
        .count();
    assert_eq!(cache, 2, "the clone and its lock file");
    let v = prefetch_json(&env, &bare.url("?ref=other"), &[]);
    assert_eq!(v["locked"]["rev"], work.rev("other"));
    assert_eq!(v["locked"]["ref"], "other");
    let first = work.rev("master~1");
    let v = prefetch_json(&env, &bare.url(&format!("?rev={first}")), &[]);
    assert_eq!(v["locked"]["ref"], "refs/heads/master");
    assert_eq!(v["locked"]["revCount"], 1);
    // A short tag name is looked for as a branch.
    work.git(&["tag", "v1"]);
    work.push(&bare, "refs/tags/v1");
    let out = prefetch(&env, &bare.url("?ref=v1"), &[]);
    assert!(!out.success());
    assert!(
        out.stderr().contains("Failed to fetch git repository"),
        "{out}"
    );
    let v = prefetch_json(&env, &bare.url("?ref=refs/tags/v1"), &[]);
    assert_eq!(v["locked"]["rev"], work.rev("master"));
}

#[test]
fn git_daemon_and_smart_http_give_the_same_tree() {
    let env = TestEnv::new();
    let (_work, bare) = published(&env);
    let local = prefetch_json(&env, &bare.url(""), &[]);
    let daemon = GitDaemon::start(&env.path("served"));
    let v = prefetch_json(&env, &daemon.url("repo.git"), &[]);
    assert_eq!(locked_without_url(&v), locked_without_url(&local));
    assert_eq!(v["storePath"], local["storePath"]);
    let http = GitHttpServer::start(&env.path("served"));
    let url = format!("git+{}", http.url("repo.git"));
    let v = prefetch_json(&env, &url, &[]);
    assert_eq!(locked_without_url(&v), locked_without_url(&local));
    let v = prefetch_json(&env, &format!("{url}?ref=other&shallow=1"), &[]);
    assert_snapshot!(locked_without_url(&v), @r#"
    {
      "lastModified": 1700000200,
      "narHash": "sha256-hpLYGap465lPwK573WRoPdfD02WyMn42AScLXgHW79k=",
      "ref": "other",
      "rev": "9974b12777614a4b9be90a7e459dfd9e9126b764",
      "shallow": true,
      "type": "git"
    }
    "#);
}

#[test]
fn cached_refs_expire_after_the_ttl() {
    let env = TestEnv::new();
    let (work, bare) = published(&env);
    let http = GitHttpServer::start(&env.path("served"));
    let url = format!("git+{}", http.url("repo.git"));
    let old = prefetch_json(&env, &url, &[]);
    // `ls-remote` for the default branch, then `fetch`.
    assert_eq!(http.ref_advertisements(), 2);
    work.write("hello", "hello 3\n");
    let new_rev = work.commit_all("third");
    work.push(&bare, "master");
    // Within the TTL: nothing is asked, the cached ref is used.
    let v = prefetch_json(&env, &url, &[]);
    assert_eq!(http.ref_advertisements(), 2);
    assert_eq!(v["locked"]["rev"], old["locked"]["rev"]);
    let v = prefetch_json(&env, &url, &["--offline"]);
    assert_eq!(v["locked"]["rev"], old["locked"]["rev"]);
    assert_eq!(http.ref_advertisements(), 2);
    // `--refresh` (tarball-ttl 0) asks again.
    let v = prefetch_json(&env, &url, &["--refresh"]);
    assert_eq!(http.ref_advertisements(), 4);
    assert_eq!(v["locked"]["rev"], new_rev);
    assert_eq!(v["locked"]["revCount"], 3);
    // So does an expired TTL.
    prefetch_json(&env, &url, &["--tarball-ttl", "0"]);
    assert_eq!(http.ref_advertisements(), 6);
    // A rev that is in the cache needs no fetch, whatever the TTL.
    let v = prefetch_json(
        &env,
        &format!("{url}?rev={new_rev}&ref=master"),
        &["--refresh"],
    );
    assert_eq!(http.ref_advertisements(), 6);
    assert_eq!(v["locked"]["revCount"], 3);
}

#[test]
fn offline_without_a_cache_fails_without_fetching() {
    let env = TestEnv::new();
    let (_work, _bare) = published(&env);
    let http = GitHttpServer::start(&env.path("served"));
    let url = format!("git+{}", http.url("repo.git"));
    let out = prefetch(&env, &url, &["--offline"]);
    let text = out.to_string().replace(&http.url(""), "http://$SERVER/");
    assert_snapshot!(text, @"
    ------- stderr -------
    warning: could not read HEAD ref from repo at 'http://$SERVER/repo.git', using 'master'
    error: while fetching the input 'git+http://$SERVER/repo.git'
    caused by: cannot fetch Git repository 'http://$SERVER/repo.git' while offline (it is not in the cache)
    [exit status: 1]
    ");
    assert!(http.requests().is_empty());
}

#[test]
fn all_refs_fetches_every_branch() {
    let env = TestEnv::new();
    let (work, bare) = published(&env);
    prefetch_json(&env, &bare.url("?allRefs=1"), &[]);
    // `other` came with the first fetch: offline works.
    let v = prefetch_json(&env, &bare.url("?allRefs=1&ref=other"), &["--offline"]);
    assert_eq!(v["locked"]["rev"], work.rev("other"));
    let v = prefetch_json(&env, &bare.url("?ref=other"), &["--offline"]);
    assert_eq!(v["locked"]["rev"], work.rev("other"));
}

#[test]
fn shallow_clones_have_their_own_cache_and_no_rev_count() {
    let env = TestEnv::new();
    let (work, bare) = published(&env);
    let v = prefetch_json(&env, &bare.url("?shallow=1"), &[]);
    assert_snapshot!(locked(&v), @r#"
    {
      "lastModified": 1700000100,
      "narHash": "sha256-LqzmS1gG88Q8AlM87ItPnxDEA0P5BPOZkYGt7Jttqh8=",
      "ref": "refs/heads/master",
      "rev": "f8082d2f6ec9c355680395c969e109f00dce3c29",
      "shallow": true,
      "type": "git",
      "url": "file://$TEST_ENV/served/repo.git"
    }
    "#);
    let names: Vec<String> = std::fs::read_dir(env.path("cache/nix/gitv3"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(names.len(), 1);
    assert!(names[0].ends_with("-shallow"), "{names:?}");
    // A rev is fetched directly at depth 1.
    let first = work.rev("master~1");
    let v = prefetch_json(&env, &bare.url(&format!("?shallow=1&rev={first}")), &[]);
    assert_eq!(v["locked"]["rev"], first);
}

#[test]
fn missing_rev_on_a_remote() {
    let env = TestEnv::new();
    let (_work, bare) = published(&env);
    let zero = "1111111111111111111111111111111111111111";
    let out = prefetch(&env, &bare.url(&format!("?rev={zero}&ref=master")), &[]);
    assert!(!out.success());
    assert!(
        out.stderr().contains("Failed to fetch git repository"),
        "{out}"
    );
}

#[test]
fn submodules_of_a_remote_resolve_against_its_url() {
    let env = TestEnv::new();
    let sub = GitRepo::init(env.path("sub"));
    sub.write("file", "in the submodule\n");
    sub.commit_all("sub");
    let sub_bare = GitRepo::init_bare(env.path("served/sub.git"));
    sub.push(&sub_bare, "master");
    let work = GitRepo::init(env.path("work"));
    work.write("top", "top\n");
    work.git(&[
        "submodule",
        "add",
        "-q",
        &sub_bare.url("").replace("git+", ""),
        "sub",
    ]);
    // Relative to the parent's URL, as published.
    work.git(&[
        "config",
        "-f",
        ".gitmodules",
        "submodule.sub.url",
        "../sub.git",
    ]);
    work.commit_all("with a submodule");
    let bare = GitRepo::init_bare(env.path("served/repo.git"));
    work.push(&bare, "master");
    let http = GitHttpServer::start(&env.path("served"));
    let url = format!("git+{}?submodules=1", http.url("repo.git"));
    let v = prefetch_json(&env, &url, &[]);
    assert!(super::tree(&env, &v).contains("f sub/file: in the submodule"));
    // The submodule's clone is cached like any other.
    let offline = prefetch_json(&env, &url, &["--offline"]);
    assert_eq!(offline["storePath"], v["storePath"]);
}
