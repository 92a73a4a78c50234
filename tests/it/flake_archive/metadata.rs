//! `flake metadata` basics (Nix's `CmdFlakeMetadata` in `src/nix/flake.cc`): the `--json`
//! object and the text output with its `Inputs:` tree, on fixture D7 and on a flake without
//! inputs.

use insta::assert_snapshot;
use serde_json::json;

use super::{D7_LOCK_2_8, D7_ROOT_PATH, D7_ROOT_REV, Demo, demo_env, write_tree};
use crate::support::TestEnv;

#[test]
fn json_of_d7_root() {
    let (env, _demo) = demo_env(true);
    let out = env.run(&["flake", "metadata", "--json"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr(), "");
    // Compact on a pipe, one newline.
    assert!(out.stdout().ends_with("}\n"), "{out:?}");
    assert_eq!(out.stdout().lines().count(), 1);
    let mut v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    // Current Nix's attributes may carry the internal `__final`; it is not part of the check.
    v["locked"].as_object_mut().unwrap().remove("__final");
    let git = json!({"type": "git", "url": "file:///tmp/demo/root"});
    // Nix 2.8 printed the same, with `"ref": "main"` (a clean work tree's full ref in current
    // Nix, spec C1) and no `fingerprint` (rflake has no evaluation cache: a documented
    // deviation of `flake metadata`).
    let expected = json!({
        "description": "root",
        "lastModified": 1700000000,
        "locked": {
            "lastModified": 1700000000,
            "narHash": "sha256-1X0J1mllpx75xLS3Hr4LdVrYRfr8QbPUPNb/xKUvkuA=",
            "ref": "refs/heads/main",
            "rev": D7_ROOT_REV,
            "revCount": 2,
            "type": "git",
            "url": "file:///tmp/demo/root",
        },
        "locks": serde_json::from_str::<serde_json::Value>(D7_LOCK_2_8).unwrap(),
        "original": git,
        "originalUrl": "git+file:///tmp/demo/root",
        "path": D7_ROOT_PATH,
        "resolved": git,
        "resolvedUrl": "git+file:///tmp/demo/root",
        "revCount": 2,
        "revision": D7_ROOT_REV,
        "url": format!("git+file:///tmp/demo/root?ref=refs/heads/main&rev={D7_ROOT_REV}"),
    });
    assert_eq!(v, expected);
    // Reading metadata changes nothing.
    assert_eq!(Demo::root_lock(), D7_LOCK_2_8);
    assert_eq!(Demo::root_head(), D7_ROOT_REV);
}

#[test]
fn text_of_d7_root() {
    let (env, _demo) = demo_env(true);
    let out = env.run(&["flake", "metadata"]);
    // The inputs are the kept 2.8 lock's (`ref=main`); the dates are UTC (`%F %T`), and so is
    // `Last modified` here (the local zone, as in Nix: the test environment sets `TZ=UTC`).
    assert_snapshot!(out, @r"
    Resolved URL:  git+file:///tmp/demo/root
    Locked URL:    git+file:///tmp/demo/root?ref=refs/heads/main&rev=63e74011cacdb1cd7e29683c5ae5331be8a56b17
    Description:   root
    Path:          /nix/store/pkidrwywjvgcxddjrfs5lkvb4dj3lvf1-source
    Revision:      63e74011cacdb1cd7e29683c5ae5331be8a56b17
    Revisions:     2
    Last modified: 2023-11-14 22:13:20
    Inputs:
    ├───data: path:/tmp/demo/data?lastModified=1700000000&narHash=sha256-v4U9FOWp29Qasi9sZiH6JO2x9EsMwg9TmPuxq78H510%3D (2023-11-14 22:13:20)
    ├───dep1: path:/tmp/demo/dep1?lastModified=1700000000&narHash=sha256-j6tWX3GWsSJY3dxC%2Bkq/JLuXlMembNGvHeY9D7t3W1o%3D (2023-11-14 22:13:20)
    ├───dep2: git+file:///tmp/demo/dep2?ref=main&rev=0ba6a064a6be7b4692a891142aa1aaa6c97b992b (2023-11-14 22:13:20)
    │   └───dep1 follows input 'dep1'
    └───mid: git+file:///tmp/demo/dep2?ref=main&rev=0ba6a064a6be7b4692a891142aa1aaa6c97b992b (2023-11-14 22:13:20)
        └───dep1: path:/tmp/demo/dep1?lastModified=1700000000&narHash=sha256-j6tWX3GWsSJY3dxC%2Bkq/JLuXlMembNGvHeY9D7t3W1o%3D (2023-11-14 22:13:20)
    ");
}

#[test]
fn text_of_a_flake_without_inputs() {
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
    let out = env.run(&["flake", "metadata"]);
    // No `Inputs:` line; the tree's hash and path are Nix 2.8's for the same tree.
    assert_snapshot!(out, @r"
    Resolved URL:  path:$TEST_ENV/work/solo
    Locked URL:    path:$TEST_ENV/work/solo?lastModified=1700000000&narHash=sha256-ruxfyRG55KSRvEpnB0UaxSkwI9KedBoujpQtd53ggPA%3D
    Description:   solo
    Path:          /nix/store/mw5yp8hzv9pz4bl9lpjplfljqnn5fhm4-source
    Last modified: 2023-11-14 22:13:20
    ");
    assert!(!dir.join("flake.lock").exists());
}

#[test]
fn last_modified_is_local_time_as_nix_prints_it() {
    if !crate::support::require_nix() {
        return;
    }
    let mut env = TestEnv::new();
    write_tree(
        &env,
        "work/solo",
        &[(
            "flake.nix",
            "{\n  description = \"solo\";\n  outputs = { self }: { };\n}\n",
        )],
    );
    env.set_cwd("work/solo");
    env.add_env("TZ", "Asia/Kolkata");
    let line = |out: &crate::support::CommandOutput| {
        assert!(out.success(), "{out:?}");
        // Nix 2.8 prints the labels in bold even without a terminal.
        let plain = out.stdout().replace("\x1b[1m", "").replace("\x1b[0m", "");
        plain
            .lines()
            .find(|l| l.starts_with("Last modified:"))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let ours = line(&env.run(&["flake", "metadata"]));
    // 1700000000 is 2023-11-14 22:13:20 UTC, 03:43:20 the next day in India (UTC+5:30).
    assert_eq!(ours, "Last modified: 2023-11-15 03:43:20");
    assert_eq!(ours, line(&env.run_nix(&["flake", "metadata"])));
}
