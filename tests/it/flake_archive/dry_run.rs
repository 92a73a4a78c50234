//! `flake archive --dry-run` (spec D4, C5): the lock file is still written, locked inputs are
//! not fetched, `--to` is ignored without opening the store, and stdout stays empty without
//! `--json`.

use std::fs;

use super::{
    A_HASH, A_PATH, DATA_HASH, DATA_PATH, assert_error, in_store, normalize, snapshot,
    store_contents, write_inputs, write_root,
};
use crate::support::TestEnv;

/// A root with a flake input `a` and a non-flake input `data`.
const ROOT: &str = r#"{
  inputs = {
    a.url = "path:@W@/a";
    data = { url = "path:@W@/data"; flake = false; };
  };
  outputs = { self, ... }: { };
}
"#;

/// `+` and `=` percent-encoded as current Nix prints query values (spec C5).
fn url_hash(sri: &str) -> String {
    sri.replace('+', "%2B").replace('=', "%3D")
}

/// The lock file of [`ROOT`], with `$TEST_ENV` for the root.
fn expected_lock() -> String {
    format!(
        r#"{{
  "nodes": {{
    "a": {{
      "locked": {{
        "lastModified": 1700000000,
        "narHash": "{A_HASH}",
        "path": "$TEST_ENV/work/a",
        "type": "path"
      }},
      "original": {{
        "path": "$TEST_ENV/work/a",
        "type": "path"
      }}
    }},
    "data": {{
      "flake": false,
      "locked": {{
        "lastModified": 1700000000,
        "narHash": "{DATA_HASH}",
        "path": "$TEST_ENV/work/data",
        "type": "path"
      }},
      "original": {{
        "path": "$TEST_ENV/work/data",
        "type": "path"
      }}
    }},
    "root": {{
      "inputs": {{
        "a": "a",
        "data": "data"
      }}
    }}
  }},
  "root": "root",
  "version": 7
}}
"#
    )
}

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    write_inputs(&env);
    write_root(&env, "root", ROOT);
    env.set_cwd("work/root");
    env
}

#[test]
fn dry_run_writes_the_lock_file_and_prints_nothing_on_stdout() {
    let env = setup();
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), "");
    assert_eq!(
        out.stderr(),
        format!(
            "warning: creating lock file \"$TEST_ENV/work/root/flake.lock\": \n\
             • Added input 'a':\n    \
             'path:$TEST_ENV/work/a?lastModified=1700000000&narHash={}' (2023-11-14)\n\
             • Added input 'data':\n    \
             'path:$TEST_ENV/work/data?lastModified=1700000000&narHash={}' (2023-11-14)\n",
            url_hash(A_HASH),
            url_hash(DATA_HASH)
        )
    );
    assert_eq!(
        normalize(&env, &env.read("work/root/flake.lock")),
        expected_lock()
    );
}

#[test]
fn dry_run_ignores_a_bogus_to_and_never_opens_it() {
    let env = setup();
    let out = env.run(&["flake", "archive", "--dry-run", "--to", "bogus://nowhere"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), "");
    assert!(env.path("work/root/flake.lock").exists());
    // A local directory as `--to` is not even created.
    let dst = env.path("dst");
    let out = env.run(&[
        "flake",
        "archive",
        "--dry-run",
        "--json",
        "--to",
        &dst.display().to_string(),
    ]);
    assert!(out.success(), "{out:?}");
    assert!(!dst.exists());
    // Without `--dry-run` the same `--to` is used, and fails.
    let out = env.run(&["flake", "archive", "--to", "bogus://nowhere"]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(out.stderr().starts_with("error: "), "{out:?}");
}

#[test]
fn dry_run_computes_locked_input_paths_without_fetching() {
    let env = setup();
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    // The inputs are gone and the store is new: a dry run computes their paths from the lock.
    fs::remove_dir_all(env.path("work/a")).unwrap();
    fs::remove_dir_all(env.path("work/data")).unwrap();
    let fresh = env.path("fresh");
    let fresh_s = fresh.display().to_string();
    let before = snapshot(&env.path("work/root"));
    let out = env.run(&[
        "flake",
        "archive",
        "--json",
        "--dry-run",
        "--store",
        &fresh_s,
    ]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr(), "");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["inputs"]["a"]["path"], A_PATH);
    assert_eq!(v["inputs"]["data"]["path"], DATA_PATH);
    assert!(!in_store(&fresh, A_PATH));
    assert!(!in_store(&fresh, DATA_PATH));
    // Only the `path:` root was copied (spec D4).
    let root = v["path"].as_str().unwrap();
    assert_eq!(store_contents(&fresh), [&root["/nix/store/".len()..]]);
    assert_eq!(snapshot(&env.path("work/root")), before);

    // A real run must fetch them, and cannot.
    let out = env.run(&["flake", "archive", "--store", &fresh_s]);
    assert_error(
        &out,
        1,
        "getting status of '$TEST_ENV/work/a': No such file or directory",
    );
    assert_eq!(snapshot(&env.path("work/root")), before);
}
