//! `rflake registry pin nixpkgs` end to end, against loopback stand-ins for what the global
//! registry points `nixpkgs` at: a lockable `.tar.zst` channel tarball, and a GitHub-style
//! forge.

use rflake::store::compression::{Method, compress};

use super::{SAMPLE_HASH, sample_tar};
use crate::support::{HttpServer, Response, TestEnv};

const REV: &str = "0123456789abcdef0123456789abcdef01234567";

fn global(env: &TestEnv, to: &str) {
    env.write(
        "global-registry.json",
        format!(r#"{{"version":2,"flakes":[{{"from":{{"type":"indirect","id":"nixpkgs"}},"to":{to}}}]}}"#),
    );
}

#[test]
fn pin_nixpkgs_to_a_lockable_channel_tarball() {
    let server = HttpServer::start();
    let immutable = server.url(&format!("/nixexprs/{REV}.tar.zst"));
    // As channels.nixos.org does: the channel URL redirects to an immutable one and says so.
    server.route(
        "/nixos-unstable/nixexprs.tar.zst",
        Response::redirect(302, &format!("/nixexprs/{REV}.tar.zst")).header(
            "Link",
            &format!("<{immutable}?rev={REV}>; rel=\"immutable\""),
        ),
    );
    let zst = compress(Method::Zstd, &sample_tar(), None).unwrap();
    server.route(&format!("/nixexprs/{REV}.tar.zst"), Response::ok(zst));
    let env = TestEnv::new();
    let channel = server.url("/nixos-unstable/nixexprs.tar.zst");
    global(&env, &format!(r#"{{"type":"tarball","url":"{channel}"}}"#));

    let out = env.run(&["registry", "pin", "nixpkgs"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr(), "", "a locked tarball pin warns about nothing");
    let reg: serde_json::Value =
        serde_json::from_str(&env.read("config/nix/registry.json")).unwrap();
    assert_eq!(
        reg["flakes"][0]["to"],
        serde_json::json!({
            "__final": true,
            "lastModified": 1_700_000_100,
            "narHash": SAMPLE_HASH,
            "rev": REV,
            "type": "tarball",
            "url": immutable,
        })
    );
    let list = env.run(&["registry", "list"]);
    let user = list.stdout().lines().next().unwrap();
    assert!(
        // Printed tarball refs carry only the narHash (spec §5: rev, revCount and lastModified
        // are not printed).
        user.starts_with(&format!("user   flake:nixpkgs {immutable}?narHash=sha256-")),
        "{list}"
    );
    // The pin is locked: with the server gone, prefetching through it needs no network.
    drop(server);
    let out = env.run(&["flake", "prefetch", "nixpkgs"]);
    assert!(out.success(), "{out}");
}

#[test]
fn pin_nixpkgs_to_a_github_branch() {
    let server = HttpServer::start();
    server.route(
        "/api.github.com/repos/NixOS/nixpkgs/commits/nixos-unstable",
        Response::ok(format!(
            r#"{{"sha":"{REV}","commit":{{"tree":{{"sha":"x"}}}}}}"#
        )),
    );
    let gz = compress(Method::Gzip, &sample_tar(), None).unwrap();
    server.route(
        &format!("/github.com/NixOS/nixpkgs/archive/{REV}.tar.gz"),
        Response::ok(gz),
    );
    let mut env = TestEnv::new();
    env.add_env("_RFLAKE_FORGE_BASE_URL", server.url(""));
    global(
        &env,
        r#"{"type":"github","owner":"NixOS","repo":"nixpkgs","ref":"nixos-unstable"}"#,
    );

    let out = env.run(&["registry", "pin", "nixpkgs"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr(), "");
    let reg: serde_json::Value =
        serde_json::from_str(&env.read("config/nix/registry.json")).unwrap();
    // Spec §6.8: forge pins lose their ref, gain rev and lastModified, and have no narHash.
    assert_eq!(
        reg["flakes"][0]["to"],
        serde_json::json!({
            "__final": true,
            "lastModified": 1_700_000_100,
            "owner": "NixOS",
            "repo": "nixpkgs",
            "rev": REV,
            "type": "github",
        })
    );
    let list = env.run(&["registry", "list"]);
    assert_eq!(
        list.stdout().lines().next().unwrap(),
        format!("user   flake:nixpkgs github:NixOS/nixpkgs/{REV}")
    );
}
