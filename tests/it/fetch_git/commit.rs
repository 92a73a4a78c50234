//! Commit mode on local repositories (spec §7.3.4, §7.3.6): `ref`, `rev`, tags, `shallow`,
//! submodules, `exportIgnore`, and what rflake refuses.

use insta::assert_snapshot;

use super::workdir::two_commits;
use super::{locked, prefetch, prefetch_json, tree};
use crate::support::{GitRepo, TestEnv};

#[test]
fn refs_and_revs() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    let first = repo.rev("HEAD~1");
    repo.git(&["tag", "v1", "HEAD~1"]);
    repo.git(&["tag", "-a", "-m", "v2", "v2", "HEAD~1"]);
    // Uncommitted changes do not matter in commit mode.
    repo.write("hello", "dirty\n");
    let cases = [
        ("?ref=master", "master"),
        ("?ref=refs/heads/master", "refs/heads/master"),
        ("?ref=v1", "v1"),
        ("?ref=refs/tags/v2", "refs/tags/v2"),
        (&*format!("?rev={first}"), "refs/heads/master"),
    ];
    let mut seen = Vec::new();
    for (query, want_ref) in cases {
        let v = prefetch_json(&env, &repo.url(query), &[]);
        assert_eq!(v["locked"]["ref"], want_ref, "{query}");
        seen.push(format!(
            "{query}: {} {} {}",
            v["locked"]["rev"], v["locked"]["revCount"], v["storePath"]
        ));
    }
    assert_snapshot!(seen.join("\n"), @r#"
    ?ref=master: "f8082d2f6ec9c355680395c969e109f00dce3c29" 2 "/nix/store/llqpi2mggpyz7y29iwbymsdm6npcfmsx-source"
    ?ref=refs/heads/master: "f8082d2f6ec9c355680395c969e109f00dce3c29" 2 "/nix/store/llqpi2mggpyz7y29iwbymsdm6npcfmsx-source"
    ?ref=v1: "176efd92fbdb5e123ce815052e1a47dd4d0e1bcc" 1 "/nix/store/aqf0dskh3ma3kkv663x3h8jxiin63lig-source"
    ?ref=refs/tags/v2: "176efd92fbdb5e123ce815052e1a47dd4d0e1bcc" 1 "/nix/store/aqf0dskh3ma3kkv663x3h8jxiin63lig-source"
    ?rev=176efd92fbdb5e123ce815052e1a47dd4d0e1bcc: "176efd92fbdb5e123ce815052e1a47dd4d0e1bcc" 1 "/nix/store/aqf0dskh3ma3kkv663x3h8jxiin63lig-source"
    "#);
}

#[test]
fn missing_ref_and_rev() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    assert_snapshot!(prefetch(&env, &repo.url("?ref=nope"), &[]), @"
    ------- stderr -------
    error: while fetching the input 'git+file://$TEST_ENV/repo?ref=nope'
    caused by: resolving Git reference 'nope'
    caused by: revspec 'nope' not found; class=Reference (4); code=NotFound (-3)
    [exit status: 1]
    ");
    let zero = "1111111111111111111111111111111111111111";
    assert_snapshot!(prefetch(&env, &repo.url(&format!("?rev={zero}")), &[]), @"
    ------- stderr -------
    error: while fetching the input 'git+file://$TEST_ENV/repo?rev=1111111111111111111111111111111111111111'
    caused by: looking up Git commit '1111111111111111111111111111111111111111'
    caused by: object not found - no match for id (1111111111111111111111111111111111111111); class=Odb (9); code=NotFound (-3)
    [exit status: 1]
    ");
}

#[test]
fn shallow_clone() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    let shallow = env.path("shallow");
    crate::support::git_in(
        env.root(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", repo.path().display()),
            "shallow",
        ],
    );
    let url = format!("git+file://{}", shallow.display());
    assert_snapshot!(prefetch(&env, &url, &[]), @"
    ------- stderr -------
    error: while fetching the input 'git+file://$TEST_ENV/shallow'
    caused by: '$TEST_ENV/shallow' is a shallow Git repository, so 'revCount' is not available
    [exit status: 1]
    ");
    let v = prefetch_json(&env, &format!("{url}?shallow=1"), &[]);
    assert_snapshot!(locked(&v), @r#"
    {
      "lastModified": 1700000100,
      "narHash": "sha256-LqzmS1gG88Q8AlM87ItPnxDEA0P5BPOZkYGt7Jttqh8=",
      "ref": "refs/heads/master",
      "rev": "f8082d2f6ec9c355680395c969e109f00dce3c29",
      "shallow": true,
      "type": "git",
      "url": "file://$TEST_ENV/shallow"
    }
    "#);
}

#[test]
fn export_ignore() {
    let env = TestEnv::new();
    let repo = GitRepo::init(env.path("repo"));
    repo.write(
        ".gitattributes",
        "ignored export-ignore\nnot-ignored export-ignore=x\nsecret/** export-ignore\n",
    )
    .write("ignored", "x\n")
    .write("not-ignored", "x\n")
    .write("secret/key", "x\n")
    .write("kept", "x\n");
    repo.commit_all("attrs");
    let work_tree = prefetch_json(&env, &repo.url("?exportIgnore=1"), &[]);
    assert_snapshot!(tree(&env, &work_tree), @"
    f .gitattributes: ignored export-ignore
    not-ignored export-ignore=x
    secret/** export-ignore
    f kept: x
    f not-ignored: x
    d secret
    ");
    let commit = prefetch_json(&env, &repo.url("?exportIgnore=1&ref=master"), &[]);
    assert_eq!(commit["storePath"], work_tree["storePath"]);
    let v = prefetch_json(&env, &repo.url("?ref=master"), &[]);
    assert!(tree(&env, &v).contains("f ignored"));
}

#[test]
fn submodules() {
    let env = TestEnv::new();
    let sub = GitRepo::init(env.path("sub"));
    sub.write("file", "in the submodule\n");
    sub.commit_all("sub");
    let repo = GitRepo::init(env.path("repo"));
    repo.write("top", "top\n");
    // A relative URL, resolved against the parent's directory (it has no remote).
    repo.git(&["submodule", "add", "-q", "../sub", "modules/sub"]);
    repo.commit_all("with a submodule");
    let mut listings = Vec::new();
    for query in [
        "",
        "?submodules=1",
        "?ref=master",
        "?ref=master&submodules=1",
    ] {
        let v = prefetch_json(&env, &repo.url(query), &[]);
        listings.push(format!("{query}:\n{}", tree(&env, &v)));
    }
    assert_snapshot!(listings.join("\n"), @r#"
    :
    f .gitmodules: [submodule "modules/sub"]
    	path = modules/sub
    	url = ../sub
    f top: top

    ?submodules=1:
    f .gitmodules: [submodule "modules/sub"]
    	path = modules/sub
    	url = ../sub
    d modules
    d modules/sub
    f modules/sub/file: in the submodule
    f top: top

    ?ref=master:
    f .gitmodules: [submodule "modules/sub"]
    	path = modules/sub
    	url = ../sub
    d modules
    d modules/sub
    f top: top

    ?ref=master&submodules=1:
    f .gitmodules: [submodule "modules/sub"]
    	path = modules/sub
    	url = ../sub
    d modules
    d modules/sub
    f modules/sub/file: in the submodule
    f top: top
    "#);
    // A dirty submodule makes the parent dirty.
    std::fs::write(env.path("repo/modules/sub/file"), "changed\n").unwrap();
    let out = prefetch(&env, &repo.url("?submodules=1"), &[]);
    assert_snapshot!(out.stderr(), @"
    warning: Git tree '$TEST_ENV/repo/modules/sub' is dirty
    warning: Git tree '$TEST_ENV/repo' is dirty
    ");
}

#[test]
fn unsupported_combinations() {
    let env = TestEnv::new();
    let repo = two_commits(&env, "repo");
    assert_snapshot!(prefetch(&env, &repo.url("?lfs=1"), &[]), @"
    ------- stderr -------
    error: while fetching the input 'git+file://$TEST_ENV/repo?lfs=1'
    caused by: Git LFS is not supported by rflake yet (input 'git+file://$TEST_ENV/repo?lfs=1')
    [exit status: 1]
    ");
    assert_snapshot!(prefetch(&env, &repo.url("?exportIgnore=1&submodules=1"), &[]), @"
    ------- stderr -------
    error: while fetching the input 'git+file://$TEST_ENV/repo?exportIgnore=1&submodules=1'
    caused by: exportIgnore and submodules are not supported together yet
    [exit status: 1]
    ");
}
