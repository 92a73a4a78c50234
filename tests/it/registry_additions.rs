//! rflake's additions to `registry` (issue 18): `registry list --json`, `registry list
//! --registry FILE`, `registry resolve --explain [--json]`. Nix's own output is tested in
//! `registry_cli.rs` and the differential tests.

use insta::assert_snapshot;

use crate::support::TestEnv;

const GLOBAL: &str = r#"{"flakes":[{"from":{"type":"indirect","id":"nixpkgs"},"to":{"type":"github","owner":"NixOS","repo":"nixpkgs"}}],"version":2}"#;

const SYSTEM: &str = r#"{"version":2,"flakes":[{"from":{"type":"indirect","id":"sys"},"to":{"type":"indirect","id":"nixpkgs","ref":"nixos-24.05"}},{"exact":true,"from":{"type":"github","owner":"a","repo":"b"},"to":{"type":"path","path":"/src/b","dir":"sub"}}]}"#;

fn env() -> TestEnv {
    let env = TestEnv::new();
    env.write("global-registry.json", GLOBAL);
    env.write("etc/registry.json", SYSTEM);
    env.run(&[
        "registry",
        "add",
        "mine",
        "git+https://example.org/r?ref=main",
    ]);
    env
}

#[test]
fn list_json_has_every_layer_in_order_of_precedence() {
    let env = env();
    assert_snapshot!(pretty(&env.run(&["registry", "list", "--json"])));
}

#[test]
fn list_registry_file_lists_that_file_only() {
    let env = env();
    env.write("work/custom.json", SYSTEM);
    let mut env = env;
    env.set_cwd("work");
    assert_snapshot!(env.run(&["registry", "list", "--registry", "custom.json"]), @r"
    file   flake:sys flake:nixpkgs/nixos-24.05
    file   github:a/b path:/src/b?dir=sub
    ");
    assert_snapshot!(pretty(&env.run(&[
        "registry",
        "list",
        "--registry",
        "custom.json",
        "--json"
    ])));
    // A missing file is an empty registry, as for lookups.
    assert_snapshot!(env.run(&["registry", "list", "--registry", "none.json", "--json"]), @r#"{"entries":[]}"#);
}

/// The command's stdout, a JSON document, indented (the command prints it on one line).
fn pretty(out: &crate::support::CommandOutput) -> String {
    assert!(out.success(), "{out}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).expect("stdout is JSON");
    serde_json::to_string_pretty(&v).expect("a JSON value prints")
}
