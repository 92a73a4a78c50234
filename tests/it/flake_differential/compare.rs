//! Comparing what the two tools wrote and printed, modulo the documented differences between
//! Nix 2.8 and current Nix (spec E1), which rflake follows.

use std::collections::BTreeSet;

use serde_json::Value;

use super::fixture::MTIME;

/// Renders a lock file the way both Nix versions write it (spec C3): keys sorted, 2-space
/// indentation, one final newline. `serde_json`'s `Value` keeps keys sorted (no
/// `preserve_order`), and its pretty printer writes `{}`/`[]` inline like Nix.
pub fn render_lock(lock: &Value) -> String {
    let mut text = serde_json::to_string_pretty(lock).unwrap();
    text.push('\n');
    text
}

/// Rewrites a lock file written by current Nix into what Nix 2.8 writes for the same graph.
/// These are the only rewrites, each a documented difference:
///
/// - git nodes: `locked.ref` is the full ref (`refs/heads/master`) in current Nix and the short
///   name (`master`) in 2.8 (spec C1, E1 "Locked git `ref`"; fetchers spec Part 8 item 10);
/// - tarball nodes: current Nix records `locked.lastModified` (the newest mtime in the archive,
///   here [`MTIME`]); 2.8 records none (fetchers spec §7.5.4 and Part 8 item 9).
///
/// The tarball rewrite first asserts that rflake's value is the current one; see
/// [`assert_full_git_refs`] for the git one.
pub fn as_written_by_nix_2_8(lock: &Value) -> Value {
    let mut lock = lock.clone();
    let nodes = lock["nodes"].as_object_mut().unwrap();
    for (key, node) in nodes.iter_mut() {
        let Some(locked) = node.get_mut("locked").and_then(Value::as_object_mut) else {
            continue;
        };
        match locked["type"].as_str() {
            Some("git") => {
                // A node kept from a lock file 2.8 wrote keeps its short ref.
                if let Some(r) = locked.get_mut("ref") {
                    let full = r.as_str().unwrap().to_owned();
                    if let Some(short) = full.strip_prefix("refs/heads/") {
                        *r = Value::from(short);
                    }
                }
            }
            Some("tarball") => {
                let last_modified = locked.remove("lastModified");
                assert_eq!(
                    last_modified,
                    Some(Value::from(MTIME)),
                    "node {key}: a locked tarball records the newest mtime of its entries"
                );
            }
            _ => {}
        }
    }
    lock
}

/// Asserts that every locked git node of a freshly created lock file has a full ref
/// (`refs/heads/…`), as current Nix writes for a local work tree (spec C1).
pub fn assert_full_git_refs(lock: &str) {
    let lock: Value = serde_json::from_str(lock).unwrap();
    for (key, node) in lock["nodes"].as_object().unwrap() {
        if node["locked"]["type"] == "git" {
            let r = node["locked"]["ref"].as_str().unwrap_or_default();
            assert!(r.starts_with("refs/heads/"), "node {key}: locked ref {r:?}");
        }
    }
}

/// Asserts that rflake's lock file is in the canonical format (C3) and, modulo
/// [`as_written_by_nix_2_8`], byte-identical to Nix 2.8's. Returns whether the two files are
/// byte-identical as they are (no documented difference applies to the graph).
pub fn assert_same_lock(ours: &str, nix: &str) -> bool {
    let parsed: Value = serde_json::from_str(ours).unwrap();
    assert_eq!(
        ours,
        render_lock(&parsed),
        "rflake's flake.lock (left) is not in the canonical format of spec C3"
    );
    let as_2_8 = render_lock(&as_written_by_nix_2_8(&parsed));
    assert_eq!(
        as_2_8, nix,
        "rflake's flake.lock, rewritten as 2.8 writes it (left), and Nix 2.8's (right)"
    );
    ours == nix
}

/// Parses rflake's `flake archive --json` output, asserting the current format (spec D3):
/// compact, keys sorted (`inputs` before `path`), one final newline.
pub fn current_json(stdout: &str) -> Value {
    let value: Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("rflake's --json output is not JSON ({e}): {stdout:?}"));
    let mut compact = serde_json::to_string(&value).unwrap();
    compact.push('\n');
    assert_eq!(
        stdout, compact,
        "rflake's --json output is compact, sorted, one newline"
    );
    value
}

/// Parses Nix 2.8's `flake archive --json` output (`path` before `inputs`, no newline: only the
/// parsed values are compared, spec E1).
pub fn nix_json(stdout: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("Nix's --json output is not JSON ({e}): {stdout:?}"))
}

/// Returns `json` without the root's `path` (which hashes the root's `flake.lock`).
pub fn without_root_path(json: &Value) -> Value {
    let mut json = json.clone();
    json.as_object_mut().unwrap().remove("path");
    json
}

/// Returns the store paths (base names) listed anywhere in an archive JSON.
pub fn json_paths(json: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_paths(json, &mut out);
    out
}

fn collect_paths(json: &Value, out: &mut BTreeSet<String>) {
    if let Some(p) = json["path"].as_str() {
        out.insert(p.strip_prefix("/nix/store/").unwrap().to_owned());
    }
    if let Some(inputs) = json["inputs"].as_object() {
        for input in inputs.values() {
            collect_paths(input, out);
        }
    }
}

/// Returns the `warning: …lock file…` header of a lock-file message and its `• …` lines (the
/// lines that name input paths, not refs), with the path's quotes turned into `"`: Nix 2.8
/// quotes the path with `'` (spec C5, E1). Refs inside the diff are rendered with different
/// percent-encodings by the two versions and are not compared here.
pub fn message_outline(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(" lock file ") || l.starts_with("• "))
        .map(|l| {
            if l.contains(" lock file '") {
                let (head, rest) = l.split_once(" lock file '").unwrap();
                let (path, tail) = rest.rsplit_once('\'').unwrap();
                format!("{head} lock file \"{path}\"{}", tail.trim_end())
            } else {
                l.trim_end().to_owned()
            }
        })
        .collect()
}
