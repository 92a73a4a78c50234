//! The global registry behind a URL: downloaded at most once per `tarball-ttl`, revalidated with
//! `If-None-Match`, used from the cache when the server fails or with `--offline`.

use crate::support::TestEnv;
use crate::support::{HttpServer, Response};

const REGISTRY: &str = r#"{"flakes":[{"from":{"type":"indirect","id":"nixpkgs"},"to":{"type":"github","owner":"NixOS","repo":"nixpkgs"}}],"version":2}"#;
const LINE: &str = "global flake:nixpkgs github:NixOS/nixpkgs\n";

fn env_with(server: &HttpServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.set_flake_registry(Some(&server.url("/flake-registry.json")));
    env
}

#[test]
fn downloaded_once_per_ttl_then_revalidated() {
    let server = HttpServer::start();
    server.route(
        "/flake-registry.json",
        Response::ok(REGISTRY).header("ETag", "\"v1\""),
    );
    let env = env_with(&server);
    for _ in 0..2 {
        let out = env.run(&["registry", "list"]);
        assert_eq!(out.stdout(), LINE, "{out}");
    }
    assert_eq!(
        server.requests().len(),
        1,
        "second run within tarball-ttl made a request"
    );

    let out = env.run(&["registry", "list", "--refresh"]);
    assert_eq!(out.stdout(), LINE, "{out}");
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].header("if-none-match"), Some("\"v1\""));

    let out = env.run(&["registry", "list", "--tarball-ttl", "0"]);
    assert_eq!(out.stdout(), LINE, "{out}");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn failed_download_uses_the_cached_copy() {
    let server = HttpServer::start();
    server.route("/flake-registry.json", Response::ok(REGISTRY));
    let env = env_with(&server);
    assert!(env.run(&["registry", "list"]).success());
    server.route("/flake-registry.json", Response::status(500));
    let out = env.run(&["registry", "list", "--refresh"]);
    assert_eq!(out.stdout(), LINE, "{out}");
    let url = server.url("/flake-registry.json");
    assert_eq!(
        out.stderr(),
        format!("warning: unable to download '{url}': HTTP error 500; using cached version\n")
    );
}

#[test]
fn failed_download_without_cache_fails() {
    let server = HttpServer::start();
    let env = env_with(&server);
    let out = env.run(&["registry", "list"]);
    let url = server.url("/flake-registry.json");
    assert_eq!(out.status().code(), Some(1));
    assert_eq!(
        out.stderr(),
        format!("error: unable to download '{url}': HTTP error 404\n")
    );
}

#[test]
fn offline_uses_the_cache_and_never_the_network() {
    let server = HttpServer::start();
    server.route("/flake-registry.json", Response::ok(REGISTRY));
    let env = env_with(&server);
    let out = env.run(&["registry", "list", "--offline"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(
        out.stderr()
            .contains("it is not cached and the network is disabled by '--offline'"),
        "{out}"
    );
    assert_eq!(server.requests().len(), 0);

    assert!(env.run(&["registry", "list"]).success());
    let out = env.run(&["registry", "list", "--offline", "--refresh"]);
    assert_eq!(out.stdout(), LINE, "{out}");
    assert_eq!(server.requests().len(), 1, "--offline made a request");
}

#[test]
fn lookups_that_need_no_registry_never_download_it() {
    let server = HttpServer::start();
    let env = env_with(&server);
    assert!(env.run(&["registry", "add", "a", "github:o/a"]).success());
    assert!(env.run(&["registry", "remove", "a"]).success());
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn file_url_and_disabled_registry() {
    let mut env = TestEnv::new();
    env.write("g.json", REGISTRY);
    env.set_flake_registry(Some(&format!("file://{}", env.path("g.json").display())));
    assert_eq!(env.run(&["registry", "list"]).stdout(), LINE);
    env.set_flake_registry(Some(""));
    env.run(&["registry", "add", "a", "github:o/a"]);
    let out = env.run(&["registry", "list"]);
    assert_eq!(out.stdout(), "user   flake:a github:o/a\n", "{out}");
    assert_eq!(out.stderr(), "");
}
