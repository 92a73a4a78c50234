//! `flake prefetch` of tarball, file and forge inputs against a loopback HTTP server: redirects
//! and the lockable tarball protocol, `ETag` revalidation, `tarball-ttl`, `--refresh`,
//! `--offline`, HTTP errors and retries, NAR hash mismatches; and the store paths of Nix 2.8 for
//! the same archives.

// Archive builders and helpers unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod forge;
mod oracle;
mod pin;
mod tls;

use std::collections::BTreeSet;
use std::io::Write as _;

use serde_json::Value;

use crate::support::{CommandOutput, HttpServer, Response, TestEnv};

/// The deterministic archive most tests serve: one top-level directory `proj/` with a file, an
/// executable, an empty directory and a symlink; mtimes 1700000000 and 1700000100.
pub fn sample_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, ty: tar::EntryType, mode: u32, mtime: u64, data: &[u8], link| {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_entry_type(ty);
        h.set_mode(mode);
        h.set_mtime(mtime);
        h.set_size(data.len() as u64);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
        }
        h.set_cksum();
        b.append(&h, data).unwrap();
    };
    let (dir, file, sym) = (
        tar::EntryType::Directory,
        tar::EntryType::Regular,
        tar::EntryType::Symlink,
    );
    add("proj/", dir, 0o755, 1_700_000_000, b"", None);
    add("proj/README", file, 0o644, 1_700_000_000, b"hello\n", None);
    add("proj/bin/", dir, 0o755, 1_700_000_000, b"", None);
    add(
        "proj/bin/run",
        file,
        0o755,
        1_700_000_100,
        b"#!/bin/sh\necho hi\n",
        None,
    );
    add("proj/empty/", dir, 0o755, 1_700_000_000, b"", None);
    add("proj/link", sym, 0o777, 1_700_000_000, b"", Some("README"));
    b.into_inner().unwrap()
}

/// Gzips `data` deterministically.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The NAR hash and store path of [`sample_tar`] unpacked (checked against Nix 2.8 in
/// `oracle.rs`).
pub const SAMPLE_HASH: &str = "sha256-jwJhnbUYVOgXT+MFMmct30vx+VTed1m6RjsNM0h81X0=";
/// See [`SAMPLE_HASH`].
pub const SAMPLE_PATH: &str = "/nix/store/dspzyz8wjig37hyrd0i3qcz9gf9vdza1-source";

/// Runs `rflake flake prefetch --json <args>` and parses stdout when it succeeded.
pub fn prefetch(env: &TestEnv, args: &[&str]) -> (CommandOutput, Value) {
    let mut all = vec!["flake", "prefetch", "--json"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    let json = if out.success() {
        serde_json::from_str(out.stdout()).unwrap_or_else(|e| panic!("{e}: {out}"))
    } else {
        Value::Null
    };
    (out, json)
}

/// Returns the names in the store directory (objects, locks, temporary directories).
pub fn store_entries(env: &TestEnv) -> BTreeSet<String> {
    match std::fs::read_dir(env.path("store/nix/store")) {
        Ok(dir) => dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

fn paths(server: &HttpServer) -> Vec<String> {
    server.requests().into_iter().map(|r| r.path).collect()
}

#[test]
fn redirect_and_link_header_lock_the_immutable_url() {
    let server = HttpServer::start();
    let rev = "0123456789abcdef0123456789abcdef01234567";
    let stable = server.url(&format!("/stable/{rev}.tar.gz"));
    // As in Nix's tarball-flakes test, only the redirect carries the Link header.
    server.route(
        "/latest.tar.gz",
        Response::redirect(302, &format!("/stable/{rev}.tar.gz")).header(
            "Link",
            &format!("<{stable}?rev={rev}&revCount=1234>; rel=\"immutable\""),
        ),
    );
    server.route(
        &format!("/stable/{rev}.tar.gz"),
        Response::ok(gzip(&sample_tar())),
    );
    let env = TestEnv::new();
    let latest = server.url("/latest.tar.gz");
    let (out, json) = prefetch(&env, &[&latest]);
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);
    assert_eq!(json["hash"], SAMPLE_HASH);
    let locked = serde_json::json!({
        "lastModified": 1_700_000_100,
        "narHash": SAMPLE_HASH,
        "rev": rev,
        "revCount": 1234,
        "type": "tarball",
        "url": stable,
    });
    assert_eq!(json["locked"], locked);
    assert_eq!(json["original"]["url"], latest);
    assert_eq!(
        paths(&server),
        ["/latest.tar.gz", &format!("/stable/{rev}.tar.gz")]
    );
    // Every URL of the redirect chain got a cache entry.
    let (out, direct) = prefetch(&env, &[&stable]);
    assert_eq!(direct["storePath"], SAMPLE_PATH, "{out}");
    assert_eq!(server.requests().len(), 2);

    // The requested rev, revCount or narHash are checked against the locked input.
    for query in [
        format!("rev={rev}"),
        "revCount=1234".to_owned(),
        format!(
            "narHash={}",
            SAMPLE_HASH.replace('+', "%2B").replace('=', "%3D")
        ),
    ] {
        let (out, _) = prefetch(&env, &["--refresh", &format!("{latest}?{query}")]);
        assert!(out.success(), "{query}: {out}");
    }
    let wrong = "493300eb13ae6fb387fbd47bf54a85915acc31c0";
    let (out, _) = prefetch(&env, &[&format!("{latest}?rev={wrong}")]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(
        out.stderr()
            .contains(&format!("'rev' attribute mismatch in input '{stable}"))
            && out.stderr().contains(&format!("expected {wrong}")),
        "{out}"
    );
}

#[test]
fn s3_style_link_header() {
    let server = HttpServer::start();
    let immutable = server.url("/v1.tar.gz");
    server.route(
        "/x.tar.gz",
        Response::ok(gzip(&sample_tar())).header(
            "x-amz-meta-link",
            &format!("<{immutable}?lastModified=42>; rel=\"immutable\""),
        ),
    );
    let env = TestEnv::new();
    let (out, json) = prefetch(&env, &[&server.url("/x.tar.gz")]);
    assert!(out.success(), "{out}");
    assert_eq!(json["locked"]["url"], immutable);
    // The immutable URL's own lastModified wins over the archive's.
    assert_eq!(json["locked"]["lastModified"], 42);
}

#[test]
fn link_to_a_non_tarball_is_refused() {
    let server = HttpServer::start();
    server.route(
        "/x.tar.gz",
        Response::ok(gzip(&sample_tar())).header("Link", "<github:NixOS/nix>; rel=\"immutable\""),
    );
    let env = TestEnv::new();
    let (out, _) = prefetch(&env, &[&server.url("/x.tar.gz")]);
    assert!(
        out.stderr()
            .contains("tarball 'Link' headers that redirect to non-tarball URLs are not supported"),
        "{out}"
    );
}

#[test]
fn etag_revalidation_ttl_and_refresh() {
    let server = HttpServer::start();
    server.route(
        "/a.tar.gz",
        Response::ok(gzip(&sample_tar())).header("ETag", "\"v1\""),
    );
    let env = TestEnv::new();
    let url = server.url("/a.tar.gz");
    let (out, first) = prefetch(&env, &[&url]);
    assert!(out.success(), "{out}");
    // Within tarball-ttl: no request at all.
    let (_, again) = prefetch(&env, &[&url]);
    assert_eq!(again, first);
    assert_eq!(server.requests().len(), 1);
    // --refresh and --tarball-ttl 0 revalidate; 304 reuses the cached tree.
    for flags in [&["--refresh"][..], &["--tarball-ttl", "0"][..]] {
        let mut args = flags.to_vec();
        args.push(&url);
        let (out, json) = prefetch(&env, &args);
        assert_eq!(json, first, "{flags:?}: {out}");
    }
    let log = server.requests();
    assert_eq!(log.len(), 3);
    assert!(
        log[1..]
            .iter()
            .all(|r| r.header("If-None-Match") == Some("\"v1\""))
    );
    // A new ETag: the new contents.
    server.route(
        "/a.tar.gz",
        Response::ok(gzip(&[0u8; 1024])).header("ETag", "\"v2\""),
    );
    let (out, json) = prefetch(&env, &["--refresh", &url]);
    assert!(out.success(), "{out}");
    assert_ne!(json["hash"], first["hash"]);
}

#[test]
fn http_errors_and_retries() {
    let server = HttpServer::start();
    let env = TestEnv::new();
    let missing = server.url("/missing.tar.gz");
    let (out, _) = prefetch(&env, &[&missing]);
    assert_eq!(
        out.stderr(),
        format!(
            "error: while fetching the input '{missing}'\ncaused by: unable to download \
             '{missing}': HTTP error 404\n\nresponse body:\n\nnot found\n"
        )
    );
    assert_eq!(server.requests().len(), 1, "404 is not retried");

    server.route("/flaky.tar.gz", Response::status(500));
    let flaky = server.url("/flaky.tar.gz");
    let (out, _) = prefetch(&env, &["--download-attempts", "3", &flaky]);
    assert_eq!(out.status().code(), Some(1));
    let err = format!("unable to download '{flaky}': HTTP error 500");
    assert_eq!(
        out.stderr(),
        format!(
            "warning: {err}; retrying in 250 ms (attempt 1/3)\n\
             warning: {err}; retrying in 500 ms (attempt 2/3)\n\
             error: while fetching the input '{flaky}'\ncaused by: {err}\n"
        )
    );
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn offline_never_touches_the_network() {
    let server = HttpServer::start();
    server.route("/a.tar.gz", Response::ok(gzip(&sample_tar())));
    let env = TestEnv::new();
    let url = server.url("/a.tar.gz");
    let (out, _) = prefetch(&env, &["--offline", &url]);
    assert_eq!(
        out.stderr(),
        format!(
            "error: while fetching the input '{url}'\ncaused by: cannot download '{url}' \
             while offline\n"
        )
    );
    assert!(server.requests().is_empty());
    // Once cached, --offline uses the copy however old it is.
    let (_, first) = prefetch(&env, &[&url]);
    let (out, json) = prefetch(&env, &["--offline", "--tarball-ttl", "0", &url]);
    assert_eq!(json, first, "{out}");
    assert_eq!(server.requests().len(), 1);
    // Without an ETag, revalidating is a plain GET.
    let (out, json) = prefetch(&env, &["--refresh", &url]);
    assert_eq!(json, first, "{out}");
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].header("If-None-Match"), None);
}

#[test]
fn nar_hash_mismatch_exits_102_and_adds_nothing() {
    let server = HttpServer::start();
    server.route("/a.tar.gz", Response::ok(gzip(&sample_tar())));
    let env = TestEnv::new();
    let wrong = "sha256-tbudgBSg+bHWHiHnlteNzN8TUvI80ygS9IULh4rklEw=";
    let url = format!(
        "{}?narHash={}",
        server.url("/a.tar.gz"),
        wrong.replace('+', "%2B").replace('=', "%3D")
    );
    let (out, _) = prefetch(&env, &[&url]);
    assert_eq!(out.status().code(), Some(102), "{out}");
    assert!(
        out.stderr().starts_with(&format!(
            "error: NAR hash mismatch in input '{}?narHash=",
            server.url("/a.tar.gz")
        )) && out
            .stderr()
            .contains(&format!("expected '{wrong}' but got '{SAMPLE_HASH}'")),
        "{out}"
    );
    // The store was created by this run: nothing but its `.links` directory is there.
    assert_eq!(store_entries(&env), BTreeSet::from([".links".to_owned()]));
}

#[test]
fn file_inputs() {
    let server = HttpServer::start();
    server.route(
        "/notes.txt",
        Response::ok("some notes\n").header("ETag", "\"n1\""),
    );
    let env = TestEnv::new();
    let url = format!("file+{}", server.url("/notes.txt"));
    let (out, json) = prefetch(&env, &[&url]);
    assert!(out.success(), "{out}");
    assert_eq!(json["locked"]["type"], "file");
    assert_eq!(json["locked"]["narHash"], json["hash"]);
    assert!(json["locked"].get("lastModified").is_none());
    let path = json["storePath"].as_str().unwrap();
    let real = env.path(format!("store{path}"));
    assert_eq!(std::fs::read_to_string(real).unwrap(), "some notes\n");
    // A failed revalidation falls back to the cached copy with a warning.
    server.route("/notes.txt", Response::status(500));
    let (out, again) = prefetch(&env, &["--refresh", "--download-attempts", "1", &url]);
    assert_eq!(again, json, "{out}");
    assert_eq!(
        out.stderr(),
        format!(
            "warning: unable to download '{}': HTTP error 500; using cached version\n",
            server.url("/notes.txt")
        )
    );
}

#[test]
fn file_url_checks() {
    let env = TestEnv::new();
    env.write("work/dir/.keep", "");
    env.write("work/repo/.git/HEAD", "");
    let root = env.root().display().to_string();
    let cases = [
        (
            format!("tarball+file://{root}/nope.tar"),
            format!("tarball \"{root}/nope.tar\" does not exist."),
        ),
        (
            format!("tarball+file://{root}/work/dir"),
            format!("tarball \"{root}/work/dir\" is a directory, not a file."),
        ),
        (
            format!("tarball+file://{root}/work/repo"),
            format!(
                "tarball \"{root}/work/repo\" is a git repository, not a tarball. Please use `git+file` as the scheme."
            ),
        ),
    ];
    for (url, want) in cases {
        let (out, _) = prefetch(&env, &[&url]);
        let want = want.replace(&root, "$TEST_ENV");
        assert!(out.stderr().contains(&want), "{url}: {out}");
    }
    // A local tarball works like a served one.
    env.write("a.tar", sample_tar());
    let (out, json) = prefetch(&env, &[&format!("tarball+file://{root}/a.tar")]);
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);
}
