//! `flake prefetch` and `registry pin` of `path:` inputs, against Nix 2.8 on the same tree.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use insta::assert_snapshot;

use crate::support::{TestEnv, pin_with_both, require_nix};

/// A small tree with every file and directory dated 2023-11-14 22:13:20 UTC.
fn tree(env: &TestEnv) -> String {
    let root = env.path("work/src");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("a.txt"), "hello\n").unwrap();
    fs::write(root.join("sub/b"), "b").unwrap();
    for p in [
        root.join("a.txt"),
        root.join("sub/b"),
        root.join("sub"),
        root.clone(),
    ] {
        set_mtime(&p, 1_700_000_000);
    }
    root.display().to_string()
}

fn set_mtime(p: &Path, secs: u64) {
    let f = fs::File::open(p).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn prefetch_json_and_message() {
    let env = TestEnv::new();
    let src = tree(&env);
    let out = env.run(&["flake", "prefetch", "--json", &format!("path:{src}")]);
    assert_snapshot!(out, @r#"{"hash":"sha256-IAWtEXFcqAQ5HL4G3lvoDQMPfbghEuoq3p+P4tsJz0M=","locked":{"lastModified":1700000000,"narHash":"sha256-IAWtEXFcqAQ5HL4G3lvoDQMPfbghEuoq3p+P4tsJz0M=","path":"$TEST_ENV/work/src","type":"path"},"original":{"path":"$TEST_ENV/work/src","type":"path"},"storePath":"/nix/store/w2xx8fl3f40wp0dxzfzf9byhz41dwn4j-source"}"#);
    let out = env.run(&["flake", "prefetch", &format!("path:{src}")]);
    assert_snapshot!(out, @r"
    ------- stderr -------
    Downloaded 'path:$TEST_ENV/work/src?lastModified=1700000000&narHash=sha256-IAWtEXFcqAQ5HL4G3lvoDQMPfbghEuoq3p%2BP4tsJz0M%3D' to '/nix/store/w2xx8fl3f40wp0dxzfzf9byhz41dwn4j-source' (hash 'sha256-IAWtEXFcqAQ5HL4G3lvoDQMPfbghEuoq3p+P4tsJz0M=').
    ");
}

#[test]
fn prefetch_equals_nix() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let src = tree(&env);
    let nix_store = env.path("nix-store").display().to_string();
    let nix = env.run_nix(&[
        "flake",
        "prefetch",
        "--json",
        "--store",
        &nix_store,
        &format!("path:{src}"),
    ]);
    assert!(nix.success(), "{nix}");
    let nix: serde_json::Value = serde_json::from_str(nix.stdout()).unwrap();
    let ours = env.run(&["flake", "prefetch", "--json", &format!("path:{src}")]);
    let ours: serde_json::Value = serde_json::from_str(ours.stdout()).unwrap();
    assert_eq!(ours["storePath"], nix["storePath"]);
    assert_eq!(ours["hash"], nix["hash"]);
    // The store Nix can read: rflake's path is valid for Nix.
    let info = env.run_nix(&["path-info", "--json", ours["storePath"].as_str().unwrap()]);
    assert!(
        info.stdout().contains(nix["hash"].as_str().unwrap()),
        "{info}"
    );
}

#[test]
fn hash_mismatch_exits_102_and_registers_nothing() {
    let env = TestEnv::new();
    let src = tree(&env);
    let bad = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let out = env.run(&["flake", "prefetch", &format!("path:{src}?narHash={bad}")]);
    assert_snapshot!(out, @r"
    ------- stderr -------
    error: NAR hash mismatch in input 'path:$TEST_ENV/work/src?narHash=sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D', expected 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' but got 'sha256-IAWtEXFcqAQ5HL4G3lvoDQMPfbghEuoq3p+P4tsJz0M='
    [exit status: 102]
    ");
    let entries: Vec<_> = fs::read_dir(env.path("store/nix/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ".links")
        .collect();
    assert!(entries.is_empty(), "{entries:?}");
}

#[test]
fn pin_writes_the_fetched_input_and_warns_about_paths() {
    let env = TestEnv::new();
    let src = tree(&env);
    env.write(
        "global-registry.json",
        format!(r#"{{"version":2,"flakes":[{{"from":{{"type":"indirect","id":"foo"}},"to":{{"type":"path","path":"{src}"}}}}]}}"#),
    );
    let out = env.run(&["registry", "pin", "foo"]);
    assert_snapshot!(out, @r"
    ------- stderr -------
    warning: flake 'path:$TEST_ENV/work/src?lastModified=1700000000' is not locked
    ");
    assert_snapshot!(env.read("config/nix/registry.json").replace(&src, "$SRC"), @r#"
    {
      "flakes": [
        {
          "from": {
            "id": "foo",
            "type": "indirect"
          },
          "to": {
            "__final": true,
            "lastModified": 1700000000,
            "path": "$SRC",
            "type": "path"
          }
        }
      ],
      "version": 2
    }
    "#);
    assert_snapshot!(env.run(&["registry", "list"]), @r"
    user   flake:foo path:$TEST_ENV/work/src?lastModified=1700000000
    global flake:foo path:$TEST_ENV/work/src
    ");
}

#[test]
fn pin_equals_nix_up_to_the_documented_differences() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let src = tree(&env);
    let (_, mut ours, nix) = pin_with_both(&env, &format!(r#"{{"type":"path","path":"{src}"}}"#));
    // Spec §6.8 / Part 8 item 14: Nix 2.8 wrote a narHash and no __final; current Nix (and
    // rflake) write __final and no narHash for path inputs.
    let to = ours["flakes"][0]["to"].as_object_mut().unwrap();
    assert_eq!(to.remove("__final"), Some(serde_json::Value::Bool(true)));
    to.insert("narHash".into(), nix["flakes"][0]["to"]["narHash"].clone());
    assert_eq!(ours, nix);
}

#[test]
fn pin_refuses_a_bad_target_before_fetching_and_reports_unknown_ids() {
    let env = TestEnv::new();
    env.write("config/nix/registry.json", "{ not json");
    let out = env.run(&["registry", "pin", "foo"]);
    assert!(!out.success());
    assert!(out.stderr().contains("refusing to overwrite it"), "{out}");
    assert_eq!(env.read("config/nix/registry.json"), "{ not json");
    fs::remove_file(env.path("config/nix/registry.json")).unwrap();
    let out = env.run(&["registry", "pin", "nosuchflake"]);
    assert!(!out.success());
    assert!(
        out.stderr()
            .contains("cannot find flake 'flake:nosuchflake'"),
        "{out}"
    );
    assert!(env.try_read("config/nix/registry.json").is_none());
}
