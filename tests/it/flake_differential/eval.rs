//! `rflake eval FLAKE#attr` against `nix eval` (Nix 2.8) on the same flake graphs: the values of
//! `self`, flake and non-flake inputs, `follows`, git metadata, the default attribute search,
//! `getFlake`, `fetchTree`/`fetchGit` and pure evaluation. Each tool uses its own store and
//! neither writes the lock file (`--no-write-lock-file`), so both lock the same tree.
//!
//! Where current Nix differs from 2.8 (spec E1.1: `_type = "flake"`, `dir` in `outPath`), the
//! flakes remove or avoid the attribute, and rflake's current-Nix value is asserted on its own.

use insta::assert_snapshot;

use super::fixture::Graph;
use crate::support::CommandOutput;

/// Runs `eval ARGS` with both tools (each with its own store) and returns both outputs.
fn both(g: &Graph, args: &[&str]) -> (CommandOutput, CommandOutput) {
    let run = |nix: bool| {
        let store = g.store_dir(if nix { "nix" } else { "rflake" });
        let store = store.display().to_string();
        let mut all = vec!["eval", "--store", &store, "--no-write-lock-file"];
        all.extend_from_slice(args);
        if nix {
            g.env().run_nix(&all)
        } else {
            g.env().run(&all)
        }
    };
    (run(true), run(false))
}

/// Asserts that both tools print the same value (stdout; 2.8 ends `--json` output without a
/// newline, spec D3) and both succeed; returns rflake's.
fn same(g: &Graph, args: &[&str]) -> String {
    let (nix, rflake) = both(g, args);
    assert!(nix.success(), "nix eval {args:?} failed:\n{nix}");
    assert_eq!(
        rflake.stdout().trim_end(),
        nix.stdout().trim_end(),
        "rflake:\n{rflake}\nnix:\n{nix}"
    );
    assert!(rflake.success(), "{rflake}");
    rflake.stdout().to_owned()
}

/// The last `error:` line of an output.
fn final_error(out: &CommandOutput) -> String {
    out.stderr()
        .lines()
        .rfind(|l| l.trim_start().starts_with("error:"))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// Spec D7's graph (see `graphs.rs`) whose root reports what its inputs look like.
fn graph() -> Option<Graph> {
    let mut g = Graph::new()?;
    g.path_flake(
        "dep1",
        "{\n  description = \"dep1\";\n  outputs = { self }: { x = 1; names = builtins.attrNames self; };\n}\n",
        &[],
    );
    g.path_tree("data", &[("file.txt", "hello data\n")]);
    g.git_flake(
        "dep2",
        "{\n  inputs.dep1.url = \"path:@DIR@/dep1\";\n  outputs = { self, dep1 }: { y = dep1.x + 1; }; \n}\n",
    );
    g.path_root(
        r#"{
  description = "root";
  inputs = {
    dep1.url = "path:@DIR@/dep1";
    dep2 = { url = "git+file://@DIR@/dep2"; inputs.dep1.follows = "dep1"; };
    data = { type = "path"; path = "@DIR@/data"; flake = false; };
    mid.url = "git+file://@DIR@/dep2";
  };
  outputs = { self, dep1, dep2, data, mid }:
    let
      noType = s: builtins.removeAttrs s [ "_type" ];
      names = s: builtins.attrNames (noType s);
    in {
      t = {
        dep1 = { inherit (dep1) x narHash lastModified lastModifiedDate outPath; names = names dep1; };
        dep2 = { inherit (dep2) y rev shortRev revCount lastModified narHash; names = names dep2; inputNames = builtins.attrNames dep2.inputs; };
        followed = dep2.inputs.dep1.x;
        midIsDep2 = mid.outPath == dep2.outPath;
        data = { names = builtins.attrNames data; text = builtins.readFile (data + "/file.txt"); };
        self = { names = names self; inherit (self) narHash lastModified; hasRev = self ? rev; };
        sourceInfo = builtins.attrNames self.sourceInfo;
        inputs = builtins.attrNames self.inputs;
        outputs = builtins.attrNames self.outputs;
      };
      packages.x86_64-linux.hello = "from packages";
      legacyPackages.x86_64-linux.legacy = "from legacyPackages";
      hello = "top-level";
      notASet = 1;
    };
}
"#,
    );
    Some(g)
}

#[test]
fn outputs_self_and_inputs_as_nix_calls_them() {
    let Some(g) = graph() else { return };
    let out = same(&g, &["--json", ".#t"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["followed"], 1);
    assert_eq!(v["midIsDep2"], true);
    assert_eq!(v["data"]["text"], "hello data\n");
    assert_snapshot!(serde_json::to_string_pretty(&v["dep2"]["names"]).unwrap(), @r#"
    [
      "inputs",
      "lastModified",
      "lastModifiedDate",
      "narHash",
      "outPath",
      "outputs",
      "rev",
      "revCount",
      "shortRev",
      "sourceInfo",
      "submodules",
      "y"
    ]
    "#);
}

#[test]
fn current_nix_marks_flakes_with_type() {
    let Some(g) = graph() else { return };
    let dir = g.env().root().display().to_string();
    // 2.8 has no `_type` (spec E1.1): rflake's value is current Nix's.
    let expr = format!("(builtins.getFlake \"path:{dir}/dep1\")._type");
    let store = g.store_dir("rflake").display().to_string();
    let out = g.env().run(&[
        "eval", "--store", &store, "--impure", "--raw", "--expr", &expr,
    ]);
    assert_eq!(out.stdout(), "flake", "{out}");
}

#[test]
fn default_attribute_search() {
    let Some(g) = graph() else { return };
    assert_eq!(same(&g, &[".#hello"]), "\"from packages\"\n");
    assert_eq!(same(&g, &[".#legacy"]), "\"from legacyPackages\"\n");
    assert_eq!(same(&g, &[".#notASet"]), "1\n");
    let (nix, rflake) = both(&g, &[".#nope"]);
    assert!(!rflake.success());
    assert_eq!(final_error(&rflake), final_error(&nix));
    assert_snapshot!(final_error(&rflake), @"error: flake 'path:$TEST_ENV/root' does not provide attribute 'packages.x86_64-linux.nope', 'legacyPackages.x86_64-linux.nope' or 'nope'");
    // A value on the way that is not a set: current Nix tries the next path (2.8 stops with
    // `'notASet' is not an attribute set`).
    let (_, rflake) = both(&g, &[".#notASet.x"]);
    assert_snapshot!(final_error(&rflake), @"error: flake 'path:$TEST_ENV/root' does not provide attribute 'packages.x86_64-linux.notASet.x', 'legacyPackages.x86_64-linux.notASet.x' or 'notASet.x'");
}

#[test]
fn pure_evaluation_refuses_the_world() {
    let Some(g) = graph() else { return };
    g.env().write("outside.txt", "outside\n");
    let outside = g.env().path("outside.txt").display().to_string();
    let expr = format!("_: builtins.readFile {outside}");
    let (nix, rflake) = both(&g, &[".#hello", "--apply", &expr]);
    assert!(!nix.success() && !rflake.success(), "{rflake}");
    assert_snapshot!(final_error(&rflake), @"error: access to absolute path '$TEST_ENV/outside.txt' is forbidden in pure evaluation mode (use '--impure' to override)");
    assert_eq!(
        same(&g, &[".#hello", "--impure", "--apply", &expr]),
        "\"outside\\n\"\n"
    );
    let (nix, rflake) = both(&g, &[".#hello", "--apply", "_: builtins.currentSystem"]);
    assert_eq!(final_error(&rflake), final_error(&nix));
    assert_eq!(
        same(&g, &[".#hello", "--apply", "_: builtins.getEnv \"HOME\""]),
        "\"\"\n"
    );
}

#[test]
fn git_root_has_its_revision() {
    let Some(mut g) = Graph::new() else { return };
    g.git_root(
        "{\n  outputs = { self }: { info = { inherit (self) rev shortRev revCount lastModified lastModifiedDate narHash; }; };\n}\n",
    );
    let out = same(&g, &["--json", ".#info"]);
    assert!(out.contains("\"revCount\":1"), "{out}");
}

#[test]
fn get_flake_fetch_tree_and_fetch_git() {
    let Some(g) = graph() else { return };
    let dir = g.env().root().display().to_string();
    let get = format!("(builtins.getFlake \"path:{dir}/dep1\").x");
    assert_eq!(same(&g, &["--impure", "--expr", &get]), "1\n");
    let git = format!("builtins.removeAttrs (builtins.fetchGit {dir}/dep2) [ \"submodules\" ]");
    same(&g, &["--impure", "--expr", &git]);
    let tree = format!("builtins.fetchTree {{ type = \"path\"; path = \"{dir}/data\"; }}");
    same(&g, &["--impure", "--expr", &tree]);
    // Pure evaluation fetches only locked inputs.
    let apply = format!("_: {tree}");
    let (nix, rflake) = both(&g, &[".#hello", "--apply", &apply]);
    assert!(!nix.success() && !rflake.success(), "{rflake}");
}

#[test]
fn untrusted_nix_config_is_ignored_with_a_warning() {
    let Some(mut g) = Graph::new() else { return };
    g.path_root(
        "{\n  nixConfig.extra-substituters = [ \"https://example.invalid\" ];\n  nixConfig.bash-prompt = \"$ \";\n  outputs = { self }: { x = 1; };\n}\n",
    );
    let (_, rflake) = both(&g, &[".#x"]);
    assert!(rflake.success(), "{rflake}");
    assert_snapshot!(rflake.stderr(), @r"
    warning: ignoring untrusted flake configuration setting 'extra-substituters'.
    Pass '--accept-flake-config' to trust it
    ");
    let (_, accepted) = both(&g, &[".#x", "--accept-flake-config"]);
    assert_eq!(accepted.stderr(), "", "{accepted}");
}

#[test]
fn fetch_tarball_and_fetch_mercurial() {
    let Some(mut g) = Graph::new() else { return };
    g.tarball("tb", &[("a.txt", "A\n")]);
    let url = g.expand("@HTTP@/tb.tar.gz");
    let tarball = format!(
        "let p = builtins.fetchTarball \"{url}\"; in [ p (builtins.readFile (p + \"/a.txt\")) ]"
    );
    let out = same(&g, &["--impure", "--expr", &tarball]);
    assert!(out.contains("\"A\\n\""), "{out}");
    // fetchMercurial's own result: `branch`, a 12-character `shortRev`, no `narHash`.
    let repo = g.env().path("hgrepo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("f"), "hi\n").unwrap();
    let hg = |args: &[&str]| {
        let out = std::process::Command::new("hg")
            .current_dir(&repo)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HGPLAIN", "1")
            .env("HGRCPATH", "/dev/null")
            .env("HGUSER", "rflake test <test@example.invalid>")
            .output()
            .expect("running hg (Debian package mercurial)");
        assert!(out.status.success(), "hg {args:?}: {out:?}");
    };
    hg(&["init", "-q"]);
    hg(&["commit", "-A", "-q", "-m", "init", "-d", "0 0"]);
    let dir = repo.display().to_string();
    for expr in [
        format!("builtins.fetchMercurial {dir}"),
        format!("builtins.fetchMercurial \"file://{dir}\""),
        format!("builtins.fetchMercurial {{ url = {dir}; rev = \"default\"; name = \"n\"; }}"),
    ] {
        let out = same(&g, &["--impure", "--expr", &expr]);
        assert!(out.contains("branch = \"default\";"), "{out}");
    }
    let bad = format!("builtins.fetchMercurial {{ url = {dir}; foo = 1; }}");
    let (nix, rflake) = both(&g, &["--impure", "--expr", &bad]);
    assert_eq!(final_error(&rflake), final_error(&nix));
    assert_eq!(
        final_error(&rflake),
        "error: unsupported argument 'foo' to 'fetchMercurial'"
    );
    let pure = format!("builtins.fetchMercurial {dir}");
    let (nix, rflake) = both(&g, &["--expr", &pure]);
    assert_eq!(
        final_error(&rflake),
        "error: in pure evaluation mode, 'fetchMercurial' requires a Mercurial revision"
    );
    assert!(!nix.success());
}
