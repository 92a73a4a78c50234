//! Unit tests: the spec's vectors (fixture D7, the relative-paths lock of B3.7), reading
//! versions 5–7 and its errors, key assignment, follows resolution and the diff.

use serde_json::{Value, json};

use super::*;
use crate::flakeref::attrs;
use crate::report::Silent;
use crate::util::time::date as utc_date;

/// The lock file of fixture D7 (spec Part D7), as Nix 2.8 wrote it.
const D7: &str = include_str!("../../../tests/data/d7-flake.lock");

const NAR_DATA: &str = "sha256-v4U9FOWp29Qasi9sZiH6JO2x9EsMwg9TmPuxq78H510=";
const NAR_DEP1: &str = "sha256-j6tWX3GWsSJY3dxC+kq/JLuXlMembNGvHeY9D7t3W1o=";
const NAR_DEP2: &str = "sha256-Fx0RvbC6IljP7ApXkqr2mJES5nGGlsyPlJ7vsjeRbRc=";
const REV2: &str = "0ba6a064a6be7b4692a891142aa1aaa6c97b992b";

/// A flake ref from its JSON attributes.
fn fref(v: Value) -> FlakeRef {
    let Value::Object(obj) = v else {
        panic!("not an object: {v}")
    };
    let attrs = attrs::from_json(&obj).unwrap_or_else(|e| panic!("{e}"));
    FlakeRef::from_attrs(attrs, &Silent).unwrap_or_else(|e| panic!("{e}"))
}

/// A node locking `locked`, with `original`.
fn node(locked: Value, original: Value) -> Node {
    Node {
        inputs: Default::default(),
        locked: Some(Locked {
            locked: fref(locked),
            original: fref(original),
            is_flake: true,
            parent: None,
        }),
    }
}

/// A node locking the path `p` at time `t` with `narHash` `h`.
fn path_node(p: &str, t: u64, h: &str) -> Node {
    node(
        json!({"lastModified": t, "narHash": h, "path": p, "type": "path"}),
        json!({"path": p, "type": "path"}),
    )
}

fn parse_ok(text: &str) -> LockFile {
    LockFile::parse(text, "/f/flake.lock").unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> String {
    match LockFile::parse(text, "/f/flake.lock") {
        Ok(l) => panic!("parsed: {l:?}"),
        Err(e) => e.to_string(),
    }
}

fn edge(lock: &LockFile, from: NodeId, name: &str) -> Edge {
    lock.nodes[from].inputs[name].clone()
}

fn set_edge(lock: &mut LockFile, from: NodeId, name: &str, e: Edge) {
    lock.nodes[from].inputs.insert(name.to_owned(), e);
}

fn follows(p: &[&str]) -> Edge {
    Edge::Follows(p.iter().map(|s| s.to_string()).collect())
}

fn path(p: &[&str]) -> InputPath {
    p.iter().map(|s| s.to_string()).collect()
}

/// A lock whose root has only follows edges, named and aimed as given.
fn follows_lock(edges: &[(&str, &[&str])]) -> LockFile {
    let mut lock = LockFile::default();
    for (name, target) in edges {
        set_edge(&mut lock, 0, name, follows(target));
    }
    lock
}

/// Builds fixture D7's graph, adding the nodes in an order unlike the key order.
fn d7_built() -> LockFile {
    let git = |_: ()| {
        node(
            json!({"lastModified": 1_700_000_000, "narHash": NAR_DEP2, "ref": "main",
                   "rev": REV2, "revCount": 1, "type": "git", "url": "file:///tmp/demo/dep2"}),
            json!({"type": "git", "url": "file:///tmp/demo/dep2"}),
        )
    };
    let mut lock = LockFile::default();
    let mid_dep1 = lock.add(path_node("/tmp/demo/dep1", 1_700_000_000, NAR_DEP1));
    let mut mid = git(());
    mid.inputs.insert("dep1".into(), Edge::Node(mid_dep1));
    let mid = lock.add(mid);
    let mut dep2 = git(());
    dep2.inputs.insert("dep1".into(), follows(&["dep1"]));
    let dep2 = lock.add(dep2);
    let mut data = path_node("/tmp/demo/data", 1_700_000_000, NAR_DATA);
    if let Some(l) = &mut data.locked {
        l.is_flake = false;
    }
    let data = lock.add(data);
    let dep1 = lock.add(path_node("/tmp/demo/dep1", 1_700_000_000, NAR_DEP1));
    for (name, id) in [("mid", mid), ("dep2", dep2), ("data", data), ("dep1", dep1)] {
        set_edge(&mut lock, 0, name, Edge::Node(id));
    }
    lock
}

#[test]
fn d7_round_trips_byte_identically() {
    let lock = parse_ok(D7);
    assert_eq!(lock.to_text(), D7);
    // root plus five nodes; the shared follows adds no node.
    assert_eq!(lock.nodes.len(), 6);
    assert_eq!(
        lock.to_json(),
        serde_json::from_str::<Value>(D7).unwrap_or_default()
    );
    assert_eq!(
        lock.check_locked(false, true).map_err(|e| e.to_string()),
        Ok(vec![])
    );
    assert_eq!(lock.check().map_err(|e| e.to_string()), Ok(()));
}

#[test]
fn d7_built_programmatically_gives_the_same_bytes() {
    let built = d7_built();
    assert_eq!(built.to_text(), D7);
    assert_eq!(built.to_json(), parse_ok(D7).to_json());
    let keys = built.node_keys();
    assert_eq!(keys[&1], "dep1_2");
    assert_eq!(keys[&2], "mid");
    assert_eq!(keys[&5], "dep1");
    assert_eq!(keys[&0], "root");
}

/// Spec B3.7: the lock file of `sub2` in Nix's `relative-paths.sh`.
const RELATIVE: &str = r#"{"nodes":{"root":{"inputs":{"root":"root_2","sub1":"sub1"}},
 "root_2":{"inputs":{"sub0":"sub0"},"locked":{"path":"..","type":"path"},"original":{"path":"..","type":"path"},"parent":[]},
 "root_3":{"inputs":{"sub0":"sub0_2"},"locked":{"path":"../","type":"path"},"original":{"path":"../","type":"path"},"parent":["sub1"]},
 "sub0":{"locked":{"path":"sub0","type":"path"},"original":{"path":"sub0","type":"path"},"parent":["root"]},
 "sub0_2":{"locked":{"path":"sub0","type":"path"},"original":{"path":"sub0","type":"path"},"parent":["sub1","root"]},
 "sub1":{"inputs":{"root":"root_3"},"locked":{"path":"../sub1","type":"path"},"original":{"path":"../sub1","type":"path"},"parent":[]}},
 "root":"root","version":7}"#;

#[test]
fn relative_paths_vector_round_trips() {
    let value: Value = serde_json::from_str(RELATIVE).unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
    assert!(pretty.contains("\"parent\": []"), "{pretty}");
    let lock = parse_ok(&pretty);
    assert_eq!(lock.to_text(), pretty);
    assert_eq!(lock.to_json(), value);

    let sub0_2 = lock
        .resolve(&path(&["sub1", "root", "sub0"]))
        .ok()
        .flatten();
    let parent = sub0_2
        .and_then(|id| lock.locked(id))
        .and_then(|l| l.parent.clone());
    assert_eq!(parent, Some(path(&["sub1", "root"])));
    let root_2 = lock.resolve(&path(&["root"])).ok().flatten();
    let parent = root_2
        .and_then(|id| lock.locked(id))
        .and_then(|l| l.parent.clone());
    assert_eq!(parent, Some(vec![]));

    // Relative inputs are neither locked nor an error.
    assert_eq!(
        lock.check_locked(false, true).map_err(|e| e.to_string()),
        Ok(vec![])
    );
    assert_eq!(lock.find_unlocked(true), None);
}

#[test]
fn version_5_merges_info_into_locked() {
    let v5 = json!({
        "nodes": {
            "dep": {
                "info": {"lastModified": 1_700_000_000, "narHash": NAR_DEP1},
                "locked": {"path": "/d", "type": "path"},
                "original": {"path": "/d", "type": "path"}
            },
            "root": {"inputs": {"dep": "dep"}}
        },
        "root": "root",
        "version": 5
    });
    let lock = parse_ok(&v5.to_string());
    let want = json!({
        "nodes": {
            "dep": {
                "locked": {"lastModified": 1_700_000_000, "narHash": NAR_DEP1, "path": "/d", "type": "path"},
                "original": {"path": "/d", "type": "path"}
            },
            "root": {"inputs": {"dep": "dep"}}
        },
        "root": "root",
        "version": 7
    });
    assert_eq!(lock.to_json(), want);
}

#[test]
fn version_6_is_read_and_written_as_7() {
    let v6 = D7.replace("\"version\": 7", "\"version\": 6");
    assert_ne!(v6, D7);
    assert_eq!(parse_ok(&v6).to_text(), D7);
}

#[test]
fn unsupported_versions() {
    assert_eq!(
        parse_err(r#"{"nodes": {"root": {}}, "root": "root", "version": 4}"#),
        "lock file '/f/flake.lock' has unsupported version 4"
    );
    assert_eq!(
        parse_err(r#"{"nodes": {"root": {}}, "root": "root", "version": 8}"#),
        "lock file '/f/flake.lock' has unsupported version 8"
    );
    assert_eq!(
        parse_err(r#"{"nodes": {"root": {}}, "root": "root"}"#),
        "lock file '/f/flake.lock' has unsupported version 0"
    );
}

#[test]
fn json_syntax_error() {
    let e = parse_err("{\"nodes\": ");
    assert!(e.starts_with("Could not parse '/f/flake.lock': "), "{e}");
}

#[test]
fn missing_node() {
    assert_eq!(
        parse_err(
            r#"{"nodes": {"root": {"inputs": {"a": "nope"}}}, "root": "root", "version": 7}"#
        ),
        "lock file references missing node 'nope'"
    );
}

#[test]
fn cycle_to_root() {
    let text = json!({
        "nodes": {
            "a": {
                "inputs": {"back": "root"},
                "locked": {"narHash": NAR_DEP1, "path": "/a", "type": "path"},
                "original": {"path": "/a", "type": "path"}
            },
            "root": {"inputs": {"a": "a"}}
        },
        "root": "root",
        "version": 7
    });
    assert_eq!(
        parse_err(&text.to_string()),
        "lock file contains cycle to root node"
    );
}

#[test]
fn unreachable_nodes_are_dropped_and_shared_nodes_loaded_once() {
    let text = json!({
        "nodes": {
            "a": {
                "inputs": {"s": "shared"},
                "locked": {"narHash": NAR_DEP1, "path": "/a", "type": "path"},
                "original": {"path": "/a", "type": "path"}
            },
            "shared": {
                "locked": {"narHash": NAR_DEP1, "path": "/s", "type": "path"},
                "original": {"path": "/s", "type": "path"}
            },
            "orphan": {
                "locked": {"narHash": NAR_DEP1, "path": "/o", "type": "path"},
                "original": {"path": "/o", "type": "path"}
            },
            "root": {"inputs": {"a": "a", "s": "shared"}}
        },
        "root": "root",
        "version": 7
    });
    let lock = parse_ok(&text.to_string());
    assert_eq!(lock.nodes.len(), 3);
    let a = match edge(&lock, lock.root, "a") {
        Edge::Node(id) => id,
        e => panic!("{e:?}"),
    };
    assert_eq!(edge(&lock, a, "s"), edge(&lock, lock.root, "s"));
    let out = lock.to_json();
    assert!(out["nodes"].get("orphan").is_none());
    // Keys are assigned anew: the shared node is first reached as `a/s`.
    let keys: Vec<&String> = out["nodes"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["a", "root", "s"]);
    // The shared node's inputs are listed once, under the first path that reaches it.
    let all: Vec<String> = lock.all_inputs().keys().map(|p| p.join("/")).collect();
    assert_eq!(all, ["a", "a/s", "s"]);
}

#[test]
fn unpadded_nar_hash_is_normalised() {
    let unpadded = NAR_DATA.trim_end_matches('=');
    let text = D7.replacen(NAR_DATA, unpadded, 1);
    assert_ne!(text, D7);
    let lock = parse_ok(&text);
    assert_eq!(lock.to_text(), D7);
}

#[test]
fn nar_hash_must_be_sha256() {
    let text = D7.replacen(NAR_DATA, "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=", 1);
    assert_eq!(parse_err(&text), "narHash must use SHA-256");
    let text = D7.replacen(NAR_DATA, "sha256-xyz", 1);
    assert_eq!(parse_err(&text), "invalid SRI hash 'sha256-xyz'");
}

#[test]
fn bad_attribute_type() {
    let text = D7.replacen("\"revCount\": 1", "\"revCount\": [1]", 1);
    assert_eq!(
        parse_err(&text),
        "unsupported input attribute type in lock file"
    );
    let text = D7.replacen("\"revCount\": 1", "\"revCount\": null", 1);
    assert_eq!(
        parse_err(&text),
        "unsupported input attribute type in lock file"
    );
}

#[test]
fn missing_locked_and_bad_flake_flag() {
    let text = json!({
        "nodes": {"a": {"original": {"path": "/a", "type": "path"}}, "root": {"inputs": {"a": "a"}}},
        "root": "root", "version": 7
    });
    assert_eq!(
        parse_err(&text.to_string()),
        "attribute 'locked' missing in lock file"
    );
    let text = D7.replacen("\"flake\": false", "\"flake\": 0", 1);
    assert_eq!(
        parse_err(&text),
        "[json.exception.type_error.302] type must be boolean, but is number"
    );
}

#[test]
fn unlocked_nodes() {
    let git_unlocked = json!({
        "nodes": {
            "a": {
                "locked": {"type": "git", "url": "file:///x"},
                "original": {"type": "git", "url": "file:///x"}
            },
            "root": {"inputs": {"a": "a"}}
        },
        "root": "root", "version": 7
    });
    let lock = parse_ok(&git_unlocked.to_string());
    assert_eq!(
        lock.check_locked(false, true).map_err(|e| e.to_string()),
        Err(
            "Lock file contains unlocked input '{\"type\":\"git\",\"url\":\"file:///x\"}'. \
             Use '--allow-dirty-locks' to accept this lock file."
                .to_owned()
        )
    );
    assert_eq!(lock.find_unlocked(true), Some(path(&["a"])));

    let mut with_hash = git_unlocked.clone();
    with_hash["nodes"]["a"]["locked"]["narHash"] = json!(NAR_DEP2);
    let lock = parse_ok(&with_hash.to_string());
    let warnings = lock
        .check_locked(false, true)
        .unwrap_or_else(|e| panic!("{e}"));
    // Git URLs show only `ref` and `rev`.
    assert_eq!(
        warnings,
        [
            "Lock file entry 'git+file:///x' is unlocked (e.g. lacks a Git revision) but is checked \
          by NAR hash. This is not reproducible and will break after garbage collection or when \
          shared."
        ]
    );
    assert_eq!(lock.find_unlocked(true), Some(path(&["a"])));
    assert_eq!(lock.find_unlocked_ref(true, true), None);
}

#[test]
fn follows_resolve_through_follows() {
    let mut lock = LockFile::default();
    let b = lock.add(path_node("/b", 1, NAR_DEP1));
    let mut a = path_node("/a", 1, NAR_DEP1);
    a.inputs.insert("b".into(), Edge::Node(b));
    a.inputs.insert("self".into(), follows(&[]));
    let a = lock.add(a);
    set_edge(&mut lock, 0, "a", Edge::Node(a));
    set_edge(&mut lock, 0, "c", follows(&["a"]));
    set_edge(&mut lock, 0, "d", follows(&["c", "b"]));
    let r = |p: &[&str]| lock.resolve(&path(p)).map_err(|e| e.to_string());
    assert_eq!(r(&[]), Ok(Some(0)));
    assert_eq!(r(&["a"]), Ok(Some(a)));
    assert_eq!(r(&["c"]), Ok(Some(a)));
    assert_eq!(r(&["d"]), Ok(Some(b)));
    assert_eq!(r(&["c", "b"]), Ok(Some(b)));
    assert_eq!(r(&["d", "x"]), Ok(None));
    assert_eq!(r(&["a", "self", "d"]), Ok(Some(b)));
    assert_eq!(r(&["nope"]), Ok(None));
    assert_eq!(lock.check().map_err(|e| e.to_string()), Ok(()));
}

#[test]
fn follow_cycle_message_as_in_nix_tests() {
    // foo.follows = "bar"; bar.follows = "baz"; baz.follows = "foo";
    let lock = follows_lock(&[("foo", &["bar"]), ("bar", &["baz"]), ("baz", &["foo"])]);
    assert_eq!(
        lock.check().map_err(|e| e.to_string()),
        Err("follow cycle detected: [baz -> foo -> bar -> baz]".to_owned())
    );
    assert_eq!(
        lock.resolve(&path(&["foo"])).map_err(|e| e.to_string()),
        Err("follow cycle detected: [foo -> bar -> baz -> foo]".to_owned())
    );
    let lock = follows_lock(&[("a", &["a"])]);
    assert_eq!(
        lock.check().map_err(|e| e.to_string()),
        Err("follow cycle detected: [a -> a]".to_owned())
    );
}

#[test]
fn follows_a_non_existent_input() {
    let mut lock = d7_built();
    let dep2 = match lock.resolve(&path(&["dep2"])) {
        Ok(Some(id)) => id,
        other => panic!("{other:?}"),
    };
    set_edge(&mut lock, dep2, "dep1", follows(&["nope", "x"]));
    assert_eq!(
        lock.check().map_err(|e| e.to_string()),
        Err("input 'dep2/dep1' follows a non-existent input 'nope/x'".to_owned())
    );
    // An empty follows path (the root flake) always exists.
    set_edge(&mut lock, dep2, "dep1", follows(&[]));
    assert_eq!(lock.check().map_err(|e| e.to_string()), Ok(()));
}

#[test]
fn key_assignment_suffixes_and_root_input() {
    let mut lock = LockFile::default();
    let inner_root = lock.add(path_node("/r2", 1, NAR_DEP1));
    let x2 = lock.add(path_node("/x2", 1, NAR_DEP1));
    let x3 = lock.add(path_node("/x3", 1, NAR_DEP1));
    let mut a = path_node("/a", 1, NAR_DEP1);
    a.inputs.insert("x".into(), Edge::Node(x2));
    a.inputs.insert("root".into(), Edge::Node(inner_root));
    let a = lock.add(a);
    let mut b = path_node("/b", 1, NAR_DEP1);
    b.inputs.insert("x".into(), Edge::Node(x3));
    let b = lock.add(b);
    let x = lock.add(path_node("/x", 1, NAR_DEP1));
    set_edge(&mut lock, 0, "a", Edge::Node(a));
    set_edge(&mut lock, 0, "b", Edge::Node(b));
    set_edge(&mut lock, 0, "x", Edge::Node(x));
    set_edge(&mut lock, 0, "x_2", follows(&["a", "x"]));
    let keys = lock.node_keys();
    // Depth first, sorted: a, a/root, a/x, b, b/x, x.
    assert_eq!(keys[&a], "a");
    assert_eq!(keys[&inner_root], "root_2");
    assert_eq!(keys[&x2], "x");
    assert_eq!(keys[&b], "b");
    assert_eq!(keys[&x3], "x_2");
    assert_eq!(keys[&x], "x_3");
    let out = lock.to_json();
    assert_eq!(
        out["nodes"]["root"],
        json!({"inputs": {"a": "a", "b": "b", "x": "x_3", "x_2": ["a", "x"]}})
    );
    assert_eq!(
        out["nodes"]["a"]["inputs"],
        json!({"root": "root_2", "x": "x"})
    );
    // And the file reads back to the same lock.
    let text = lock.to_text();
    assert_eq!(parse_ok(&text).to_text(), text);
}

#[test]
fn root_without_inputs() {
    let lock = LockFile::default();
    assert!(lock.is_empty());
    assert_eq!(
        lock.to_json(),
        json!({"nodes": {"root": {}}, "root": "root", "version": 7})
    );
    let text =
        "{\n  \"nodes\": {\n    \"root\": {}\n  },\n  \"root\": \"root\",\n  \"version\": 7\n}\n";
    assert_eq!(lock.to_text(), text);
    assert_eq!(parse_ok(text), lock);
    // A root key other than "root" is read, and written as "root".
    let other = r#"{"nodes": {"top": {}}, "root": "top", "version": 7}"#;
    assert_eq!(parse_ok(other).to_text(), text);
}

#[test]
fn diff_added_removed_updated_and_follows() {
    let old = parse_ok(D7);
    let mut new = d7_built();
    // dep1: new contents a day later; data: removed; dep2/dep1: now a node; mid/dep1: a follows.
    let dep1 = new.add(path_node("/tmp/demo/dep1", 1_700_086_400, NAR_DATA));
    set_edge(&mut new, 0, "dep1", Edge::Node(dep1));
    new.nodes[0].inputs.remove("data");
    let dep2 = new
        .resolve(&path(&["dep2"]))
        .ok()
        .flatten()
        .unwrap_or_default();
    set_edge(&mut new, dep2, "dep1", Edge::Node(dep1));
    let mid = new
        .resolve(&path(&["mid"]))
        .ok()
        .flatten()
        .unwrap_or_default();
    set_edge(&mut new, mid, "dep1", follows(&["dep1"]));
    let extra = new.add(node(
        json!({"owner": "o", "repo": "r", "rev": REV2, "type": "github"}),
        json!({"owner": "o", "repo": "r", "type": "github"}),
    ));
    set_edge(&mut new, 0, "extra", Edge::Node(extra));

    let q = |h: &str| h.replace('+', "%2B").replace('=', "%3D");
    let want = format!(
        "• Removed input 'data'\n\
         • Updated input 'dep1':\n    \
         'path:/tmp/demo/dep1?lastModified=1700000000&narHash={d1}' (2023-11-14)\n  \
         → 'path:/tmp/demo/dep1?lastModified=1700086400&narHash={d0}' (2023-11-15)\n\
         • Updated input 'dep2/dep1':\n    \
         follows 'dep1'\n  \
         → 'path:/tmp/demo/dep1?lastModified=1700086400&narHash={d0}' (2023-11-15)\n\
         • Added input 'extra':\n    \
         'github:o/r/{REV2}'\n\
         • Updated input 'mid/dep1':\n    \
         'path:/tmp/demo/dep1?lastModified=1700000000&narHash={d1}' (2023-11-14)\n  \
         → follows 'dep1'",
        d1 = q(NAR_DEP1),
        d0 = q(NAR_DATA),
    );
    assert_eq!(diff(&old, &new), want);
    assert_eq!(diff(&old, &old), "");
    assert_eq!(diff(&old, &d7_built()), "");
}

#[test]
fn diff_from_and_to_an_empty_lock() {
    let lock = parse_ok(D7);
    let empty = LockFile::default();
    let added = diff(&empty, &lock);
    assert!(
        added.starts_with(&format!(
            "• Added input 'data':\n    'path:/tmp/demo/data?lastModified=1700000000&narHash={}' (2023-11-14)\n",
            NAR_DATA.replace('=', "%3D")
        )),
        "{added}"
    );
    assert!(
        added.contains("• Added input 'dep2/dep1':\n    follows 'dep1'\n"),
        "{added}"
    );
    assert!(
        added.ends_with("• Added input 'mid/dep1':\n    'path:/tmp/demo/dep1?lastModified=1700000000&narHash=sha256-j6tWX3GWsSJY3dxC%2Bkq/JLuXlMembNGvHeY9D7t3W1o%3D' (2023-11-14)"),
        "{added}"
    );
    assert_eq!(added.matches("• Added input").count(), 6);
    assert_eq!(
        diff(&lock, &empty),
        "• Removed input 'data'\n• Removed input 'dep1'\n• Removed input 'dep2'\n\
         • Removed input 'dep2/dep1'\n• Removed input 'mid'\n• Removed input 'mid/dep1'"
    );
}

#[test]
fn utc_dates() {
    assert_eq!(utc_date(0), "1970-01-01");
    assert_eq!(utc_date(1_700_000_000), "2023-11-14");
    assert_eq!(utc_date(951_782_400), "2000-02-29");
    assert_eq!(utc_date(951_868_799), "2000-02-29");
    assert_eq!(utc_date(951_868_800), "2000-03-01");
    assert_eq!(utc_date(1_709_251_199), "2024-02-29");
    assert_eq!(utc_date(4_102_444_800), "2100-01-01");
    assert_eq!(utc_date(253_402_300_799), "9999-12-31");
}

#[test]
fn locked_final_marker_is_not_written() {
    let mut lock = d7_built();
    let dep1 = lock
        .resolve(&path(&["dep1"]))
        .ok()
        .flatten()
        .unwrap_or_default();
    if let Some(l) = lock.nodes[dep1].locked.as_mut() {
        l.locked.input = l.locked.input.make_final();
    }
    assert_eq!(lock.to_text(), D7);
    assert_eq!(diff(&parse_ok(D7), &lock), "");
}
