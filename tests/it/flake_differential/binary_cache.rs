//! `flake archive --to file://…`: with `compression=none` (deterministic) and a key made by
//! `nix key generate-secret`, rflake's cache is file-for-file Nix 2.8's (narinfos with their
//! `Sig` lines, NARs, `nix-cache-info`); and Nix 2.8 copies from rflake's caches (signed or not,
//! xz-compressed by default) into a fresh store that `nix store verify` accepts.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::compare::{json_paths, nix_json};
use super::fixture::Graph;
use super::graphs::d7_shape;
use crate::support::CommandOutput;

/// Returns every file under `dir` (relative path → bytes), leaving out the realisations
/// directory, which 2.8 calls `realisations/` and current Nix `build-trace-v2/` (spec A5.1).
fn cache_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if rel == "realisations" || rel == "build-trace-v2" {
                continue;
            }
            if p.is_dir() {
                todo.push(p);
            } else {
                files.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

/// Returns the `copying …` lines of a `--to` run, sorted (paths are copied in parallel, in no
/// fixed order), with the cache's URL (`file://$TEST_ENV/<name>`) replaced by `$CACHE`.
fn copy_lines(out: &CommandOutput, name: &str) -> Vec<String> {
    let mut lines: Vec<String> = out
        .stderr()
        .replace(&format!("'file://$TEST_ENV/{name}'"), "'$CACHE'")
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Runs `nix` with `args`, asserting success.
fn nix_ok(g: &Graph, args: &[&str]) -> CommandOutput {
    let out = g.env().run_nix(args);
    assert!(out.success(), "nix {}:\n{out}", args.join(" "));
    out
}

/// `nix path-info --json` of `paths` in `store`, reduced to what a copy must preserve.
fn path_infos(g: &Graph, store: &str, paths: &[String]) -> Vec<Value> {
    let args = [
        &["path-info", "--json", "--store", store][..],
        &paths.iter().map(String::as_str).collect::<Vec<_>>(),
    ]
    .concat();
    let out = nix_ok(g, &args);
    let infos: Vec<Value> = serde_json::from_str(out.stdout()).unwrap();
    infos
        .iter()
        .map(|i| {
            serde_json::json!({
                "path": i["path"], "narHash": i["narHash"], "narSize": i["narSize"],
                "ca": i["ca"], "references": i["references"],
            })
        })
        .collect()
}

/// Copies `paths` from the cache at `from` into the fresh local store `stores/<to>` with Nix 2.8
/// (`--no-check-sigs`), verifies that store, and checks the copies against Nix's own store.
fn nix_reads_cache(g: &Graph, from: &str, to: &str, paths: &[String]) {
    let dst = g.store_dir(to).display().to_string();
    let args = [
        &["copy", "--no-check-sigs", "--from", from, "--to", &dst][..],
        &paths.iter().map(String::as_str).collect::<Vec<_>>(),
    ]
    .concat();
    nix_ok(g, &args);
    nix_ok(g, &["store", "verify", "--store", &dst, "--all"]);
    let nix_store = g.store_dir("nix").display().to_string();
    assert_eq!(
        path_infos(g, &dst, paths),
        path_infos(g, &nix_store, paths),
        "copied from {from} (left), archived by Nix 2.8 (right)"
    );
}

#[test]
fn caches_written_by_flake_archive_to() {
    let Some(mut g) = Graph::new() else { return };
    d7_shape(&mut g);
    let locked = g.nix("nix", &["--json"]);
    assert!(locked.success(), "{locked}");
    let paths: Vec<String> = json_paths(&nix_json(locked.stdout()))
        .into_iter()
        .map(|p| format!("/nix/store/{p}"))
        .collect();
    assert_eq!(paths.len(), 4, "root, data, dep1, dep2 = mid");

    let secret = nix_ok(&g, &["key", "generate-secret", "--key-name", "test-1"]);
    g.env().write("test-1.sk", secret.stdout());
    let key = g.env().path("test-1.sk").display().to_string();

    // The same signed, uncompressed cache from both tools (Nix reuses its lock file; rflake
    // reads it unchanged).
    let url = |name: &str| format!("file://{}", g.env().path(name).display());
    let query = format!("?compression=none&secret-key={key}");
    let nix_to = g.nix("nix", &["--to", &format!("{}{query}", url("cache-nix"))]);
    assert!(nix_to.success(), "{nix_to}");
    let ours_to = g.rflake(
        "rflake",
        &[
            "--no-update-lock-file",
            "--to",
            &format!("{}{query}", url("cache-rflake")),
        ],
    );
    assert!(ours_to.success(), "{ours_to}");
    let nix_files = cache_files(&g.env().path("cache-nix"));
    let our_files = cache_files(&g.env().path("cache-rflake"));
    assert_eq!(
        our_files.keys().collect::<Vec<_>>(),
        nix_files.keys().collect::<Vec<_>>(),
        "files of rflake's cache (left) and Nix 2.8's (right)"
    );
    for (name, bytes) in &nix_files {
        if name.ends_with(".narinfo") || name == "nix-cache-info" {
            assert_eq!(
                String::from_utf8_lossy(&our_files[name]),
                String::from_utf8_lossy(bytes),
                "{name}: rflake (left), Nix 2.8 (right)"
            );
        } else {
            assert!(our_files[name] == *bytes, "{name} differs");
        }
    }
    let sigs = nix_files
        .iter()
        .filter(|(n, b)| {
            n.ends_with(".narinfo") && String::from_utf8_lossy(b).contains("\nSig: test-1:")
        })
        .count();
    assert_eq!(sigs, 4, "every narinfo is signed");
    assert_eq!(
        copy_lines(&ours_to, "cache-rflake"),
        copy_lines(&nix_to, "cache-nix"),
        "copy messages: rflake (left), Nix 2.8 (right)"
    );
    nix_reads_cache(&g, &url("cache-rflake"), "from-signed", &paths);

    // The default compression (xz), unsigned.
    let plain = g.rflake(
        "rflake",
        &["--no-update-lock-file", "--to", &url("cache-xz")],
    );
    assert!(plain.success(), "{plain}");
    nix_reads_cache(&g, &url("cache-xz"), "from-xz", &paths);
}
