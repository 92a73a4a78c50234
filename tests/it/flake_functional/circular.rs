//! Port of Nix's `tests/functional/flakes/circular.sh`: flake A's input `b` is flake B, whose
//! input `a` is A again; A breaks the cycle with `inputs.b.inputs.a.follows = "/"` (the root).
//! Plus the cycle without that `follows`, which Nix rejects with `found circular import`
//! (spec C4/C6).
//!
//! Skipped:
//! - `nix eval "$flakeA#foo"` = 1579, then 1912 after the update (evaluation): the lock of `b`
//!   before and after `nix flake update b` is checked instead.

use serde_json::json;

use super::{archive_json, git_repo, jq, lock_fails, lock_ok, read_lock};
use crate::support::{GitRepo, TestEnv};

fn flake_b(b: &GitRepo, a: &GitRepo, number: u32) {
    b.write(
        "flake.nix",
        format!(
            "{{\n  inputs.a.url = \"git+file://{}\";\n\n  outputs = {{ self, a }}: {{\n    bar = {number} + a.xyzzy;\n  }};\n}}\n",
            a.path().display()
        ),
    );
    b.git(&["add", "flake.nix"]);
}

fn flake_a(a: &GitRepo, b: &GitRepo, follows_root: bool) {
    let follows = if follows_root {
        "  inputs.b.inputs.a.follows = \"/\";\n"
    } else {
        ""
    };
    a.write(
        "flake.nix",
        format!(
            "{{\n  inputs.b.url = \"git+file://{}\";\n{follows}\n  outputs = {{ self, b }}: {{\n    foo = 123 + b.bar;\n    xyzzy = 1000;\n  }};\n}}\n",
            b.path().display()
        ),
    );
    a.git(&["add", "flake.nix"]);
}

/// circular.sh: A locks with B's `a` following the root (`"/"` is the path `[]`); after B
/// changes, `nix flake update b` moves `b` to B's new commit; "Test list-inputs with circular
/// dependencies" (`nix flake metadata` of A) prints the follows edge; the archive omits it.
#[test]
fn follows_of_the_root_breaks_the_cycle() {
    let env = TestEnv::new();
    let a = git_repo(env.path("flakeA"), "master");
    let b = git_repo(env.path("flakeB"), "master");
    flake_a(&a, &b, true);
    flake_b(&b, &a, 456);
    let rev1 = b.commit("Foo");
    let dir = a.path().display().to_string();

    lock_ok(&env, &dir, &[]);
    let v = read_lock(&env, a.path().join("flake.lock"));
    assert_eq!(jq(&v, ".nodes.root.inputs"), &json!({"b": "b"}));
    assert_eq!(jq(&v, ".nodes.b.inputs.a"), &json!([]));
    assert_eq!(jq(&v, ".nodes.b.locked.rev"), &json!(rev1));
    // Locking again changes nothing.
    let before = std::fs::read(a.path().join("flake.lock")).unwrap();
    lock_ok(&env, &dir, &[]);
    assert_eq!(std::fs::read(a.path().join("flake.lock")).unwrap(), before);

    flake_b(&b, &a, 789);
    let rev2 = b.commit("Foo");
    lock_ok(&env, &dir, &["--update-input", "b"]);
    let v = read_lock(&env, a.path().join("flake.lock"));
    assert_eq!(jq(&v, ".nodes.b.locked.rev"), &json!(rev2));
    assert_eq!(jq(&v, ".nodes.b.inputs.a"), &json!([]));

    let out = env.run(&["flake", "metadata", &dir]);
    assert!(out.success(), "{out}");
    assert!(out.stdout().contains("a follows input ''"), "{out}");

    let archive = archive_json(&env, &dir, &["--dry-run"]);
    assert_eq!(jq(&archive, ".inputs.b.inputs"), &json!({}));
}

/// Without circular.sh's `follows = "/"`, locking A fetches B, whose `a` is A, whose `b` is B
/// again: `found circular import of flake '<B>'` (spec C4; the guard compares each input's ref
/// with those of its ancestors).
#[test]
fn circular_imports_are_rejected() {
    let env = TestEnv::new();
    let a = git_repo(env.path("flakeA"), "master");
    let b = git_repo(env.path("flakeB"), "master");
    flake_a(&a, &b, false);
    flake_b(&b, &a, 456);
    b.commit("Foo");
    let err = lock_fails(&env, &a.path().display().to_string(), &[]);
    assert!(
        err.contains("found circular import of flake 'git+file://$TEST_ENV/flakeB'"),
        "{err}"
    );
    assert!(!a.path().join("flake.lock").exists());
}
