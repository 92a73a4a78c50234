//! Overriding the URL of a *flake* input from `flake.nix` (`inputs.a.inputs.b.url = …`): a
//! difference between Nix 2.8 and current Nix that spec E1 does not list, found by these tests
//! and confirmed in both sources (`computeLocks` in `flake.cc`):
//!
//! - 2.8 records the input's *declared* ref as `original` for every overridden flake input
//!   (`input2.ref`), and never keeps an overridden input's old lock (`!hasOverride`);
//! - current Nix records the declared ref only for a command-line `--override-input`
//!   (`inputIsOverride`), otherwise the override's ref; and it keeps the old lock when its
//!   `original` equals the override's ref.
//!
//! So the locks are compared modulo `nodes.<b>.original`, and current Nix (hence rflake) finds a
//! lock file written by 2.8 for such a graph out of date: its `original` is not the override.

use super::compare::{assert_same_lock, current_json, nix_json, without_root_path};
use super::fixture::Graph;

#[test]
fn flake_input_url_overridden_in_flake_nix() {
    let Some(mut g) = Graph::new() else { return };
    g.path_flake(
        "b1",
        "{\n  outputs = { self }: { };\n}\n",
        &[("b.txt", "1\n")],
    );
    g.path_flake(
        "b2",
        "{\n  outputs = { self }: { };\n}\n",
        &[("b.txt", "2\n")],
    );
    g.path_flake(
        "a",
        "{\n  inputs.b.url = \"path:@DIR@/b1\";\n  outputs = { self, b }: { };\n}\n",
        &[],
    );
    g.path_root(
        r#"{
  inputs.a = { url = "path:@DIR@/a"; inputs.b.url = "path:@DIR@/b2"; };
  outputs = { self, a }: { };
}
"#,
    );
    let nix = g.nix("nix", &["--json"]);
    assert!(nix.success(), "{nix}");
    let nix_lock = g.lock_file().unwrap();
    g.unlock();
    let ours = g.rflake("rflake", &["--json"]);
    assert!(ours.success(), "{ours}");
    let our_lock = g.lock_file().unwrap();

    let b = |dir: &str| serde_json::json!({"path": g.env().path(dir), "type": "path"});
    let parsed: serde_json::Value = serde_json::from_str(&our_lock).unwrap();
    assert_eq!(parsed["nodes"]["b"]["locked"]["path"], b("b2")["path"]);
    assert_eq!(
        parsed["nodes"]["b"]["original"],
        b("b2"),
        "current: the override"
    );
    let theirs: serde_json::Value = serde_json::from_str(&nix_lock).unwrap();
    assert_eq!(
        theirs["nodes"]["b"]["original"],
        b("b1"),
        "2.8: the declaration"
    );
    let mut as_2_8 = parsed.clone();
    as_2_8["nodes"]["b"]["original"] = b("b1");
    assert_same_lock(&super::compare::render_lock(&as_2_8), &nix_lock);
    assert_eq!(
        without_root_path(&current_json(ours.stdout())),
        without_root_path(&nix_json(nix.stdout()))
    );

    // Current Nix re-locks `a/b` from 2.8's lock file (the old `original` is not the
    // override's ref): refused with --no-update-lock-file, else rewritten with an empty diff
    // (only the `original` changes; the diff compares locked refs), which prints the bare
    // "updating" line (spec C5).
    g.set_lock_file(&nix_lock);
    let refused = g.rflake("rflake", &["--no-update-lock-file"]);
    assert_eq!(refused.status().code(), Some(1), "{refused}");
    assert_eq!(
        refused.stderr(),
        "error: flake 'path:$TEST_ENV/root' requires lock file changes but they're not allowed \
         due to '--no-update-lock-file'\n"
    );
    assert_eq!(g.lock_file().unwrap(), nix_lock);
    let updated = g.rflake("rflake", &[]);
    assert!(updated.success(), "{updated}");
    assert_eq!(
        updated.stderr(),
        "warning: updating lock file \"$TEST_ENV/root/flake.lock\"\n"
    );
    assert_eq!(g.lock_file().unwrap(), our_lock);
}
