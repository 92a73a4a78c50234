//! Registry files: `remove`, rewriting entries with `exact` and `dir`, `--registry FILE`.

use super::{REV, add_all};
use crate::support::{Differential, USER_REGISTRY};

#[test]
fn remove_until_empty() {
    let Some(d) = Differential::new() else { return };
    add_all(
        &d,
        &[
            ("a", "github:o/a"),
            ("b", "github:o/b"),
            ("a/x", "github:o/ax"),
        ],
    );
    // `remove` matches `from` exactly: `a` leaves `a/x` alone (§6.8).
    insta::assert_snapshot!(d.run(&["registry", "remove", "a"]), @"");
    d.assert_same_file(USER_REGISTRY);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:b github:o/b
    user   flake:a/x github:o/ax
    ");
    d.run(&["registry", "remove", "flake:b"]);
    d.run(&["registry", "remove", "a/x"]);
    // An empty registry is written with `"flakes": null` and no trailing newline (§6.1).
    let file = d.assert_same_file(USER_REGISTRY).unwrap();
    assert_eq!(file, "{\n  \"flakes\": null,\n  \"version\": 2\n}");
    insta::assert_snapshot!(d.run(&["registry", "list"]), @"");
}

#[test]
fn remove_missing_entry_still_writes_file() {
    let Some(d) = Differential::new() else { return };
    // §6.8: the file is written even when nothing was removed, creating `config/nix/`.
    insta::assert_snapshot!(d.run(&["registry", "remove", "nosuch"]), @"");
    let file = d.assert_same_file(USER_REGISTRY).unwrap();
    assert_eq!(file, "{\n  \"flakes\": null,\n  \"version\": 2\n}");

    add_all(&d, &[("kept", "github:o/kept")]);
    d.run(&["registry", "remove", "nosuch"]);
    d.assert_same_file(USER_REGISTRY);
}

#[test]
fn user_registry_exact_and_dir_survive_rewrite() {
    let Some(d) = Differential::new() else { return };
    // §6.1: `exact` survives a rewrite, `dir` moves to the extra attributes and back, unknown
    // entry keys are dropped, and the file is re-sorted and re-indented.
    d.write(
        USER_REGISTRY,
        format!(
            r#"{{"version": 2, "flakes": [
 {{"exact": true, "from": {{"type": "indirect", "id": "nixpkgs"}}, "to": {{"type": "github", "owner": "NixOS", "repo": "nixpkgs", "rev": "{REV}"}}}},
 {{"from": {{"type": "indirect", "id": "sub"}}, "to": {{"type": "git", "url": "https://example.org/my/repo", "ref": "main", "dir": "flake1"}}, "exact": false}},
 {{"from": {{"type": "indirect", "id": "w"}}, "to": {{"type": "github", "owner": "edolstra", "repo": "nix-warez", "dir": "blender"}}, "exact": true, "other": 1}}
]}}"#
        ),
    );
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:nixpkgs github:NixOS/nixpkgs/a3a3dda3bacf61e8a39258a0ed9c924eeca8e293
    user   flake:sub git+https://example.org/my/repo?dir=flake1&ref=main
    user   flake:w github:edolstra/nix-warez?dir=blender
    ");
    add_all(&d, &[("foo", "path:/foo")]);
    let file = d.assert_same_file(USER_REGISTRY).unwrap();
    insta::assert_snapshot!(file, @r#"
    {
      "flakes": [
        {
          "exact": true,
          "from": {
            "id": "nixpkgs",
            "type": "indirect"
          },
          "to": {
            "owner": "NixOS",
            "repo": "nixpkgs",
            "rev": "a3a3dda3bacf61e8a39258a0ed9c924eeca8e293",
            "type": "github"
          }
        },
        {
          "from": {
            "id": "sub",
            "type": "indirect"
          },
          "to": {
            "dir": "flake1",
            "ref": "main",
            "type": "git",
            "url": "https://example.org/my/repo"
          }
        },
        {
          "exact": true,
          "from": {
            "id": "w",
            "type": "indirect"
          },
          "to": {
            "dir": "blender",
            "owner": "edolstra",
            "repo": "nix-warez",
            "type": "github"
          }
        },
        {
          "from": {
            "id": "foo",
            "type": "indirect"
          },
          "to": {
            "path": "/foo",
            "type": "path"
          }
        }
      ],
      "version": 2
    }
    "#);
}

#[test]
fn custom_registry_relative_to_cwd() {
    let Some(mut d) = Differential::new() else {
        return;
    };
    // §6.10: 2.8 reads and writes a relative `--registry` file against the current directory
    // (2.33–2.36 read it relative to `/`; rflake follows 2.8 here).
    d.setup(|env| env.set_cwd("work/sub"));
    for args in [
        [
            "registry",
            "add",
            "--registry",
            "./custom.json",
            "a",
            "github:o/a",
        ],
        [
            "registry",
            "add",
            "--registry",
            "./custom.json",
            "b",
            "github:o/b",
        ],
        [
            "registry",
            "add",
            "--registry",
            "custom.json",
            "c",
            "github:o/c",
        ],
    ] {
        assert_eq!(d.run(&args).to_string(), "", "{args:?}");
    }
    d.run(&["registry", "remove", "--registry", "./custom.json", "a"]);
    let file = d.assert_same_file("work/sub/custom.json").unwrap();
    assert!(
        !file.contains(r#""id": "a""#) && file.contains(r#""id": "c""#),
        "{file}"
    );
    // The custom file is only edited: the user registry is neither created nor listed.
    assert_eq!(d.assert_same_file(USER_REGISTRY), None);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @"");
}
