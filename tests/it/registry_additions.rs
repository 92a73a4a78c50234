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

#[test]
fn resolve_explain_shows_each_rewrite_and_what_was_carried_over() {
    let env = env();
    let rev = "0123456789abcdef0123456789abcdef01234567";
    let with_rev = format!("nixpkgs/{rev}");
    let out = env.run(&[
        "registry",
        "resolve",
        "--explain",
        "sys",
        "flake:nixpkgs/nixos-unstable?dir=lib",
        &with_rev,
        "github:a/b",
        "github:c/d",
    ]);
    assert!(out.success(), "{out}");
    assert_snapshot!(out);
    // The final lines are what plain `registry resolve` prints.
    let plain = env.run(&[
        "registry",
        "resolve",
        "sys",
        "flake:nixpkgs/nixos-unstable?dir=lib",
        &with_rev,
        "github:a/b",
        "github:c/d",
    ]);
    assert!(plain.success(), "{plain}");
    let finals: Vec<&str> = out
        .stdout()
        .lines()
        .filter_map(|l| l.strip_prefix("  => "))
        .collect();
    assert_eq!(finals, plain.stdout().lines().collect::<Vec<_>>());
}

#[test]
fn resolve_explain_json() {
    let env = env();
    let out = env.run(&[
        "registry",
        "resolve",
        "--explain",
        "--json",
        "--override-flake",
        "mine",
        "sys",
        "mine/dev",
        "github:a/b",
    ]);
    assert_snapshot!(pretty(&out));
}

#[test]
fn resolve_json_needs_explain_and_nix_output_is_unchanged() {
    let env = env();
    let out = env.run(&["registry", "resolve", "--json", "sys"]);
    assert!(!out.success(), "{out}");
    assert!(out.stderr().contains("--explain"), "{out}");
    assert_snapshot!(env.run(&["registry", "resolve", "sys"]), @"github:NixOS/nixpkgs/nixos-24.05");
}

/// Writes a directory `work/<name>` with one file, everything dated `secs`.
fn dated_tree(env: &TestEnv, name: &str, secs: u64) -> String {
    env.write(format!("work/{name}/file.txt"), format!("{name}\n"));
    let dir = env.path(format!("work/{name}"));
    let status = std::process::Command::new("find")
        .arg(&dir)
        .args(["-exec", "touch", "-h", "-d", &format!("@{secs}"), "{}", "+"])
        .status()
        .expect("find runs");
    assert!(status.success());
    dir.display().to_string()
}

#[test]
fn pin_dry_run_shows_old_and_new_writes_nothing_and_warns_on_a_downgrade() {
    let env = TestEnv::new();
    let new = dated_tree(&env, "new", 1_700_000_000);
    let old = dated_tree(&env, "old", 1_600_000_000);
    let pinned = env.run(&["registry", "pin", "foo", &format!("path:{new}")]);
    assert!(pinned.success(), "{pinned}");
    let before = env.read("config/nix/registry.json");
    let out = env.run(&[
        "registry",
        "pin",
        "--dry-run",
        "foo",
        &format!("path:{old}"),
    ]);
    assert_snapshot!(out, @r"
    flake:foo
    - path:$TEST_ENV/work/new?lastModified=1700000000 (2023-11-14 22:13:20)
    + path:$TEST_ENV/work/old?lastModified=1600000000 (2020-09-13 12:26:40)
    ------- stderr -------
    warning: flake 'path:$TEST_ENV/work/old?lastModified=1600000000' is not locked
    warning: the new pin of 'flake:foo' is older than the entry it replaces (a downgrade)
    ");
    assert_eq!(env.read("config/nix/registry.json"), before);
    // No entry yet, and an upgrade: no warning.
    let out = env.run(&[
        "registry",
        "pin",
        "--dry-run",
        "bar",
        &format!("path:{new}"),
    ]);
    assert!(
        out.success() && !out.stderr().contains("downgrade"),
        "{out}"
    );
    assert!(
        out.stdout().starts_with("flake:bar\n- (no entry)\n+ path:"),
        "{out}"
    );
    assert_eq!(env.read("config/nix/registry.json"), before);
}
