//! The flake graphs, each run through [`check_graph`]: lock files, archive JSON, stores,
//! `--dry-run`, Nix 2.8's lock file reused, and rflake's creation message (exactly as current
//! Nix prints it, spec C5: double-quoted path, then the diff, dates of `lastModified`).

use insta::assert_snapshot;

use super::fixture::Graph;
use super::lines;
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
    let c = check_graph(&g);
    // `dep1` and `data` have the contents of spec D7's, hence its store paths.
    assert_snapshot!(c.json_redacted(&[("ROOT", &[]), ("DEP2", &["dep2"])]), @r#"
    {
      "inputs": {
        "data": {
          "inputs": {},
          "path": "/nix/store/acn6d5q9z6pgssd99b8ci5l7l4zkvf5i-source"
        },
        "dep1": {
          "inputs": {},
          "path": "/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source"
        },
        "dep2": {
          "inputs": {},
          "path": "$DEP2"
        },
        "mid": {
          "inputs": {
            "dep1": {
              "inputs": {},
              "path": "/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source"
            }
          },
          "path": "$DEP2"
        }
      },
      "path": "$ROOT"
    }
    "#);
    let dep2 = format!(
        "'git+file://$TEST_ENV/dep2?ref=refs/heads/master&rev={}' (2023-11-14)",
        c.locked("dep2", "rev")
    );
    let dep1 = "'path:$TEST_ENV/dep1?lastModified=1700000000&narHash=sha256-j6tWX3GWsSJY3dxC%2Bkq/JLuXlMembNGvHeY9D7t3W1o%3D' (2023-11-14)";
    let expected = lines(&[
        "warning: creating lock file \"$TEST_ENV/root/flake.lock\": ",
        "• Added input 'data':",
        "    'path:$TEST_ENV/data?lastModified=1700000000&narHash=sha256-v4U9FOWp29Qasi9sZiH6JO2x9EsMwg9TmPuxq78H510%3D' (2023-11-14)",
        "• Added input 'dep1':",
        &format!("    {dep1}"),
        "• Added input 'dep2':",
        &format!("    {dep2}"),
        "• Added input 'dep2/dep1':",
        "    follows 'dep1'",
        "• Added input 'mid':",
        &format!("    {dep2}"),
        "• Added input 'mid/dep1':",
        &format!("    {dep1}"),
    ]);
    assert_eq!(c.creating, expected);
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
    let c = check_graph(&g);
    // `back` and `mid/dep2` are one source; `mid`'s `dep1` and `back`'s follow elsewhere.
    let labels: [(&str, &[&str]); 3] = [("ROOT", &[]), ("DEP2", &["back"]), ("MID", &["mid"])];
    assert_snapshot!(c.json_redacted(&labels), @r#"
    {
      "inputs": {
        "back": {
          "inputs": {},
          "path": "$DEP2"
        },
        "dep1": {
          "inputs": {},
          "path": "/nix/store/pkjhbn22kd38msmmdxa0vq2b0p84v1q5-source"
        },
        "mid": {
          "inputs": {
            "dep2": {
              "inputs": {},
              "path": "$DEP2"
            }
          },
          "path": "$MID"
        }
      },
      "path": "$ROOT"
    }
    "#);
    let dep2 = format!(
        "'git+file://$TEST_ENV/dep2?ref=refs/heads/master&rev={}' (2023-11-14)",
        c.locked("back", "rev")
    );
    let expected = lines(&[
        "warning: creating lock file \"$TEST_ENV/root/flake.lock\": ",
        "• Added input 'back':",
        &format!("    {dep2}"),
        "• Added input 'back/dep1':",
        "    follows ''",
        "• Added input 'dep1':",
        "    'path:$TEST_ENV/dep1?lastModified=1700000000&narHash=sha256-AxXaWJLoGI2p0VyXJKNvIVh6f0HLhKKBMqpAL0VKSTE%3D' (2023-11-14)",
        "• Added input 'mid':",
        &format!(
            "    'git+file://$TEST_ENV/mid?ref=refs/heads/master&rev={}' (2023-11-14)",
            c.locked("mid", "rev")
        ),
        "• Added input 'mid/dep1':",
        "    follows 'dep1'",
        "• Added input 'mid/dep2':",
        &format!("    {dep2}"),
        "• Added input 'mid/dep2/dep1':",
        "    follows 'mid/dep1'",
        // The lock file is added to the index (intent-to-add), so the re-read root is dirty.
        "warning: Git tree '$TEST_ENV/root' is dirty",
    ]);
    assert_eq!(c.creating, expected);
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
    g.tarball(
        "assets",
        &[("README", "assets\n"), ("logo.svg", "<svg/>\n")],
    );
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
    let c = check_graph(&g);
    // Node keys: `nixpkgs/tb` is visited first and gets `tb`, the root's own `tb` gets `tb_2`.
    assert_eq!(c.lock["nodes"]["root"]["inputs"]["tb"], "tb_2");
    assert_eq!(
        c.lock["nodes"]["nixpkgs"]["original"],
        serde_json::json!({"id": "nixpkgs", "type": "indirect"})
    );
    assert_eq!(
        c.lock["nodes"]["helper"]["original"],
        serde_json::json!({"id": "helper", "type": "indirect"})
    );
    // `pkgs` names the server's port in its flake.nix.
    assert_snapshot!(c.json_redacted(&[("ROOT", &[]), ("PKGS", &["nixpkgs"])]), @r#"
    {
      "inputs": {
        "assets": {
          "inputs": {},
          "path": "/nix/store/1jzjxl96m7yfgx4vvr99aa6882zx2q02-source"
        },
        "helper": {
          "inputs": {},
          "path": "/nix/store/lp5ip8hh65py95rszlhm0dp8d6yhwpaz-source"
        },
        "nixpkgs": {
          "inputs": {
            "tb": {
              "inputs": {},
              "path": "/nix/store/izw86cpjlw98fvbxi5v6prcxsxl2nkjj-source"
            }
          },
          "path": "$PKGS"
        },
        "tb": {
          "inputs": {},
          "path": "/nix/store/izw86cpjlw98fvbxi5v6prcxsxl2nkjj-source"
        }
      },
      "path": "$ROOT"
    }
    "#);
    let tb = "'$HTTP/files/tb.tar.gz?narHash=sha256-FEnAMIez8pYOuVhbzAgkVa6O5vFk27KQtXqoVXcjGJI%3D' (2023-11-14)";
    let expected = lines(&[
        "warning: creating lock file \"$TEST_ENV/root/flake.lock\": ",
        "• Added input 'assets':",
        "    '$HTTP/files/assets.tar.gz?narHash=sha256-5nXOdkNr9doIIsGkQdQeRfzLDiLSKOVNoRt%2BlPgoRmg%3D' (2023-11-14)",
        "• Added input 'helper':",
        "    'git+file://$TEST_ENV/helper?ref=refs/heads/master&rev=a8b0ef1e7d4c663c095325b3fafacaccd2c486e6' (2023-11-14)",
        "• Added input 'nixpkgs':",
        &format!(
            "    'path:$TEST_ENV/pkgs?lastModified=1700000000&narHash={}' (2023-11-14)",
            c.locked("nixpkgs", "narHash")
        ),
        "• Added input 'nixpkgs/tb':",
        &format!("    {tb}"),
        "• Added input 'tb':",
        &format!("    {tb}"),
    ]);
    assert_eq!(c.creating, expected);
}

/// Only `path:` inputs, so no documented difference applies: the lock files must be
/// byte-identical and the JSON equal, root included. `a` declares a `flake = false` input `res`
/// and an input `c` following its own `b`; the root overrides `a/res` with another directory
/// (the input stays a non-flake, spec B3.4) and has a `b` of its own (same source as `a/b`).
/// (Overriding the URL of a *flake* input is in `overrides.rs`: 2.8 records it differently.)
pub fn path_only(g: &mut Graph) {
    g.path_flake(
        "b1",
        "{\n  outputs = { self }: { };\n}\n",
        &[("b.txt", "1\n")],
    );
    g.path_tree("res1", &[("README", "one\n")]);
    g.path_tree("res2", &[("README", "two\n")]);
    g.path_flake(
        "a",
        r#"{
  inputs.b.url = "path:@DIR@/b1";
  inputs.res = { url = "path:@DIR@/res1"; flake = false; };
  inputs.c.follows = "b";
  outputs = { self, ... }: { };
}
"#,
        &[],
    );
    g.path_root(
        r#"{
  inputs.a = { url = "path:@DIR@/a"; inputs.res.url = "path:@DIR@/res2"; };
  inputs.b.url = "path:@DIR@/b1";
  outputs = { self, ... }: { };
}
"#,
    );
}

#[test]
fn path_inputs_only_with_overrides() {
    let Some(mut g) = Graph::new() else { return };
    path_only(&mut g);
    let c = check_graph(&g);
    assert!(
        c.identical,
        "no documented difference applies to path inputs"
    );
    assert_eq!(c.lock["nodes"]["res"]["flake"], false);
    assert_eq!(
        c.lock["nodes"]["a"]["inputs"]["c"],
        serde_json::json!(["a", "b"])
    );
    assert_snapshot!(c.json_redacted(&[("ROOT", &[]), ("A", &["a"])]), @r#"
    {
      "inputs": {
        "a": {
          "inputs": {
            "b": {
              "inputs": {},
              "path": "/nix/store/5g6pxiils95jnjcgz1qdclm5nwxnwhzp-source"
            },
            "res": {
              "inputs": {},
              "path": "/nix/store/zd8n4y6ak5yn9r57slhavk1jhdcfzy0s-source"
            }
          },
          "path": "$A"
        },
        "b": {
          "inputs": {},
          "path": "/nix/store/5g6pxiils95jnjcgz1qdclm5nwxnwhzp-source"
        }
      },
      "path": "$ROOT"
    }
    "#);
    let b1 = "'path:$TEST_ENV/b1?lastModified=1700000000&narHash=sha256-59q0aETyVJb2DKrLUZZYcZCoAdFxJtpiecv7N/m0PTg%3D' (2023-11-14)";
    let expected = lines(&[
        "warning: creating lock file \"$TEST_ENV/root/flake.lock\": ",
        "• Added input 'a':",
        &format!(
            "    'path:$TEST_ENV/a?lastModified=1700000000&narHash={}' (2023-11-14)",
            c.locked("a", "narHash")
        ),
        "• Added input 'a/b':",
        &format!("    {b1}"),
        "• Added input 'a/c':",
        "    follows 'a/b'",
        "• Added input 'a/res':",
        "    'path:$TEST_ENV/res2?lastModified=1700000000&narHash=sha256-/EprzP%2BDh6ztqNKVCvXqHEcUHnImZ0cCwQGJN3J7JIs%3D' (2023-11-14)",
        "• Added input 'b':",
        &format!("    {b1}"),
    ]);
    assert_eq!(c.creating, expected);
}
