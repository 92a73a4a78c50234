//! The flake graphs, each run through [`check_graph`]: lock files, archive JSON, stores,
//! `--dry-run`, Nix 2.8's lock file reused, and rflake's creation message (exactly as current
//! Nix prints it, spec C5: double-quoted path, then the diff, dates of `lastModified`).

use insta::assert_snapshot;

use super::fixture::Graph;
use super::protocol::check_graph;

/// Spec D7's shape under a path root: a `path:` flake `dep1`, a git flake `dep2` (whose own
/// `dep1` follows the root's), a `flake = false` directory in attribute form, and `mid`, the same
/// git source as `dep2` with its own `dep1` (two nodes, one store path).
pub fn d7_shape(g: &mut Graph) {
    g.path_flake(
        "dep1",
        "{\n  description = \"dep1\";\n  outputs = { self }: { x = 1; };\n}\n",
        &[],
    );
    g.path_tree("data", &[("file.txt", "hello data\n")]);
    g.git_flake(
        "dep2",
        "{\n  inputs.dep1.url = \"path:@DIR@/dep1\";\n  outputs = { self, dep1 }: { };\n}\n",
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
  outputs = { self, ... }: { };
}
"#,
    );
}

#[test]
fn path_root_with_path_git_and_non_flake_inputs() {
    let Some(mut g) = Graph::new() else { return };
    d7_shape(&mut g);
    let checked = check_graph(&g);
    assert_snapshot!(checked.json, @"");
    assert_snapshot!(checked.creating, @"");
}

/// A git work tree as the root, with follows at three places: an override in the root
/// (`mid.inputs.dep1.follows`), a follows written in `mid`'s own `flake.nix` (recorded with
/// `mid`'s prefix), and `follows = ""` (the root flake itself).
pub fn git_root_follows(g: &mut Graph) {
    g.path_flake(
        "dep1",
        "{\n  outputs = { self }: { };\n}\n",
        &[("lib.nix", "{ }\n")],
    );
    g.git_flake(
        "dep2",
        "{\n  inputs.dep1.url = \"path:@DIR@/dep1\";\n  outputs = { self, dep1 }: { };\n}\n",
    );
    g.git_flake(
        "mid",
        r#"{
  inputs.dep1.url = "path:@DIR@/dep1";
  inputs.dep2.url = "git+file://@DIR@/dep2";
  inputs.dep2.inputs.dep1.follows = "dep1";
  outputs = { self, ... }: { };
}
"#,
    );
    g.git_root(
        r#"{
  inputs = {
    dep1.url = "path:@DIR@/dep1";
    mid = { url = "git+file://@DIR@/mid"; inputs.dep1.follows = "dep1"; };
    back = { url = "git+file://@DIR@/dep2"; inputs.dep1.follows = ""; };
  };
  outputs = { self, ... }: { };
}
"#,
    );
}

#[test]
fn git_root_with_follows() {
    let Some(mut g) = Graph::new() else { return };
    git_root_follows(&mut g);
    let checked = check_graph(&g);
    assert_snapshot!(checked.json, @"");
    assert_snapshot!(checked.creating, @"");
}

/// Tarball inputs over loopback (a flake, and a `flake = false` archive), an indirect
/// `nixpkgs` input and an implicit one (`helper`, only a parameter of `outputs`), both resolved
/// by `--override-flake` (the same flags for both tools). The `nixpkgs` flake has the same
/// tarball as an input of its own.
pub fn tarballs_and_indirect(g: &mut Graph) {
    g.tarball(
        "tb",
        &[(
            "flake.nix",
            "{\n  description = \"from a tarball\";\n  outputs = { self }: { };\n}\n",
        )],
    );
    g.tarball("assets", &[("README", "assets\n"), ("logo.svg", "<svg/>\n")]);
    g.path_flake(
        "pkgs",
        "{\n  inputs.tb.url = \"@HTTP@/tb.tar.gz\";\n  outputs = { self, tb }: { };\n}\n",
        &[],
    );
    g.git_flake("helper", "{\n  outputs = { self }: { h = true; };\n}\n");
    g.path_root(
        r#"{
  inputs.tb.url = "@HTTP@/tb.tar.gz";
  inputs.assets = { url = "@HTTP@/assets.tar.gz"; flake = false; };
  inputs.nixpkgs.url = "nixpkgs";
  outputs = { self, tb, helper, ... }: { };
}
"#,
    );
    g.flags(&[
        "--override-flake",
        "nixpkgs",
        "path:@DIR@/pkgs",
        "--override-flake",
        "helper",
        "git+file://@DIR@/helper",
    ]);
}

#[test]
fn tarball_and_indirect_inputs() {
    let Some(mut g) = Graph::new() else { return };
    tarballs_and_indirect(&mut g);
    let checked = check_graph(&g);
    assert_snapshot!(checked.json, @"");
    assert_snapshot!(checked.creating, @"");
}

#[test]
#[allow(clippy::print_stderr)]
fn scratch_dump() {
    for build in [d7_shape as fn(&mut Graph), git_root_follows, tarballs_and_indirect] {
        let mut g = Graph::new().unwrap();
        build(&mut g);
        let out = g.nix("s", &["--json"]);
        eprintln!("=====\n{}\n{}\n{}", g.normalize(&out.to_string()), g.normalize(&g.lock_file().unwrap_or_default().replace(&g.env().root().display().to_string(), "$TEST_ENV")), g.store_entries("s").into_iter().collect::<Vec<_>>().join(" "));
    }
}
