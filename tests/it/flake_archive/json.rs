//! `flake archive --json` (spec D3): the shape of the tree, follows edges, shared nodes, relative
//! path inputs and flakes without inputs.

use std::fs;

use super::{A_PATH, B_PATH, check_root_path, normalize, write_inputs, write_root, write_tree};
use crate::support::{GitRepo, TestEnv};

/// The root path in `--json` output.
fn root_path(stdout: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    v["path"].as_str().unwrap().to_owned()
}

#[test]
fn no_inputs_prints_empty_inputs_and_writes_no_lock_file() {
    let mut env = TestEnv::new();
    let dir = write_tree(
        &env,
        "work/solo",
        &[(
            "flake.nix",
            "{\n  description = \"solo\";\n  outputs = { self }: { };\n}\n",
        )],
    );
    env.set_cwd("work/solo");
    // The path is the tree's (Nix 2.8's `nix store add-path --name source`); 2.8 printed
    // `{"path":…,"inputs":{}}` without a newline (spec E1).
    let expected =
        "{\"inputs\":{},\"path\":\"/nix/store/mw5yp8hzv9pz4bl9lpjplfljqnn5fhm4-source\"}\n";
    for args in [
        &["flake", "archive", "--json", "--dry-run"][..],
        &["flake", "archive", "--json"][..],
    ] {
        let out = env.run(args);
        assert!(out.success(), "{out:?}");
        assert_eq!(out.stdout(), expected);
        assert_eq!(out.stderr(), "");
        // Nothing to lock, so no lock file (spec C3).
        assert!(!dir.join("flake.lock").exists());
    }
}

/// Root inputs `a`, `b` (whose own `a` follows the root's) and `c` (the same tree as `a`).
const ROOT_FOLLOWS: &str = r#"{
  inputs = {
    a.url = "path:@W@/a";
    b = { url = "path:@W@/b"; inputs.a.follows = "a"; };
    c.url = "path:@W@/a";
  };
  outputs = { self, ... }: { };
}
"#;

#[test]
fn follows_edges_are_absent_and_a_shared_source_is_listed_per_input() {
    let mut env = TestEnv::new();
    write_inputs(&env);
    let dir = write_root(&env, "root", ROOT_FOLLOWS);
    env.set_cwd("work/root");
    let out = env.run(&["flake", "archive", "--json", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    let root = root_path(out.stdout());
    check_root_path(&env.path("store"), &root, &dir);
    // `b`'s only input follows `a`: absent, so `b` has `"inputs": {}`.
    assert_eq!(
        out.stdout(),
        format!(
            r#"{{"inputs":{{"a":{{"inputs":{{}},"path":"{A_PATH}"}},"b":{{"inputs":{{}},"path":"{B_PATH}"}},"c":{{"inputs":{{}},"path":"{A_PATH}"}}}},"path":"{root}"}}"#
        ) + "\n"
    );
    // The lock keeps the edge as a follows path from the root.
    let lock: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("flake.lock")).unwrap()).unwrap();
    assert_eq!(
        lock["nodes"]["b"]["inputs"],
        serde_json::json!({"a": ["a"]})
    );
}

#[test]
fn a_shared_node_is_printed_once_per_edge() {
    let mut env = TestEnv::new();
    write_inputs(&env);
    let dir = write_root(&env, "root", ROOT_FOLLOWS);
    env.set_cwd("work/root");
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    let written = fs::read_to_string(dir.join("flake.lock")).unwrap();

    // Rewrite the lock so that `c` points at node `a`: one node, two edges (a lock file may do
    // that, spec C2 step 3).
    let mut lock: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(lock["nodes"]["a"]["locked"], lock["nodes"]["c"]["locked"]);
    lock["nodes"]["root"]["inputs"]["c"] = "a".into();
    lock["nodes"].as_object_mut().unwrap().remove("c");
    fs::write(
        dir.join("flake.lock"),
        serde_json::to_string_pretty(&lock).unwrap() + "\n",
    )
    .unwrap();

    let out = env.run(&["flake", "archive", "--json", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    let root = root_path(out.stdout());
    assert_eq!(
        out.stdout(),
        format!(
            r#"{{"inputs":{{"a":{{"inputs":{{}},"path":"{A_PATH}"}},"b":{{"inputs":{{}},"path":"{B_PATH}"}},"c":{{"inputs":{{}},"path":"{A_PATH}"}}}},"path":"{root}"}}"#
        ) + "\n"
    );
    // Locking copies each kept node per edge (Nix's `computeLocks`), so the new lock has a
    // separate `c` again: the lock as first written. Its JSON differs from the file's, so it
    // is written; the inputs did not change, so the message has no diff (spec C4 step 5, C5).
    assert_eq!(
        out.stderr(),
        format!(
            "warning: updating lock file \"{}/flake.lock\"\n",
            normalize(&env, &dir.display().to_string())
        )
    );
    assert_eq!(fs::read_to_string(dir.join("flake.lock")).unwrap(), written);
    check_root_path(&env.path("store"), &root, &dir);
}

#[test]
fn relative_path_input_has_inputs_but_no_path() {
    let mut env = TestEnv::new();
    write_inputs(&env);
    let repo = GitRepo::init(env.path("work/repo"));
    repo.write(
        "flake.nix",
        "{\n  inputs.sub.url = \"path:./sub\";\n  outputs = { self, sub }: { };\n}\n",
    );
    repo.write(
        "sub/flake.nix",
        format!(
            "{{\n  inputs.a.url = \"path:{}/a\";\n  outputs = {{ self, a }}: {{ }};\n}}\n",
            env.path("work").display()
        ),
    );
    repo.commit_all("init");
    env.set_cwd("work/repo");
    let out = env.run(&["flake", "archive", "--json", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    let root = root_path(out.stdout());
    // No store path of its own (current Nix; 2.8 fetched it separately, spec B3.7), but its
    // own inputs are listed.
    assert_eq!(
        out.stdout(),
        format!(
            r#"{{"inputs":{{"sub":{{"inputs":{{"a":{{"inputs":{{}},"path":"{A_PATH}"}}}}}}}},"path":"{root}"}}"#
        ) + "\n"
    );
    // The lock node: `locked` = `original` as written, no hashes, and `parent` (spec B3.7).
    let lock: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(env.path("work/repo/flake.lock")).unwrap())
            .unwrap();
    assert_eq!(
        lock["nodes"]["sub"],
        serde_json::json!({
            "inputs": {"a": "a"},
            "locked": {"path": "./sub", "type": "path"},
            "original": {"path": "./sub", "type": "path"},
            "parent": [],
        })
    );
}
