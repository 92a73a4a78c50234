//! Binary cache stores (`file://`, `http://`) through the library, against Nix 2.8: caches
//! rflake writes are read by `nix copy`/`nix path-info`/`nix store verify`, caches Nix writes
//! are read by rflake, and bad caches are rejected with clear errors.
//!
//! Fixtures are fixed, so store paths, `NarHash`es and `NarSize`s are asserted verbatim;
//! `FileHash`/`FileSize` of compressed NARs are not reproducible across compressors and are
//! checked against the files instead.

// `allow-unwrap-in-tests` covers only `#[test]` functions; in helpers, too, a failed unwrap is a
// test failure.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod http;
mod nix_interop;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use rflake::hash::{Algo, Hash};
use rflake::report::Silent;
use rflake::store::binary_cache::{self, BinaryCacheStore, OpenOptions};
use rflake::store::path::References;
use rflake::store::{PathInfo, StoreDir, StorePath};

use crate::support::{CommandOutput, TestEnv};

/// Tree T1 of spec A2.3 added as `source` (spec A3.3 example 1).
const T1_PATH: &str = "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source";
const T1_NAR_SRI: &str = "sha256-DrMiADyRZ+5lVQCg+vMxP3V26dohV3KOPuZmaIZt8Og=";
const T1_NAR_NIX32: &str = "1s7hdn36hrp67s774mr1vblpcx9z67rzm800amjywrwi7h025cqf";
const T1_NAR_SIZE: u64 = 1264;

/// The spec's demo-1 key (A5.4).
pub(crate) const DEMO_SECRET: &str = "demo-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA==";
pub(crate) const DEMO_PUBLIC: &str = "demo-1:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";

/// The NAR compressions every test round covers, with their file extensions.
const COMPRESSIONS: [(&str, &str); 4] = [
    ("xz", ".xz"),
    ("zstd", ".zst"),
    ("bzip2", ".bz2"),
    ("none", ""),
];

/// Returns a `TestEnv` for a test that needs `nix`, or `None` (after a note) when it is missing.
/// Under `CI` a missing `nix` fails instead: the oracle must not silently vanish.
fn nix_env() -> Option<TestEnv> {
    crate::support::require_nix().then(TestEnv::new)
}

/// Runs `nix` with `args` in `env`, asserting success.
fn nix_ok(env: &TestEnv, args: &[&str]) -> CommandOutput {
    let out = env.run_nix(args);
    assert!(out.success(), "nix {}:\n{out}", args.join(" "));
    out
}

/// Writes tree T1 (spec A2.3) at `<root>/work/t1` and returns its path.
fn write_t1(env: &TestEnv) -> PathBuf {
    let files = [
        ("t1/B", "B", 0o644),
        ("t1/a.txt", "hello\n", 0o644),
        ("t1/run.sh", "#!/bin/sh\necho hi\n", 0o755),
        ("t1/sub/empty", "", 0o644),
    ];
    for (rel, contents, mode) in files {
        let p = env.path("work").join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::os::unix::fs::symlink("a.txt", env.path("work/t1/link")).unwrap();
    env.path("work/t1")
}

/// Returns the NAR of `path` as `nix-store --dump` writes it.
fn nix_dump(env: &TestEnv, path: &Path) -> Vec<u8> {
    let out = env
        .command("nix-store")
        .arg("--dump")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Returns the path info of T1: content-addressed (as `nix store add-path` makes it) or not.
fn t1_info(ca: bool) -> PathInfo {
    let h = Hash::parse_sri(T1_NAR_SRI).unwrap();
    let mut info = PathInfo::source(StoreDir::default().parse(T1_PATH).unwrap(), h, T1_NAR_SIZE);
    if !ca {
        info.ca = None;
    }
    info
}

/// Appends a NAR string: length, bytes, zero padding to 8.
fn nar_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s);
    out.resize(out.len().next_multiple_of(8), 0);
}

/// Returns the NAR of a single regular file with `contents` (spec A2.3 grammar).
fn file_nar(contents: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    for tok in ["nix-archive-1", "(", "type", "regular", "contents"] {
        nar_str(&mut out, tok.as_bytes());
    }
    nar_str(&mut out, contents);
    nar_str(&mut out, b")");
    out
}

/// Returns the NAR of a file containing `hello\n` and its path info as a content-addressed
/// source named `hello`.
fn hello() -> (Vec<u8>, PathInfo) {
    let nar = file_nar(b"hello\n");
    let h = Hash::digest(Algo::Sha256, &nar);
    let dir = StoreDir::default();
    let path = dir
        .make_source_path(&h, "hello", &References::default())
        .unwrap();
    let info = PathInfo::source(path, h, nar.len() as u64);
    (nar, info)
}

#[test]
fn fixtures_match_the_spec() {
    let env = TestEnv::new();
    let mut t1 = vec![];
    rflake::store::nar::dump(&write_t1(&env), &mut t1).unwrap();
    assert_eq!(Hash::digest(Algo::Sha256, &t1).to_sri(), T1_NAR_SRI);
    assert_eq!(t1.len() as u64, T1_NAR_SIZE);

    let (nar, info) = hello();
    // `nix store add-path --name hello` of the file gives the same path.
    assert_eq!(nar.len(), 120);
    assert_eq!(
        info.nar_hash.to_nix32(),
        "04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw"
    );
    assert_eq!(
        StoreDir::default().print(&info.path),
        "/nix/store/gwina1sjk7g95wq6fxc6b7s1hza53h74-hello"
    );
}

/// Returns `file://<dir>?<query>` (no `?` with an empty query).
fn file_uri(dir: &Path, query: &str) -> String {
    let sep = if query.is_empty() { "" } else { "?" };
    format!("file://{}{sep}{query}", dir.display())
}

/// Opens the binary cache `uri` with the default store dir.
fn open(uri: &str) -> BinaryCacheStore {
    binary_cache::open(uri, OpenOptions::default(), &Silent)
        .unwrap_or_else(|e| panic!("opening {uri}: {e:#}"))
}

/// Returns the base name of a full `/nix/store` path.
fn store_path(full: &str) -> StorePath {
    StoreDir::default().parse(full).unwrap()
}

/// Returns `key: value` of the `.narinfo` text `text`.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {key} in\n{text}"))
}
