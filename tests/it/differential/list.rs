//! `registry list` with a global registry, read from a file or downloaded.

use super::{GLOBAL, add_all};
use crate::support::{Differential, GLOBAL_REGISTRY, HttpServer, Response};

#[test]
fn list_user_and_global_entries() {
    let Some(d) = Differential::new() else { return };
    // §6.8 `registry list`: user lines, then global lines, each in file order; `dir` printed in
    // the query (§5.1).
    d.write(GLOBAL_REGISTRY, GLOBAL);
    add_all(&d, &[("nixpkgs", "github:NixOS/nixpkgs/nixos-20.09")]);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:nixpkgs github:NixOS/nixpkgs/nixos-20.09
    global flake:nixpkgs github:NixOS/nixpkgs
    global flake:s2/r github:o/p?dir=sub
    global flake:blender-bin github:edolstra/nix-warez?dir=blender
    global flake:t https://example.org/t.tar.gz
    global flake:gp git+file:///w/repo?dir=sub&ref=main
    global flake:pp path:/w/plain
    global flake:gl gitlab:a/b/v1
    global flake:extra github:a/b
    ");
    // The global registry is only read, never rewritten.
    assert_eq!(d.nix_env().read(GLOBAL_REGISTRY), GLOBAL);
    assert_eq!(d.rflake_env().read(GLOBAL_REGISTRY), GLOBAL);
}

#[test]
fn list_global_entry_missing_repo_warns() {
    let Some(d) = Differential::new() else { return };
    // §6.1 error handling: reading stops at the bad entry, keeps the entries before it, warns.
    d.write(
        GLOBAL_REGISTRY,
        r#"{
  "flakes": [
    {"from": {"type": "indirect", "id": "a"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"}},
    {"from": {"type": "indirect", "id": "b"}, "to": {"type": "github", "owner": "NixOS"}},
    {"from": {"type": "indirect", "id": "c"}, "to": {"type": "github", "owner": "NixOS", "repo": "c"}}
  ],
  "version": 2
}"#,
    );
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    global flake:a github:NixOS/nixpkgs
    ------- stderr -------
    warning: cannot read flake registry '$TEST_ENV/global-registry.json': error: input attribute 'repo' is missing
    ");
}

#[test]
fn list_global_registry_over_http() {
    let Some(mut d) = Differential::new() else {
        return;
    };
    // §6.3: a `flake-registry` that is not an absolute path is downloaded.
    let server = HttpServer::start();
    server.route(
        "/flake-registry.json",
        Response::ok(GLOBAL).header("ETag", "\"v1\""),
    );
    let url = server.url("/flake-registry.json");
    d.setup(|env| env.set_flake_registry(Some(&url)));
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    global flake:nixpkgs github:NixOS/nixpkgs
    global flake:s2/r github:o/p?dir=sub
    global flake:blender-bin github:edolstra/nix-warez?dir=blender
    global flake:t https://example.org/t.tar.gz
    global flake:gp git+file:///w/repo?dir=sub&ref=main
    global flake:pp path:/w/plain
    global flake:gl gitlab:a/b/v1
    global flake:extra github:a/b
    ");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" && r.path == "/flake-registry.json")
    );
    assert_eq!(
        requests.len(),
        if d.nix_only() { 1 } else { 2 },
        "{requests:#?}"
    );
}

#[test]
fn list_fails_when_global_registry_download_fails() {
    let Some(mut d) = Differential::new() else {
        return;
    };
    // §6.3: without a cached copy, a failed download fails `registry list`. Only the message
    // prefix is specified ("unable to download '<url>': …"); the rest is the HTTP client's text.
    let server = HttpServer::start();
    let url = server.url("/missing.json");
    d.setup(|env| env.set_flake_registry(Some(&url)));
    let prefix = format!("error: unable to download '{url}': HTTP error 404");
    for output in d.run_each(&["registry", "list"]) {
        assert_eq!(output.status().code(), Some(1), "{output:?}");
        assert_eq!(output.stdout(), "");
        assert!(output.stderr().starts_with(&prefix), "{output:?}");
    }
}
