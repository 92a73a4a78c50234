//! The cache of `flake.nix` declarations read from the store (`src/flake/decl_cache.rs`,
//! beyond Nix): a flake whose tree is already in the store is not parsed again. A hit is made
//! visible by changing the cached `description`; a changed `flake.nix` (a new store path) is
//! read afresh, a file that fails to read is never cached, and locking with the cache gives
//! the lock a fresh read gives.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use crate::support::{CommandOutput, TestEnv};

const DIR: &str = "cache/nix/rflake-flake-decl-v1";

fn flake(env: &TestEnv, description: &str) -> String {
    let root = env.path("").display().to_string();
    format!(
        r#"{{
  description = "{description}";
  inputs.dep.url = "path:{root}/dep";
  inputs.other.url = "path:{root}/other";
  inputs.other.inputs.dep.follows = "dep";
  nixConfig.extra-experimental-features = [ "flakes" ];
  outputs = {{ self, dep, other }}: {{ }};
}}
"#
    )
}

fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.write("top/flake.nix", flake(&env, "one"));
    env.write("dep/flake.nix", "{ outputs = { self }: { }; }\n");
    let dep = env.path("dep").display().to_string();
    env.write(
        "other/flake.nix",
        format!("{{ inputs.dep.url = \"path:{dep}\"; outputs = {{ self, dep }}: {{ }}; }}\n"),
    );
    env
}

fn metadata(env: &TestEnv) -> CommandOutput {
    let store = env.path("store").display().to_string();
    let top = format!("path:{}", env.path("top").display());
    env.run(&[
        "flake",
        "metadata",
        "--json",
        "--store",
        &store,
        "--no-write-lock-file",
        &top,
    ])
}

fn json(out: &CommandOutput) -> serde_json::Value {
    assert!(out.success(), "{out}");
    serde_json::from_str(out.stdout()).unwrap()
}

fn entries(env: &TestEnv) -> Vec<PathBuf> {
    env.entries(DIR)
}

/// Rewrites the description `from` to `to` in every cached entry; how many held it.
fn poison(env: &TestEnv, from: &str, to: &str) -> usize {
    let mut n = 0;
    for p in entries(env) {
        let text = std::fs::read_to_string(&p).unwrap();
        let needle = format!("\"description\":\"{from}\"");
        if text.contains(&needle) {
            let new = text.replace(&needle, &format!("\"description\":\"{to}\""));
            std::fs::write(&p, new).unwrap();
            n += 1;
        }
    }
    n
}

#[test]
fn a_flake_in_the_store_is_read_from_the_cache() {
    let env = setup();
    let first = json(&metadata(&env));
    assert_eq!(first["description"], "one");
    // The top flake, its two inputs (dep is read once, at its one store path).
    assert_eq!(entries(&env).len(), 3);
    assert_eq!(poison(&env, "one", "poisoned"), 1);
    let hit = json(&metadata(&env));
    assert_eq!(hit["description"], "poisoned");
    // Everything else, the lock with its `follows` included, is what the fresh read gave.
    let mut without = hit.clone();
    without["description"] = first["description"].clone();
    assert_eq!(without, first);
}

#[test]
fn a_changed_flake_is_read_again() {
    let env = setup();
    assert_eq!(json(&metadata(&env))["description"], "one");
    assert_eq!(poison(&env, "one", "poisoned"), 1);
    env.write("top/flake.nix", flake(&env, "two"));
    assert_eq!(json(&metadata(&env))["description"], "two");
    assert_eq!(entries(&env).len(), 4);
}

#[test]
fn a_flake_that_fails_to_read_is_not_cached() {
    let env = setup();
    env.write("top/flake.nix", "{ description = \"x\"; outputs = ; }\n");
    let first = metadata(&env);
    assert!(!first.success(), "{first}");
    assert!(first.stderr().contains("syntax error"), "{first}");
    assert!(entries(&env).is_empty(), "{:?}", entries(&env));
    let again = metadata(&env);
    assert_eq!(again.stderr(), first.stderr());
}

#[test]
fn a_lock_made_with_the_cache_is_the_lock_made_without() {
    let env = setup();
    let cold = json(&metadata(&env));
    let warm = json(&metadata(&env));
    assert_eq!(warm, cold);
    std::fs::remove_dir_all(env.path(DIR)).unwrap();
    assert_eq!(json(&metadata(&env)), cold);
}
