//! `flake prefetch` of git inputs (spec §7.3): work trees, commit mode on local repositories,
//! remote repositories through the clone cache (`file://` bare repositories, `git daemon`,
//! smart HTTP), `shallow`, `allRefs`, submodules, `exportIgnore`, the TTL of cached refs,
//! `--refresh` and `--offline`; and Nix 2.8 as the oracle for store paths and NAR hashes.
//!
//! The fixtures have fixed identities and dates, so revisions, NAR hashes and store paths are
//! asserted verbatim. Nix 2.8 records short ref names and no `dirtyRev` (spec Part 8 item 10),
//! so only `storePath` and `hash` are compared with it.

// Helpers unwrap too: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used)]

mod commit;
mod oracle;
mod remote;
mod workdir;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::support::{CommandOutput, TestEnv};

/// Runs `rflake flake prefetch --json <url>` plus `extra` arguments.
fn prefetch(env: &TestEnv, url: &str, extra: &[&str]) -> CommandOutput {
    let mut args = vec!["flake", "prefetch", "--json", url];
    args.extend_from_slice(extra);
    env.run(&args)
}

/// Runs a prefetch that must succeed and returns its JSON.
fn prefetch_json(env: &TestEnv, url: &str, extra: &[&str]) -> Value {
    let out = prefetch(env, url, extra);
    assert!(out.success(), "prefetch {url} {extra:?} failed:\n{out}");
    serde_json::from_str(out.stdout()).unwrap()
}

/// Returns the `locked` attributes of a prefetch result as pretty JSON (for snapshots).
fn locked(v: &Value) -> String {
    serde_json::to_string_pretty(&v["locked"]).unwrap()
}

/// Lists the tree of the store path in `v` (`storePath`): one line per entry, `d` directory,
/// `f` file, `x` executable, `l` symlink (with its target), and file contents.
fn tree(env: &TestEnv, v: &Value) -> String {
    let store_path = v["storePath"].as_str().unwrap();
    let real = env.path("store").join(store_path.trim_start_matches('/'));
    let mut out = String::new();
    list(&real, Path::new(""), &mut out);
    out
}

fn list(dir: &Path, rel: &Path, out: &mut String) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let child = rel.join(e.file_name());
        let meta = e.path().symlink_metadata().unwrap();
        let name = child.display();
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(e.path()).unwrap();
            writeln!(out, "l {name} -> {}", target.display()).unwrap();
        } else if meta.is_dir() {
            writeln!(out, "d {name}").unwrap();
            list(&e.path(), &child, out);
        } else {
            let kind = if meta.permissions().mode() & 0o100 != 0 {
                "x"
            } else {
                "f"
            };
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            writeln!(out, "{kind} {name}: {}", text.trim_end()).unwrap();
        }
    }
}
