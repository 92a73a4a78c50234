//! `registry add`: every reference type 2.8 and current Nix print alike, and the rejections.

use super::{REV, add_all};
use crate::support::{Differential, USER_REGISTRY};

#[test]
fn add_indirect_from_refs() {
    let Some(d) = Differential::new() else { return };
    // §5.2 rows 1, 2, 4.
    let from_rev = format!("nixpkgs/{REV}");
    add_all(
        &d,
        &[
            ("nixpkgs", "github:NixOS/nixpkgs"),
            ("flake:foo/bar", "github:NixOS/nixpkgs/nixos-20.09"),
            (&from_rev, "path:/abs/x"),
        ],
    );
    d.assert_same_file(USER_REGISTRY);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:nixpkgs github:NixOS/nixpkgs
    user   flake:foo/bar github:NixOS/nixpkgs/nixos-20.09
    user   flake:nixpkgs/a3a3dda3bacf61e8a39258a0ed9c924eeca8e293 path:/abs/x
    ");
}

#[test]
fn add_path_targets() {
    let Some(d) = Differential::new() else { return };
    // §3.2 Step C without a base directory: an absolute path becomes `path:` directly [V];
    // §5.2 row 16: `path:foo` stays relative when there is no base directory [V].
    add_all(
        &d,
        &[("p1", "path:/abs"), ("p2", "/abs/path"), ("p3", "path:foo")],
    );
    let file = d.assert_same_file(USER_REGISTRY).unwrap();
    insta::assert_snapshot!(file, @r#"
    {
      "flakes": [
        {
          "from": {
            "id": "p1",
            "type": "indirect"
          },
          "to": {
            "path": "/abs",
            "type": "path"
          }
        },
        {
          "from": {
            "id": "p2",
            "type": "indirect"
          },
          "to": {
            "path": "/abs/path",
            "type": "path"
          }
        },
        {
          "from": {
            "id": "p3",
            "type": "indirect"
          },
          "to": {
            "path": "foo",
            "type": "path"
          }
        }
      ],
      "version": 2
    }
    "#);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:p1 path:/abs
    user   flake:p2 path:/abs/path
    user   flake:p3 path:foo
    ");
}

#[test]
fn add_forge_targets() {
    let Some(d) = Differential::new() else { return };
    // §5.2 rows 31, 32, 38, 44, a plain gitlab ref; §6.8 "any `from` type is accepted".
    add_all(
        &d,
        &[
            ("gh", "github:NixOS/nixpkgs"),
            ("ghr", "github:NixOS/nixpkgs/nixos-20.09"),
            ("blender", "github:edolstra/nix-warez?dir=blender"),
            ("colors", "sourcehut:~misterio/nix-colors/main"),
            ("gl", "gitlab:openldap/openldap/master"),
            ("github:NixOS/patchelf", "/tmp/x"),
        ],
    );
    d.assert_same_file(USER_REGISTRY);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:gh github:NixOS/nixpkgs
    user   flake:ghr github:NixOS/nixpkgs/nixos-20.09
    user   flake:blender github:edolstra/nix-warez?dir=blender
    user   flake:colors sourcehut:~misterio/nix-colors/main
    user   flake:gl gitlab:openldap/openldap/master
    user   github:NixOS/patchelf path:/tmp/x
    ");
}

#[test]
fn add_github_upper_case_rev() {
    let Some(d) = Differential::new() else { return };
    add_all(
        &d,
        &[(
            "ghu",
            "github:NixOS/nixpkgs/A3A3DDA3BACF61E8A39258A0ED9C924EECA8E293",
        )],
    );
    // The file is not compared: §5.2 row 33 says current Nix keeps the case in the attributes
    // ([S]), while Nix 2.8 writes `"rev": "a3a3…"` in lower case. Only the printed form is [V].
    insta::assert_snapshot!(d.run(&["registry", "list"]), @"user   flake:ghu github:NixOS/nixpkgs/a3a3dda3bacf61e8a39258a0ed9c924eeca8e293");
}

#[test]
fn add_git_targets() {
    let Some(d) = Differential::new() else { return };
    // §5.2 rows 17, 18, 21, 23, 24. (Row 19, git with `?dir=`, is [V≠]: 2.8 keeps `dir` in `url`.)
    add_all(
        &d,
        &[
            ("g1", "git+https://example.org/my/repo?ref=branch"),
            ("g2", "git+ssh://git@github.com/NixOS/nix?ref=v1.2.3"),
            ("g3", "git+file:/home/x"),
            ("g4", "git://somewhere/repo?ref=branch"),
            ("g5", "git+http://example.org/r?shallow=true"),
        ],
    );
    let file = d.assert_same_file(USER_REGISTRY).unwrap();
    // `shallow=true` is not `1`, so it is stored as `false` (row 21).
    assert!(file.contains(r#""shallow": false"#), "{file}");
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:g1 git+https://example.org/my/repo?ref=branch
    user   flake:g2 git+ssh://git@github.com/NixOS/nix?ref=v1.2.3
    user   flake:g3 git+file:/home/x
    user   flake:g4 git://somewhere/repo?ref=branch
    user   flake:g5 git+http://example.org/r
    ");
}

#[test]
fn add_tarball_and_hg_targets() {
    let Some(d) = Differential::new() else { return };
    // §5.2 rows 45, 52.
    let hg = format!("hg+https://example.com/repo?ref=default&rev={REV}");
    add_all(
        &d,
        &[
            (
                "t1",
                "https://github.com/NixOS/patchelf/archive/master.tar.gz",
            ),
            ("h1", &hg),
        ],
    );
    d.assert_same_file(USER_REGISTRY);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:t1 https://github.com/NixOS/patchelf/archive/master.tar.gz
    user   flake:h1 hg+https://example.com/repo?ref=default&rev=a3a3dda3bacf61e8a39258a0ed9c924eeca8e293
    ");
}

#[test]
fn readd_moves_entry_to_end() {
    let Some(d) = Differential::new() else { return };
    // §6.8 `registry add` step 3 and the worked example of §6.9 (with a github `dir` instead of
    // the git one, which is [V≠]).
    add_all(
        &d,
        &[
            ("nixpkgs", "github:NixOS/nixpkgs/nixos-20.09"),
            ("flake:foo/bar", "github:edolstra/nix-warez?dir=blender"),
            ("nixpkgs", "github:NixOS/nixpkgs"),
        ],
    );
    d.assert_same_file(USER_REGISTRY);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:foo/bar github:edolstra/nix-warez?dir=blender
    user   flake:nixpkgs github:NixOS/nixpkgs
    ");
}

#[test]
fn add_rejects_invalid_refs() {
    let Some(d) = Differential::new() else { return };
    let before = r#"{"flakes": [{"from": {"type": "indirect", "id": "keep"}, "to": {"type": "path", "path": "/k"}}], "version": 2}"#;
    d.write(USER_REGISTRY, before);
    // §5.3 rows marked [V] (2.8 and current Nix print the same). `github:a`, `…x?ref=y` and
    // `ref=foo..bar` are "bad URL" errors that the 2.36 reference masks (§3.6); rflake follows the
    // upstream fix (NixOS/nix#16353), which prints what 2.8 prints. `/foo/bar#bla` is [T].
    let cases = [
        "./relative",
        "nixpkgs?ref=x",
        "1nixpkgs",
        "nixpkgs/",
        "github:a",
        "github:NixOS/nixpkgs/x?ref=y",
        "git+https://example.org/my/repo?ref=foo..bar",
        "path:/foo/bar?lastModified=abc",
        "path://host/foo",
        "foo:bar",
        "ftp://x/y.tar.gz",
        "https://example.com/a.tar.bz2#frag",
        "/foo/bar#bla",
    ];
    let mut transcript = String::new();
    for bad in cases {
        for args in [
            ["registry", "add", "x", bad],
            ["registry", "add", bad, "path:/x"],
        ] {
            let output = d.run(&args);
            transcript.push_str(&format!("$ {}\n{output}", args.join(" ")));
        }
    }
    insta::assert_snapshot!(transcript, @r"
    $ registry add x ./relative
    ------- stderr -------
    error: flake reference './relative' is not an absolute path
    [exit status: 1]
    $ registry add ./relative path:/x
    ------- stderr -------
    error: flake reference './relative' is not an absolute path
    [exit status: 1]
    $ registry add x nixpkgs?ref=x
    ------- stderr -------
    error: flake reference 'nixpkgs?ref=x' is not an absolute path
    [exit status: 1]
    $ registry add nixpkgs?ref=x path:/x
    ------- stderr -------
    error: flake reference 'nixpkgs?ref=x' is not an absolute path
    [exit status: 1]
    $ registry add x 1nixpkgs
    ------- stderr -------
    error: flake reference '1nixpkgs' is not an absolute path
    [exit status: 1]
    $ registry add 1nixpkgs path:/x
    ------- stderr -------
    error: flake reference '1nixpkgs' is not an absolute path
    [exit status: 1]
    $ registry add x nixpkgs/
    ------- stderr -------
    error: flake reference 'nixpkgs/' is not an absolute path
    [exit status: 1]
    $ registry add nixpkgs/ path:/x
    ------- stderr -------
    error: flake reference 'nixpkgs/' is not an absolute path
    [exit status: 1]
    $ registry add x github:a
    ------- stderr -------
    error: URL 'github:a' is invalid
    [exit status: 1]
    $ registry add github:a path:/x
    ------- stderr -------
    error: URL 'github:a' is invalid
    [exit status: 1]
    $ registry add x github:NixOS/nixpkgs/x?ref=y
    ------- stderr -------
    error: URL 'github:NixOS/nixpkgs/x?ref=y' contains multiple branch/tag names
    [exit status: 1]
    $ registry add github:NixOS/nixpkgs/x?ref=y path:/x
    ------- stderr -------
    error: URL 'github:NixOS/nixpkgs/x?ref=y' contains multiple branch/tag names
    [exit status: 1]
    $ registry add x git+https://example.org/my/repo?ref=foo..bar
    ------- stderr -------
    error: invalid Git branch/tag name 'foo..bar'
    [exit status: 1]
    $ registry add git+https://example.org/my/repo?ref=foo..bar path:/x
    ------- stderr -------
    error: invalid Git branch/tag name 'foo..bar'
    [exit status: 1]
    $ registry add x path:/foo/bar?lastModified=abc
    ------- stderr -------
    error: path URL 'path:/foo/bar?lastModified=abc' has invalid parameter 'lastModified'
    [exit status: 1]
    $ registry add path:/foo/bar?lastModified=abc path:/x
    ------- stderr -------
    error: path URL 'path:/foo/bar?lastModified=abc' has invalid parameter 'lastModified'
    [exit status: 1]
    $ registry add x path://host/foo
    ------- stderr -------
    error: path URL 'path://host/foo' should not have an authority ('host')
    [exit status: 1]
    $ registry add path://host/foo path:/x
    ------- stderr -------
    error: path URL 'path://host/foo' should not have an authority ('host')
    [exit status: 1]
    $ registry add x foo:bar
    ------- stderr -------
    error: input 'foo:bar' is unsupported
    [exit status: 1]
    $ registry add foo:bar path:/x
    ------- stderr -------
    error: input 'foo:bar' is unsupported
    [exit status: 1]
    $ registry add x ftp://x/y.tar.gz
    ------- stderr -------
    error: input 'ftp://x/y.tar.gz' is unsupported
    [exit status: 1]
    $ registry add ftp://x/y.tar.gz path:/x
    ------- stderr -------
    error: input 'ftp://x/y.tar.gz' is unsupported
    [exit status: 1]
    $ registry add x https://example.com/a.tar.bz2#frag
    ------- stderr -------
    error: unexpected fragment 'frag' in flake reference 'https://example.com/a.tar.bz2#frag'
    [exit status: 1]
    $ registry add https://example.com/a.tar.bz2#frag path:/x
    ------- stderr -------
    error: unexpected fragment 'frag' in flake reference 'https://example.com/a.tar.bz2#frag'
    [exit status: 1]
    $ registry add x /foo/bar#bla
    ------- stderr -------
    error: unexpected fragment 'bla' in flake reference '/foo/bar#bla'
    [exit status: 1]
    $ registry add /foo/bar#bla path:/x
    ------- stderr -------
    error: unexpected fragment 'bla' in flake reference '/foo/bar#bla'
    [exit status: 1]
    ");
    // A rejected `add` leaves the file untouched.
    assert_eq!(d.nix_env().read(USER_REGISTRY), before);
    assert_eq!(d.rflake_env().read(USER_REGISTRY), before);
}
