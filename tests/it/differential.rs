//! Differential tests: `nix registry …` (Nix 2.8, the oracle) against `rflake registry …`.
//!
//! Each test runs the same commands with both tools in two identical `TestEnv`s and requires the
//! same stdout, stderr and exit status, and byte-identical registry files. The inline snapshots
//! record what Nix 2.8 printed (re-check them with `RFLAKE_IT_NIX_ONLY=1`).
//!
//! Only behaviour that the spec (`flakeref-registry-fetchers.md`) marks **[V]** (Nix 2.8 agrees
//! with current Nix) is compared. Left out on purpose, because 2.8 differs (**[V≠]**):
//!
//! - §5.2 rows 9, 12, 14, 15, 19, 20, 25, 34, 39, 40, 43, 47–51: 2.8 puts `dir` inside git and
//!   tarball `url`s (Part 8 item 1, so no `git+https://…?dir=…` here), encodes query values
//!   differently (item 2), drops path queries (item 3), ignores forge parameters (item 7), lacks
//!   the `tarball+`/`file+` prefixes (item 8) and does not print `submodules=1` (item 10).
//! - §6.3 / Part 8 item 12: `flake-registry = ""` (2.8 fails with `unable to download ''`).
//! - §6.8 `registry pin` (Part 8 items 13–14) and `registry resolve` (item 15, not in 2.8).
//! - §5.3: `nixpkgs/a/b/c`, `nixpkgs/foo..bar`, `github:a/b?rev=abc`, `git+file://host/x`,
//!   `file+git:///x`, `/foo/bar?xyzzy=123` (different messages or accepted by 2.8).

use crate::support::{Differential, GLOBAL_REGISTRY, HttpServer, Response, USER_REGISTRY};

/// A 40-hex commit hash used in refs.
const REV: &str = "a3a3dda3bacf61e8a39258a0ed9c924eeca8e293";

/// Runs `registry add FROM TO` for each pair, asserting that both tools accept it silently.
fn add_all(d: &Differential, pairs: &[(&str, &str)]) {
    for (from, to) in pairs {
        let output = d.run(&["registry", "add", from, to]);
        assert_eq!(output.to_string(), "", "registry add {from} {to}");
    }
}

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
    // §5.2 rows 31, 32, 38, 44; §6.8 "any `from` type is accepted".
    add_all(
        &d,
        &[
            ("gh", "github:NixOS/nixpkgs"),
            ("ghr", "github:NixOS/nixpkgs/nixos-20.09"),
            ("blender", "github:edolstra/nix-warez?dir=blender"),
            ("colors", "sourcehut:~misterio/nix-colors/main"),
            ("github:NixOS/patchelf", "/tmp/x"),
        ],
    );
    d.assert_same_file(USER_REGISTRY);
    insta::assert_snapshot!(d.run(&["registry", "list"]), @r"
    user   flake:gh github:NixOS/nixpkgs
    user   flake:ghr github:NixOS/nixpkgs/nixos-20.09
    user   flake:blender github:edolstra/nix-warez?dir=blender
    user   flake:colors sourcehut:~misterio/nix-colors/main
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

/// A global registry with one entry of each kind `registry list` prints differently.
const GLOBAL: &str = r#"{
  "flakes": [
    {"from": {"type": "indirect", "id": "nixpkgs"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"}},
    {"from": {"type": "indirect", "id": "s2", "ref": "r"}, "to": {"type": "github", "owner": "o", "repo": "p", "dir": "sub"}},
    {"from": {"type": "indirect", "id": "blender-bin"}, "to": {"type": "github", "owner": "edolstra", "repo": "nix-warez", "dir": "blender"}, "exact": true},
    {"from": {"type": "indirect", "id": "t"}, "to": {"type": "tarball", "url": "https://example.org/t.tar.gz"}},
    {"from": {"type": "indirect", "id": "gp"}, "to": {"type": "git", "url": "file:///w/repo", "ref": "main", "dir": "sub"}},
    {"from": {"type": "indirect", "id": "pp"}, "to": {"type": "path", "path": "/w/plain"}},
    {"from": {"type": "indirect", "id": "gl"}, "to": {"type": "gitlab", "owner": "a", "repo": "b", "ref": "v1"}},
    {"from": {"type": "indirect", "id": "extra"}, "to": {"type": "github", "owner": "a", "repo": "b"}, "comment": "ignored"}
  ],
  "version": 2
}"#;

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
