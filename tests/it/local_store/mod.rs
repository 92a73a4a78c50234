//! The local store against Nix 2.8 on the same directories: what rflake adds, Nix accepts as
//! valid (and the other way round), store paths agree on awkward trees, and bad or concurrent
//! adds leave the store consistent.

// `allow-unwrap-in-tests` covers only `#[test]` functions; in helpers, too, a failed unwrap is a
// test failure.
#![allow(clippy::unwrap_used)]

mod failures;
mod interop;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use rflake::store::local::{LocalStore, Options};

use crate::support::TestEnv;

/// Returns whether Nix is there; without it the test is skipped, except under `CI`, where a
/// missing oracle is a failure (as for the differential tests).
pub(super) fn have_nix() -> bool {
    crate::support::require_nix()
}

/// Runs `nix`-suite `program` with `args` in `env` and returns its output.
pub(super) fn run(env: &TestEnv, program: &str, args: &[&str]) -> Output {
    env.command(program).args(args).output().unwrap()
}

/// Runs `program` and returns its stdout, failing the test with stderr if it fails.
pub(super) fn ok(env: &TestEnv, program: &str, args: &[&str]) -> String {
    let out = run(env, program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(super) fn open(root: &Path) -> LocalStore {
    let mut opts = Options::new(Some(root.to_owned()));
    opts.clock = Arc::new(|| 1_700_000_000);
    LocalStore::open(opts).unwrap()
}

pub(super) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `nix path-info --json` of `path` in the store rooted at `root`, as (narHash, narSize, ca).
pub(super) fn nix_path_info(
    env: &TestEnv,
    root: &Path,
    path: &str,
) -> (String, u64, Option<String>) {
    let json = ok(
        env,
        "nix",
        &["path-info", "--store", s(root), "--json", path],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let info = &v[0];
    (
        info["narHash"].as_str().unwrap().to_owned(),
        info["narSize"].as_u64().unwrap(),
        info["ca"].as_str().map(str::to_owned),
    )
}

/// Writes a small tree with a file, an executable, a symlink and a subdirectory.
pub(super) fn small_tree(dir: &Path) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    fs::write(dir.join("sub/run"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(dir.join("sub/run"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("../flake.nix", dir.join("sub/link")).unwrap();
}

/// Lists the entries of the real store directory, except `.links`.
pub(super) fn store_entries(root: &Path) -> BTreeSet<String> {
    fs::read_dir(root.join("nix/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".links")
        .collect()
}
