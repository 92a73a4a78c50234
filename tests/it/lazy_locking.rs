//! Lazy locking (Nix's `computeLocks`, "no need to fetch this flake, we can be lazy"): an input
//! whose lock entry still matches its declaration keeps that entry and the whole subtree below
//! it without being fetched or having its `flake.nix` read. It is fetched again only when an
//! `--update-input` names an input below it, or a `follows` recorded for one of its inputs lost
//! the override that made it; `--update-input` or `--override-input` of the input itself, or a
//! changed reference, lock it anew.
//!
//! The fixture: a `path:` flake `top` with flake inputs `a` (which has a flake input `b`) and
//! `c`, and a non-flake input `data`, all `path:` directories under `work/`. It is locked into
//! one store, and later commands use another, empty one (`fresh-store`), so that no copy of an
//! input is at hand. Tests remove input sources after locking: whatever is fetched or read then
//! fails, so a test that passes with a source removed shows that input was left alone.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::fs;

use serde_json::Value;

use crate::flake_functional::{archive_json, jq, lock, lock_ok, metadata, read_lock};
use crate::support::TestEnv;

const LEAF: &str = "{\n  outputs = { self }: { };\n}\n";

/// Writes the fixture and locks `top`; returns the environment, set to use an empty store
/// from then on.
fn locked_fixture(top_inputs: &str) -> TestEnv {
    let mut env = TestEnv::new();
    let w = env.path("work").display().to_string();
    env.write(
        "work/a/flake.nix",
        format!("{{\n  inputs.b.url = \"path:{w}/b\";\n  outputs = {{ self, b }}: {{ }};\n}}\n"),
    );
    for leaf in ["b", "b2", "c", "c2"] {
        env.write(format!("work/{leaf}/flake.nix"), LEAF);
    }
    env.write("work/data/README", "data\n");
    write_top(&env, top_inputs);
    lock_ok(&env, &top(&env), &[]);
    let fresh = env.path("fresh-store").display().to_string();
    env.add_nix_config(&format!("store = {fresh}"));
    env
}

/// The inputs of `top` most tests use.
const INPUTS: &str = r#"
    a.url = "path:@W@/a";
    c.url = "path:@W@/c";
    data = { url = "path:@W@/data"; flake = false; };
"#;

/// (Re)writes `work/top/flake.nix` with `inputs` (`@W@` standing for `work/`'s path).
fn write_top(env: &TestEnv, inputs: &str) {
    let w = env.path("work").display().to_string();
    env.write(
        "work/top/flake.nix",
        format!(
            "{{\n  inputs = {{{}}};\n  outputs = {{ self, ... }}: {{ }};\n}}\n",
            inputs.replace("@W@", &w)
        ),
    );
}

fn top(env: &TestEnv) -> String {
    env.path("work/top").display().to_string()
}

fn lock_text(env: &TestEnv) -> String {
    env.read("work/top/flake.lock")
}

fn lock_json(env: &TestEnv) -> Value {
    read_lock(env, env.path("work/top/flake.lock"))
}

/// Removes an input's source tree (`work/<name>`).
fn remove(env: &TestEnv, name: &str) {
    fs::remove_dir_all(env.path("work").join(name)).unwrap();
}

/// Changes an input's tree, so that fetching it again gives another `narHash`.
fn touch(env: &TestEnv, name: &str) {
    env.write(format!("work/{name}/new-file"), "new\n");
}

/// The `narHash` of node `node` in a lock file.
fn nar_hash(lock: &Value, node: &str) -> String {
    jq(lock, &format!(".nodes.{node}.locked.narHash"))
        .as_str()
        .unwrap_or_else(|| panic!("node {node} has no narHash in {lock:#}"))
        .to_owned()
}

fn locked_path(lock: &Value, node: &str) -> String {
    jq(lock, &format!(".nodes.{node}.locked.path"))
        .as_str()
        .unwrap_or_else(|| panic!("node {node} has no path in {lock:#}"))
        .to_owned()
}

/// With every input source gone and a store that never held them, an unchanged lock still
/// gives the same lock file, `flake archive --json --dry-run` output (store paths from the
/// lock) and `flake metadata` locks: nothing below the root, nested `a/b` included, is
/// fetched or read.
#[test]
fn an_unchanged_lock_reads_no_input() {
    let env = locked_fixture(INPUTS);
    let before = lock_text(&env);
    let archived = archive_json(&env, &top(&env), &["--dry-run"]);
    let (meta_locks, meta_path) = {
        let m = metadata(&env, &top(&env), &[]);
        (m["locks"].clone(), m["path"].clone())
    };
    for name in ["a", "b", "c", "data"] {
        remove(&env, name);
    }
    let again = archive_json(&env, &top(&env), &["--dry-run"]);
    assert_eq!(again, archived);
    assert_eq!(lock_text(&env), before);
    let m = metadata(&env, &top(&env), &[]);
    assert_eq!(m["locks"], meta_locks);
    assert_eq!(m["path"], meta_path);
    // Only the root went into the fresh store.
    let entries: Vec<_> = fs::read_dir(env.path("fresh-store/nix/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

/// The check above can fail: the same removal makes a fetch of `a` fail, as `--update-input
/// a` shows.
#[test]
fn a_removed_input_fails_once_it_is_fetched() {
    let env = locked_fixture(INPUTS);
    remove(&env, "a");
    let out = lock(&env, &top(&env), &["--update-input", "a"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stderr().contains("/work/a"), "{out}");
}

/// `--update-input c` fetches `c` again (a new `narHash`) and leaves `a` (gone) alone.
#[test]
fn update_input_refetches_that_input_only() {
    let env = locked_fixture(INPUTS);
    let old = lock_json(&env);
    touch(&env, "c");
    remove(&env, "a");
    let out = lock_ok(&env, &top(&env), &["--update-input", "c"]);
    assert!(out.stderr().contains("Updated input 'c'"), "{out}");
    let new = lock_json(&env);
    assert_ne!(nar_hash(&new, "c"), nar_hash(&old, "c"));
    assert_eq!(new["nodes"]["a"], old["nodes"]["a"]);
    assert_eq!(new["nodes"]["b"], old["nodes"]["b"]);
}

/// `--update-input a/b` keeps `a`'s lock but must read `a`'s `flake.nix` to lock `b` anew: with
/// `a` gone it fails; with `a` there, `b` gets its new `narHash` and `a` is unchanged.
#[test]
fn update_input_below_an_input_refetches_it() {
    let env = locked_fixture(INPUTS);
    let old = lock_json(&env);
    touch(&env, "b");
    fs::rename(env.path("work/a"), env.path("work/a-away")).unwrap();
    let out = lock(&env, &top(&env), &["--update-input", "a/b"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    fs::rename(env.path("work/a-away"), env.path("work/a")).unwrap();
    remove(&env, "c");
    let out = lock_ok(&env, &top(&env), &["--update-input", "a/b"]);
    assert!(out.stderr().contains("Updated input 'a/b'"), "{out}");
    let new = lock_json(&env);
    assert_ne!(nar_hash(&new, "b"), nar_hash(&old, "b"));
    assert_eq!(new["nodes"]["a"], old["nodes"]["a"]);
    assert_eq!(new["nodes"]["c"], old["nodes"]["c"]);
}

/// `--override-input c …` locks the override (`flake metadata` does not write it), whatever
/// the old lock says; `a` (gone) stays as it was.
#[test]
fn override_input_refetches() {
    let env = locked_fixture(INPUTS);
    let old = lock_json(&env);
    remove(&env, "a");
    let c2 = format!("path:{}", env.path("work/c2").display());
    let m = metadata(&env, &top(&env), &["--override-input", "c", &c2]);
    let locks = &m["locks"];
    assert!(locked_path(locks, "c").ends_with("/work/c2"), "{locks:#}");
    assert!(locked_path(&old, "c").ends_with("/work/c"));
    assert_eq!(locks["nodes"]["a"]["locked"], old["nodes"]["a"]["locked"]);
    assert_eq!(lock_json(&env), old);
}

/// A changed url in `flake.nix` drops that input's entry and locks the new reference; the other
/// inputs are kept without fetching.
#[test]
fn a_changed_url_invalidates_that_entry() {
    let env = locked_fixture(INPUTS);
    let old = lock_json(&env);
    remove(&env, "a");
    remove(&env, "data");
    write_top(&env, &INPUTS.replace("@W@/c\"", "@W@/c2\""));
    let out = lock_ok(&env, &top(&env), &[]);
    assert!(out.stderr().contains("Updated input 'c'"), "{out}");
    let new = lock_json(&env);
    assert!(locked_path(&new, "c").ends_with("/work/c2"), "{new:#}");
    for kept in ["a", "b", "data"] {
        assert_eq!(new["nodes"][kept], old["nodes"][kept], "{kept}");
    }
}

/// A new override in `flake.nix` of an input below a kept input (`a.inputs.b.url`) locks `b`
/// anew without fetching `a`, from the lock alone.
#[test]
fn a_new_override_below_a_kept_input_does_not_refetch_it() {
    let env = locked_fixture(INPUTS);
    let old = lock_json(&env);
    remove(&env, "a");
    let inputs = format!("{INPUTS}    a.inputs.b.url = \"path:@W@/b2\";\n");
    write_top(&env, &inputs);
    let out = lock_ok(&env, &top(&env), &[]);
    assert!(out.stderr().contains("Updated input 'a/b'"), "{out}");
    let new = lock_json(&env);
    assert_eq!(new["nodes"]["a"]["locked"], old["nodes"]["a"]["locked"]);
    let b = jq(&new, ".nodes.a.inputs.b").as_str().unwrap().to_owned();
    assert!(locked_path(&new, &b).ends_with("/work/b2"), "{new:#}");
}

/// A `follows` recorded in the lock (`a/b` following `c`) whose override left `flake.nix` makes
/// `a` be fetched again, so that its own declaration of `b` is locked; while the override is
/// there, `a` is kept without fetching.
#[test]
fn a_follows_that_lost_its_override_refetches_the_input() {
    let inputs = format!("{INPUTS}    a.inputs.b.follows = \"c\";\n");
    let env = locked_fixture(&inputs);
    let old = lock_json(&env);
    assert_eq!(jq(&old, ".nodes.a.inputs.b"), &serde_json::json!(["c"]));
    // Still declared: kept, `a` not read.
    fs::rename(env.path("work/a"), env.path("work/a-away")).unwrap();
    lock_ok(&env, &top(&env), &[]);
    assert_eq!(lock_json(&env), old);
    // Dropped: `a` must be read again, and fails while it is gone.
    write_top(&env, INPUTS);
    let out = lock(&env, &top(&env), &[]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    fs::rename(env.path("work/a-away"), env.path("work/a")).unwrap();
    lock_ok(&env, &top(&env), &[]);
    let new = lock_json(&env);
    let b = jq(&new, ".nodes.a.inputs.b").as_str().unwrap().to_owned();
    assert!(locked_path(&new, &b).ends_with("/work/b"), "{new:#}");
    assert_eq!(new["nodes"]["a"]["locked"], old["nodes"]["a"]["locked"]);
}

/// Without `--dry-run`, `flake archive` of an unchanged lock still fetches every input (from
/// the lock, not through locking) into the empty store, at the paths the dry run prints.
#[test]
fn archiving_an_unchanged_lock_still_fetches_every_input() {
    let env = locked_fixture(INPUTS);
    let before = lock_text(&env);
    let dry = archive_json(&env, &top(&env), &["--dry-run"]);
    let wet = archive_json(&env, &top(&env), &[]);
    assert_eq!(wet, dry);
    assert_eq!(lock_text(&env), before);
    let mut paths = vec![dry["path"].as_str().unwrap().to_owned()];
    let a = &dry["inputs"]["a"];
    for input in [
        a,
        &a["inputs"]["b"],
        &dry["inputs"]["c"],
        &dry["inputs"]["data"],
    ] {
        paths.push(input["path"].as_str().unwrap().to_owned());
    }
    for p in paths {
        let on_disk = env.path("fresh-store").join(p.trim_start_matches('/'));
        assert!(on_disk.is_dir(), "{p} is not in the store");
    }
}
