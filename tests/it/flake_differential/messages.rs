//! Lock-file updates: an edited `flake.nix` against a lock file written by Nix 2.8. Both tools
//! refuse it with `--no-update-lock-file` alike, and both rewrite it alike (modulo the
//! documented differences), printing the same "updating" message outline; rflake's message is
//! asserted exactly as current Nix prints it (spec C5).

use super::compare::{assert_same_lock, message_outline};
use super::fixture::Graph;
use super::lines;

#[test]
fn updating_a_lock_file_written_by_nix_2_8() {
    let Some(mut g) = Graph::new() else { return };
    g.path_flake("dep1", "{\n  outputs = { self }: { };\n}\n", &[]);
    g.path_flake(
        "dep1b",
        "{\n  outputs = { self }: { };\n}\n",
        &[("VERSION", "2\n")],
    );
    g.path_tree("data", &[("file.txt", "hello data\n")]);
    g.git_flake(
        "dep2",
        "{\n  inputs.dep1.url = \"path:@DIR@/dep1\";\n  outputs = { self, dep1 }: { };\n}\n",
    );
    let extra = g.git_flake("extra", "{\n  outputs = { self }: { };\n}\n");
    g.path_root(
        r#"{
  inputs = {
    dep1.url = "path:@DIR@/dep1";
    dep2 = { url = "git+file://@DIR@/dep2"; inputs.dep1.follows = "dep1"; };
    data = { url = "path:@DIR@/data"; flake = false; };
  };
  outputs = { self, ... }: { };
}
"#,
    );
    let first = g.nix("nix-0", &[]);
    assert!(first.success(), "{first}");
    let old_lock = g.lock_file().unwrap();

    // `data` removed, `dep1` moved, `extra` added; `dep2` and its follows stay.
    g.set_flake_nix(
        r#"{
  inputs = {
    dep1.url = "path:@DIR@/dep1b";
    dep2 = { url = "git+file://@DIR@/dep2"; inputs.dep1.follows = "dep1"; };
    extra.url = "git+file://@DIR@/extra";
  };
  outputs = { self, ... }: { };
}
"#,
    );

    // Refused alike (spec C5 [V]); the lock file is left alone.
    let refused = [
        g.nix("nix-1", &["--no-update-lock-file"]),
        g.rflake("rflake-1", &["--no-update-lock-file"]),
    ];
    for out in &refused {
        assert_eq!(out.status().code(), Some(1), "{out}");
        assert_eq!(out.stdout(), "");
        assert_eq!(
            out.stderr().lines().next(),
            Some(
                "error: flake 'path:$TEST_ENV/root' requires lock file changes but they're not \
                 allowed due to '--no-update-lock-file'"
            ),
            "{out}"
        );
    }
    assert_eq!(g.lock_file().unwrap(), old_lock);

    // Updated by Nix 2.8, then (from the same old lock) by rflake.
    let nix = g.nix("nix-2", &[]);
    assert!(nix.success(), "{nix}");
    let nix_lock = g.lock_file().unwrap();
    g.set_lock_file(&old_lock);
    let ours = g.rflake("rflake-2", &[]);
    assert!(ours.success(), "{ours}");
    let our_lock = g.lock_file().unwrap();
    assert_same_lock(&our_lock, &nix_lock);
    let lock: serde_json::Value = serde_json::from_str(&our_lock).unwrap();
    // C4: an input whose declaration did not change keeps its old node as written (2.8's short
    // ref); the new git input gets current Nix's full ref.
    assert_eq!(lock["nodes"]["dep2"]["locked"]["ref"], "master");
    assert_eq!(lock["nodes"]["extra"]["locked"]["ref"], "refs/heads/master");

    assert_eq!(
        message_outline(ours.stderr()),
        message_outline(nix.stderr()),
        "lock-file message outline: rflake (left), Nix 2.8 (right)"
    );
    let narhash = |lock: &str, node: &str| {
        let v: serde_json::Value = serde_json::from_str(lock).unwrap();
        v["nodes"][node]["locked"]["narHash"]
            .as_str()
            .unwrap()
            .replace('+', "%2B")
            .replace('=', "%3D")
    };
    let expected = lines(&[
        "warning: updating lock file \"$TEST_ENV/root/flake.lock\":",
        "• Removed input 'data'",
        "• Updated input 'dep1':",
        &format!(
            "    'path:$TEST_ENV/dep1?lastModified=1700000000&narHash={}' (2023-11-14)",
            narhash(&old_lock, "dep1")
        ),
        &format!(
            "  → 'path:$TEST_ENV/dep1b?lastModified=1700000000&narHash={}' (2023-11-14)",
            narhash(&nix_lock, "dep1")
        ),
        "• Added input 'extra':",
        &format!(
            "    'git+file://$TEST_ENV/extra?ref=refs/heads/master&rev={}' (2023-11-14)",
            extra.rev("HEAD")
        ),
    ]);
    assert_eq!(ours.stderr(), expected);
}
