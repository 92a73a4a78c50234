//! HTTP binary caches on the loopback server: the requests rflake makes, their content types,
//! and how absent files and failures are told apart.

use rflake::store::compression::{self, Method};
use rflake::store::{CheckSigs, Store};

use super::*;
use crate::support::{HttpServer, Response};

/// Returns `METHOD path content-type` for each logged request.
fn log(server: &HttpServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            let ct = r.header("Content-Type").unwrap_or("-");
            format!("{} {} {ct}", r.method, r.path)
        })
        .collect()
}

fn open_err(uri: &str) -> String {
    match binary_cache::open(uri, OpenOptions::default(), &Silent) {
        Ok(_) => panic!("{uri} opened"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn writes_with_put_then_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = HttpServer::start();
    server.serve_dir("/cache", dir.path());
    let key = dir.path().join("demo-1.sk");
    std::fs::write(&key, DEMO_SECRET).unwrap();
    let (nar, info) = hello();
    let hash = info.path.hash_part().to_owned();

    let uri = server.url(&format!(
        "/cache?compression=xz&secret-key={}",
        key.display()
    ));
    let store = open(&uri);
    assert_eq!(store.uri(), server.url("/cache"));
    store
        .add_nar(&info, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join(format!("{hash}.narinfo"))).unwrap();
    let url = field(&text, "URL");
    assert!(url.ends_with(".nar.xz"), "{text}");
    assert_eq!(
        log(&server),
        [
            "GET /cache/nix-cache-info -".to_owned(),
            "PUT /cache/nix-cache-info text/x-nix-cache-info".to_owned(),
            format!("HEAD /cache/{hash}.narinfo -"),
            format!("HEAD /cache/{url} -"),
            format!("PUT /cache/{url} application/x-nix-nar"),
            format!("PUT /cache/{hash}.narinfo text/x-nix-narinfo"),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("nix-cache-info")).unwrap(),
        "StoreDir: /nix/store\n"
    );
    let keys = rflake::store::signature::PublicKeys::parse([DEMO_PUBLIC]).unwrap();
    let dir_ = StoreDir::default();
    let stored = rflake::store::narinfo::NarInfo::parse(&dir_, &text, "x").unwrap();
    assert_eq!(
        rflake::store::signature::count_valid_sigs(&stored.info, &dir_, &keys),
        1
    );

    // Adding it again changes nothing.
    store
        .add_nar(&info, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap();
    assert_eq!(server.requests().len(), 7);

    let before = server.requests().len();
    let reader = open(&server.url("/cache"));
    let got = reader.query_path_info(&info.path).unwrap().unwrap();
    assert_eq!(got.nar_hash, info.nar_hash);
    let mut out = vec![];
    reader.nar_from_path(&info.path, &mut out).unwrap();
    assert_eq!(out, nar);
    assert_eq!(
        log(&server)[before..],
        [
            "GET /cache/nix-cache-info -".to_owned(),
            format!("GET /cache/{hash}.narinfo -"),
            format!("GET /cache/{hash}.narinfo -"),
            format!("GET /cache/{url} -"),
        ]
    );

    // Nix reads the cache rflake wrote over HTTP.
    if let Some(env) = nix_env() {
        let dst = env.path("dst").display().to_string();
        let from = server.url("/cache");
        let full = StoreDir::default().print(&info.path);
        nix_ok(&env, &["copy", "--from", &from, "--to", &dst, &full]);
        let copied = env.path("dst").join(full.trim_start_matches('/'));
        assert_eq!(std::fs::read_to_string(copied).unwrap(), "hello\n");
    }
}

#[test]
fn narinfo_compression_sets_content_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let server = HttpServer::start();
    server.serve_dir("/c", dir.path());
    let (nar, info) = hello();
    let store = open(&server.url("/c?compression=none&narinfo-compression=xz"));
    store
        .add_nar(&info, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap();
    let put = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.ends_with(".narinfo"))
        .unwrap();
    assert_eq!(put.header("Content-Encoding"), Some("xz"));
    let text = String::from_utf8(compression::decompress(Method::Xz, &put.body).unwrap()).unwrap();
    assert!(text.starts_with("StorePath: /nix/store/gwina1sjk7g95wq6fxc6b7s1hza53h74-hello\n"));
    // The NAR itself is not affected.
    assert!(dir.path().join(field(&text, "URL")).exists());
}

#[test]
fn absent_forbidden_and_failing_files() {
    let server = HttpServer::start();
    server.route(
        "/c/nix-cache-info",
        Response::ok("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n"),
    );
    let (_, info) = hello();
    let hash = info.path.hash_part().to_owned();
    let store = open(&server.url("/c"));
    assert!(store.want_mass_query());
    assert_eq!(store.priority(), 40);
    // 404 and 403 both mean "absent" (S3 answers 403).
    assert_eq!(store.query_path_info(&info.path).unwrap(), None);
    server.route(&format!("/c/{hash}.narinfo"), Response::status(403));
    assert_eq!(store.query_path_info(&info.path).unwrap(), None);
    assert!(!store.is_valid_path(&info.path).unwrap());
    server.route(&format!("/c/{hash}.narinfo"), Response::status(500));
    let e = store.query_path_info(&info.path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "unable to download '{}': HTTP error 500",
            server.url(&format!("/c/{hash}.narinfo"))
        )
    );
    let mut sink = vec![];
    let e = store.nar_from_path(&info.path, &mut sink).unwrap_err();
    assert!(format!("{e:#}").contains("HTTP error 500"), "{e:#}");

    // A StoreDir for another store.
    server.route(
        "/gnu/nix-cache-info",
        Response::ok("StoreDir: /gnu/store\n"),
    );
    assert_eq!(
        open_err(&server.url("/gnu")),
        format!(
            "binary cache '{}' is for Nix stores with prefix '/gnu/store', not '/nix/store'",
            server.url("/gnu")
        )
    );
}

#[test]
fn not_a_binary_cache() {
    let server = HttpServer::start();
    let base = server.url("/nocache");
    assert_eq!(
        open_err(&format!("{base}/")),
        format!(
            "'{base}' does not appear to be a binary cache: while uploading to HTTP binary cache \
             at '{base}': unable to upload '{base}/nix-cache-info': HTTP error 404"
        )
    );
    assert_eq!(
        log(&server),
        [
            "GET /nocache/nix-cache-info -",
            "PUT /nocache/nix-cache-info text/x-nix-cache-info"
        ]
    );
}
