//! Port of Nix's `tests/functional/flakes/unlocked-override.sh`: a dirty git work tree as an
//! input, given with `--override-input` or declared, and locks of such unlocked inputs.
//!
//! Skipped or translated:
//! - `nix eval --json "$flake2Dir#x" --override-input flake1 …` = 123, then 456 after editing
//!   `x.nix` (evaluation): the overridden lock is read from `flake metadata --json` instead,
//!   with the work tree's revision, then its dirty NAR hash.
//! - `nix flake lock --override-input flake1 <dirty tree>` failing with `Not writing lock file
//!   … because it has an unlocked input`, and succeeding with `--allow-dirty-locks`: only
//!   `nix flake lock` writes under `--override-input` and fails on unlocked inputs
//!   (`failOnUnlocked`); `flake archive` (Nix's and rflake's) only warns. The same behaviour
//!   is checked with the dirty tree declared in `flake.nix`: a warning and no lock file, then a
//!   lock file with `--allow-dirty-locks`.
//! - `nix eval "$flake2Dir#x"` with that lock warns `Lock file entry … is unlocked`: checked
//!   with a lock of the flake (the evaluated value 456 is skipped).

use std::fs;

use serde_json::json;

use super::{git_repo, jq, lock_ok, metadata_out, read_lock};
use crate::support::{GitRepo, TestEnv};

/// flake1 (committed, `x.nix` = 123) and flake2 (staged, `outputs` takes `flake1`, which no
/// registry knows).
fn fixture(env: &TestEnv) -> (GitRepo, GitRepo) {
    let flake1 = git_repo(env.path("flake1"), "master");
    flake1.write(
        "flake.nix",
        "{\n    outputs = { self }: { x = import ./x.nix; };\n}\n",
    );
    flake1.write("x.nix", "123\n");
    flake1.git(&["add", "flake.nix", "x.nix"]);
    flake1.commit("Initial");
    let flake2 = git_repo(env.path("flake2"), "master");
    flake2.write(
        "flake.nix",
        "{\n    outputs = { self, flake1 }: { x = flake1.x; };\n}\n",
    );
    flake2.git(&["add", "flake.nix"]);
    (flake1, flake2)
}

/// unlocked-override.sh, the two `nix eval … --override-input flake1 "$TEST_ROOT/flake1"`: the
/// override is locked to the work tree (first clean at its commit, then dirty after `x.nix`
/// changes, with another NAR hash and no `rev`), `original` stays the declared `flake1`, and
/// nothing is written.
#[test]
fn override_with_a_work_tree_is_used_but_not_written() {
    let env = TestEnv::new();
    let (flake1, flake2) = fixture(&env);
    let dir = flake2.path().display().to_string();
    let over = flake1.path().display().to_string();

    let (v, out) = metadata_out(&env, &dir, &["--override-input", "flake1", &over]);
    assert_eq!(
        jq(&v, ".locks.nodes.flake1.original"),
        &json!({"id": "flake1", "type": "indirect"})
    );
    assert_eq!(jq(&v, ".locks.nodes.flake1.locked.type"), &json!("git"));
    assert_eq!(
        jq(&v, ".locks.nodes.flake1.locked.rev"),
        &json!(flake1.rev("HEAD"))
    );
    let clean_hash = jq(&v, ".locks.nodes.flake1.locked.narHash").clone();
    assert!(clean_hash.is_string(), "{v}");
    assert!(
        out.stderr()
            .contains("warning: not writing modified lock file of flake '"),
        "{out}"
    );

    flake1.write("x.nix", "456\n");
    let (v, _) = metadata_out(&env, &dir, &["--override-input", "flake1", &over]);
    let locked = jq(&v, ".locks.nodes.flake1.locked");
    assert_eq!(locked["rev"], serde_json::Value::Null, "{v}");
    assert_eq!(
        locked["dirtyRev"],
        json!(format!("{}-dirty", flake1.rev("HEAD")))
    );
    assert!(locked["narHash"].is_string(), "{v}");
    assert_ne!(locked["narHash"], clean_hash);
    assert!(!flake2.path().join("flake.lock").exists());
}

/// unlocked-override.sh "Dirty overrides require --allow-dirty-locks" and "Using a lock file
/// with a dirty lock does not require --allow-dirty-locks, but should print a warning", with
/// the dirty tree declared in flake.nix (see the module comment): no lock file and a warning
/// naming the unlocked input; with `--allow-dirty-locks` a lock file holding the dirty tree
/// (`narHash`, no `rev`); then locking without the flag warns `Lock file entry … is unlocked`
/// and succeeds.
#[test]
fn dirty_locks_need_allow_dirty_locks() {
    let env = TestEnv::new();
    let (flake1, flake2) = fixture(&env);
    flake2.write(
        "flake.nix",
        format!(
            "{{\n    inputs.flake1.url = \"git+file://{}\";\n    outputs = {{ self, flake1 }}: {{ x = flake1.x; }};\n}}\n",
            flake1.path().display()
        ),
    );
    flake1.write("x.nix", "456\n");
    let dir = flake2.path().display().to_string();
    let lock_path = flake2.path().join("flake.lock");
    let flake1_url = "git+file://$TEST_ENV/flake1";

    let out = lock_ok(&env, &dir, &[]);
    assert!(
        out.stderr().contains(&format!(
            "warning: not writing lock file of flake 'git+file://$TEST_ENV/flake2' because it has an unlocked input ('{flake1_url}')"
        )),
        "{out}"
    );
    assert!(!lock_path.exists());

    lock_ok(&env, &dir, &["--allow-dirty-locks"]);
    let v = read_lock(&env, &lock_path);
    assert_eq!(jq(&v, ".nodes.flake1.locked.rev"), &serde_json::Value::Null);
    assert!(jq(&v, ".nodes.flake1.locked.narHash").is_string(), "{v}");
    assert_eq!(
        jq(&v, ".nodes.flake1.original"),
        &json!({"type": "git", "url": "file://$TEST_ENV/flake1"})
    );

    let before = fs::read(&lock_path).unwrap();
    let out = lock_ok(&env, &dir, &[]);
    assert!(
        out.stderr().contains(&format!(
            "warning: Lock file entry '{flake1_url}' is unlocked (e.g. lacks a Git revision) but is checked by NAR hash. This is not reproducible and will break after garbage collection or when shared."
        )),
        "{out}"
    );
    assert_eq!(fs::read(&lock_path).unwrap(), before);
}
