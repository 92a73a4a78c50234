//! Port of Nix's `tests/functional/flakes/relative-paths.sh`: relative path inputs (current Nix,
//! spec B3.7): lock nodes without hashes plus `parent`, the lock vector of the script, and
//! `flake archive --json` without a `path` for them.
//!
//! Skipped:
//! - every `nix eval` value (`x`, `y`, `#ok`, `nestedFlake1.nestedFlake2`, `#tag`): the locks
//!   the script's evaluations write are checked instead;
//! - "Test circular relative path flakes": disabled in the script itself (`if false`).

use std::fs;

use serde_json::{Value, json};

use super::{archive_json, git_repo, in_store, jq, lock_ok, metadata, read_lock, read_text, shown};
use crate::support::{GitRepo, TestEnv};

const ROOT_FLAKE: &str = "{\n  inputs.sub0.url = ./sub0;\n  outputs = { self, sub0 }: {\n    x = 2;\n    y = self.x * sub0.x;\n  };\n}\n";
const SUB0: &str = "{\n  outputs = { self }: {\n    x = 7;\n  };\n}\n";
const SUB1: &str = "{\n  inputs.root.url = \"../\";\n  outputs = { self, root }: {\n    x = 3;\n    y = self.x * root.x;\n  };\n}\n";
const SUB2: &str = "{\n  inputs.root.url = ./..;\n  inputs.sub1.url = \"../sub1\";\n  outputs = { self, root, sub1 }: {\n    x = 5;\n    y = self.x * sub1.x;\n  };\n}\n";

/// The script's `flake1` with `sub0` and `sub1` (a plain directory until [`init_git`]).
fn root_flake(env: &TestEnv) -> std::path::PathBuf {
    let root = env.path("flake1");
    for (rel, text) in [
        ("flake.nix", ROOT_FLAKE),
        ("sub0/flake.nix", SUB0),
        ("sub1/flake.nix", SUB1),
    ] {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    fs::create_dir_all(root.join("sub2")).unwrap();
    root
}

/// A relative lock node as the script's vector writes them.
fn relative(path: &str, parent: &[&str], inputs: Option<Value>) -> Value {
    let mut node = json!({
        "locked": {"path": path, "type": "path"},
        "original": {"path": path, "type": "path"},
        "parent": parent,
    });
    if let Some(inputs) = inputs {
        node["inputs"] = inputs;
    }
    node
}

/// relative-paths.sh, first part: the root (a `path:` flake) with `inputs.sub0.url = ./sub0`
/// and `sub1` (`rootFlake?dir=sub1`) with `inputs.root.url = "../"` lock (the script evaluates
/// them): the path literal is recorded as `sub0`, the string as written, with `parent`.
#[test]
fn relative_inputs_of_a_path_flake() {
    let env = TestEnv::new();
    let root = root_flake(&env);
    let dir = root.display().to_string();
    lock_ok(&env, &dir, &[]);
    assert_eq!(
        read_lock(&env, root.join("flake.lock")),
        json!({
            "nodes": {
                "root": {"inputs": {"sub0": "sub0"}},
                "sub0": relative("sub0", &[], None),
            },
            "root": "root",
            "version": 7,
        })
    );

    lock_ok(&env, &format!("{dir}?dir=sub1"), &[]);
    assert_eq!(
        read_lock(&env, root.join("sub1/flake.lock")),
        json!({
            "nodes": {
                "root": {"inputs": {"root": "root_2"}},
                "root_2": relative("../", &[], Some(json!({"sub0": "sub0"}))),
                "sub0": relative("sub0", &["root"], None),
            },
            "root": "root",
            "version": 7,
        })
    );
}

/// The root flake as a git repository with `sub2` added (the script's `initGitRepo` and
/// `git add`s), `sub1` locked as the script's `nix eval "$subflake1#y"` does.
fn git_root(env: &TestEnv) -> GitRepo {
    let root = root_flake(env);
    let repo = git_repo(&root, "master");
    repo.git(&["add", "flake.nix", "sub0/flake.nix", "sub1/flake.nix"]);
    lock_ok(env, &root.join("sub1").display().to_string(), &[]);
    repo.write("sub2/flake.nix", SUB2);
    repo.git(&["add", "flake.nix", "sub2/flake.nix"]);
    repo
}

/// relative-paths.sh: the lock of `sub2` is exactly the script's vector (also after
/// `git add sub2/flake.lock` and locking again), and "Make sure there are no content locks for
/// relative path flakes" (no test root, no store directory, no `narHash` in it).
#[test]
fn lock_vector_of_nested_relative_inputs() {
    let env = TestEnv::new();
    let repo = git_root(&env);
    let sub2 = repo.path().join("sub2");
    let sub2_s = sub2.display().to_string();
    lock_ok(&env, &sub2_s, &[]);
    let expected = r#"{"nodes":{"root":{"inputs":{"root":"root_2","sub1":"sub1"}},"root_2":{"inputs":{"sub0":"sub0"},"locked":{"path":"..","type":"path"},"original":{"path":"..","type":"path"},"parent":[]},"root_3":{"inputs":{"sub0":"sub0_2"},"locked":{"path":"../","type":"path"},"original":{"path":"../","type":"path"},"parent":["sub1"]},"sub0":{"locked":{"path":"sub0","type":"path"},"original":{"path":"sub0","type":"path"},"parent":["root"]},"sub0_2":{"locked":{"path":"sub0","type":"path"},"original":{"path":"sub0","type":"path"},"parent":["sub1","root"]},"sub1":{"inputs":{"root":"root_3"},"locked":{"path":"../sub1","type":"path"},"original":{"path":"../sub1","type":"path"},"parent":[]}},"root":"root","version":7}"#;
    let compact = |v: &Value| serde_json::to_string(v).unwrap();
    assert_eq!(compact(&read_lock(&env, sub2.join("flake.lock"))), expected);

    repo.git(&["add", "sub2/flake.lock"]);
    lock_ok(&env, &sub2_s, &[]);
    let text = read_text(&env, sub2.join("flake.lock"));
    assert_eq!(compact(&serde_json::from_str(&text).unwrap()), expected);
    assert!(!text.contains("$TEST_ENV"), "{text}");
    assert!(!text.contains("/nix/store"), "{text}");
    assert!(!text.contains("narHash"), "{text}");
}

/// relative-paths.sh "Test `nix flake archive` with relative path flakes": after committing,
/// `archive --json --to <store2>` has `.inputs.sub0.inputs == {}` and a `.path`, no `path`
/// for `sub0`, and the store path `nix flake prefetch` gives for the root exists in store2.
#[test]
fn archive_of_relative_inputs() {
    let env = TestEnv::new();
    let repo = git_root(&env);
    let dir = repo.path().display().to_string();
    lock_ok(&env, &dir, &[]);
    repo.git(&["add", "flake.lock"]);
    repo.git(&["add", "-A"]);
    repo.commit("Foo");

    let store2 = env.path("store2");
    let json = archive_json(&env, &dir, &["--to", &store2.display().to_string()]);
    assert_eq!(jq(&json, ".inputs.sub0.inputs"), &json!({}));
    assert_eq!(jq(&json, ".inputs.sub0"), &json!({"inputs": {}}));
    let path = jq(&json, ".path").as_str().unwrap().to_owned();
    assert!(path.starts_with("/nix/store/"), "{json}");
    assert_eq!(archive_json(&env, &dir, &["--dry-run"]), json);

    let out = env.run(&["flake", "prefetch", "--json", &dir]);
    assert!(out.success(), "{out}");
    let prefetched: Value = serde_json::from_str(out.stdout()).unwrap();
    let out_path = prefetched["storePath"].as_str().unwrap();
    assert_eq!(out_path, path);
    assert!(
        in_store(&store2, out_path).exists(),
        "{out_path} not in store2"
    );
}

/// relative-paths.sh, Nix issues #13018 / PR #10089: in a git repository with files only
/// added with `git add -N`, `nix flake lock` in the subdirectory `example` whose input is the
/// path literal `../.` succeeds; the input is recorded as `..`.
#[test]
fn lock_in_a_subdirectory_with_a_parent_literal() {
    let env = TestEnv::new();
    let repo = GitRepo::init(env.path("issue-13018"));
    repo.write("flake.nix", "{ outputs = _: { }; }\n");
    repo.write(
        "example/flake.nix",
        "{\n  inputs.parent.url = ../.;\n  outputs = { parent, ... }: builtins.seq parent { ok = null; };\n}\n",
    );
    repo.git(&["add", "-N", "."]);
    let out = super::run_in(
        &env,
        &repo.path().join("example"),
        &["flake", "archive", "--dry-run"],
    );
    assert!(out.success(), "{out}");
    let v = read_lock(&env, repo.path().join("example/flake.lock"));
    assert_eq!(
        v,
        json!({
            "nodes": {
                "parent": relative("..", &[], None),
                "root": {"inputs": {"parent": "parent"}},
            },
            "root": "root",
            "version": 7,
        })
    );
}

/// relative-paths.sh, Nix issue #13164: `path:./nested-flake1` whose own input is
/// `path:./nested-flake2` (the script evaluates it twice): the inner node's `parent` is
/// `["nestedFlake1"]`, and the archive has both, without paths.
#[test]
fn nested_relative_path_inputs() {
    let env = TestEnv::new();
    let repo = git_repo(env.path("issue-13164"), "master");
    repo.write(
        "flake.nix",
        "{\n  inputs.nestedFlake1.url = \"path:./nested-flake1\";\n  outputs = { self, nestedFlake1 }: {\n    inherit nestedFlake1;\n  };\n}\n",
    );
    repo.write(
        "nested-flake1/flake.nix",
        "{\n  inputs.nestedFlake2.url = \"path:./nested-flake2\";\n\n  outputs = { self, nestedFlake2 }: {\n    name = \"nestedFlake1\";\n    inherit nestedFlake2;\n  };\n}\n",
    );
    repo.write(
        "nested-flake1/nested-flake2/flake.nix",
        "{\n  outputs = { self }: {\n    name = \"nestedFlake2\";\n  };\n}\n",
    );
    repo.git(&["add", "."]);
    repo.commit("Initial commit");
    let dir = repo.path().display().to_string();
    for _ in 0..2 {
        lock_ok(&env, &dir, &[]);
    }
    let v = read_lock(&env, repo.path().join("flake.lock"));
    assert_eq!(
        v,
        json!({
            "nodes": {
                "nestedFlake1": relative("./nested-flake1", &[], Some(json!({"nestedFlake2": "nestedFlake2"}))),
                "nestedFlake2": relative("./nested-flake2", &["nestedFlake1"], None),
                "root": {"inputs": {"nestedFlake1": "nestedFlake1"}},
            },
            "root": "root",
            "version": 7,
        })
    );
    let archive = archive_json(&env, &dir, &["--dry-run"]);
    assert_eq!(
        jq(&archive, ".inputs"),
        &json!({"nestedFlake1": {"inputs": {"nestedFlake2": {"inputs": {}}}}})
    );
}

/// relative-paths.sh, Nix issue #16214: `path:./sub?dir=inner` locks with its `dir` (the script
/// evaluates `.#tag`); with `--override-input sub "path:<abs>/alt?dir=deep"` the lock uses the
/// override and its `dir`, while `original` keeps the declared relative ref.
#[test]
fn relative_input_with_a_subdirectory() {
    let env = TestEnv::new();
    let repo = git_repo(env.path("reldir"), "master");
    repo.write(
        "sub/inner/flake.nix",
        "{\n  outputs = { ... }: { tag = \"correct\"; };\n}\n",
    );
    repo.write(
        "flake.nix",
        "{\n  inputs.sub.url = \"path:./sub?dir=inner\";\n  outputs = { sub, ... }: { tag = sub.tag; };\n}\n",
    );
    repo.git(&["add", "flake.nix", "sub/inner/flake.nix"]);
    let dir = repo.path().display().to_string();
    lock_ok(&env, &dir, &[]);
    let declared = json!({"dir": "inner", "path": "./sub", "type": "path"});
    let v = read_lock(&env, repo.path().join("flake.lock"));
    assert_eq!(
        jq(&v, ".nodes.sub"),
        &json!({"locked": declared, "original": declared, "parent": []})
    );

    repo.write(
        "alt/deep/flake.nix",
        "{\n  outputs = { ... }: { tag = \"overridden\"; };\n}\n",
    );
    repo.git(&["add", "alt/deep/flake.nix"]);
    let alt = format!("path:{}/alt?dir=deep", repo.path().display());
    let v = metadata(&env, &dir, &["--override-input", "sub", &alt]);
    assert_eq!(jq(&v, ".locks.nodes.sub.original"), &declared);
    assert_eq!(jq(&v, ".locks.nodes.sub.locked.type"), &json!("path"));
    assert_eq!(
        jq(&v, ".locks.nodes.sub.locked.path"),
        &json!(shown("reldir/alt"))
    );
    assert_eq!(jq(&v, ".locks.nodes.sub.locked.dir"), &json!("deep"));
    assert!(jq(&v, ".locks.nodes.sub.locked.narHash").is_string(), "{v}");
    assert_eq!(jq(&v, ".locks.nodes.sub.parent"), &Value::Null);
}
