//! Port of Nix's `tests/functional/flakes/non-flake-inputs.sh`: `flake = false` inputs of every
//! kind (a git repository, a file by `path://`, by absolute path, by `?dir=`, a relative path
//! literal) are locked with `"flake": false` and archived.
//!
//! Skipped (evaluation or building):
//! - the `fnord`/`xyzzy`/`sth` builds and their outputs (`FNORD`), the laziness check (building
//!   `sth` with flake2 and the non-flake repository moved away), `outPath`/`sourceInfo` of the
//!   inputs, and the fuzzy registry match `flake4/removeXyzzy#xyzzy`. What the script asserts
//!   through them about the inputs — `nonFlakeFile` and `nonFlakeFile2` are the same store
//!   object, `nonFlakeFile3` is the directory with `dir` — is checked on the lock and archive.

use std::fs;

use serde_json::{Value, json};

use super::{
    archive_json, git_repo, in_store, jq, keys, lock_ok, read_lock, registry_add, shown,
    write_simple_flake,
};
use crate::support::{GitRepo, TestEnv, git_in};

struct Fixture {
    env: TestEnv,
    flake3: GitRepo,
}

/// createFlake1, createFlake2, the non-flake repository and flake3 as in the script.
fn fixture() -> Fixture {
    let env = TestEnv::new();
    let root = env.root().display().to_string();
    let flake1 = git_repo(env.path("flake1"), "master");
    write_simple_flake(flake1.path());
    flake1.add_all();
    flake1.commit("Initial");
    registry_add(&env, "flake1", &flake1.url(""));

    let flake2 = git_repo(env.path("flake 2"), "main");
    flake2.write(
        "flake.nix",
        "{\n  description = \"Fnord\";\n\n  outputs = { self, flake1 }: rec {\n    packages.x86_64-linux.bar = flake1.packages.x86_64-linux.foo;\n  };\n}\n",
    );
    flake2.git(&["add", "flake.nix"]);
    flake2.commit("Initial");
    registry_add(&env, "flake2", &format!("git+file://{root}/flake%202"));

    let non_flake = git_repo(env.path("nonFlake"), "master");
    non_flake.write("README.md", "FNORD\n");
    non_flake.git(&["add", "README.md"]);
    non_flake.commit("Initial");
    let nf = non_flake.path().display().to_string();

    let flake3 = git_repo(env.path("flake3"), "master");
    flake3.write(
        "flake.nix",
        format!(
            r#"{{
  inputs = {{
    flake1 = {{}};
    flake2 = {{}};
    nonFlake = {{
      url = "git+file://{nf}";
      flake = false;
    }};
    nonFlakeFile = {{
      url = "path://{nf}/README.md";
      flake = false;
    }};
    nonFlakeFile2 = {{
      url = "{nf}/README.md";
      flake = false;
    }};
    nonFlakeFile3 = {{
      url = "{nf}?dir=README.md";
      flake = false;
    }};
    relativeNonFlakeFile = {{
      url = ./config.nix;
      flake = false;
    }};
  }};

  description = "Fnord";

  outputs = inputs: rec {{
    inherit inputs;
    packages.x86_64-linux.sth = inputs.flake1.packages.x86_64-linux.foo;
  }};
}}
"#
        ),
    );
    flake3.write("config.nix", "{ }\n");
    flake3.git(&["add", "flake.nix", "config.nix"]);
    flake3.commit("Add nonFlakeInputs");
    Fixture { env, flake3 }
}

fn lock_json(f: &Fixture) -> Value {
    read_lock(&f.env, f.flake3.path().join("flake.lock"))
}

/// non-flake-inputs.sh "Check whether `nix build` works with a lockfile which is missing a
/// nonFlakeInputs" (`--commit-lock-file`): the lock is committed; every `flake = false` input
/// has `"flake": false` and no inputs, the flake inputs have no `flake` key; `path://…` and the
/// plain absolute path lock the same file; `?dir=README.md` is the directory with a `dir`; the
/// path literal is relative (`config.nix`, `parent` `[]`).
#[test]
fn non_flake_inputs_are_locked_with_flake_false() {
    let f = fixture();
    let env = &f.env;
    let dir = f.flake3.path().display().to_string();
    lock_ok(env, &dir, &["--commit-lock-file"]);
    assert_eq!(git_in(f.flake3.path(), &["status", "--porcelain"]), "");
    assert_eq!(
        git_in(f.flake3.path(), &["log", "-1", "--format=%s"]).trim_end(),
        "flake.lock: Add"
    );

    let v = lock_json(&f);
    assert_eq!(
        keys(&v, ".nodes"),
        [
            "flake1",
            "flake1_2",
            "flake2",
            "nonFlake",
            "nonFlakeFile",
            "nonFlakeFile2",
            "nonFlakeFile3",
            "relativeNonFlakeFile",
            "root",
        ]
    );
    for name in [
        "nonFlake",
        "nonFlakeFile",
        "nonFlakeFile2",
        "nonFlakeFile3",
        "relativeNonFlakeFile",
    ] {
        let node = jq(&v, &format!(".nodes.{name}"));
        assert_eq!(node["flake"], json!(false), "{name}: {node}");
        assert_eq!(node["inputs"], Value::Null, "{name}: {node}");
    }
    for name in ["flake1", "flake1_2", "flake2"] {
        assert_eq!(
            jq(&v, &format!(".nodes.{name}.flake")),
            &Value::Null,
            "{name}"
        );
    }
    assert_eq!(
        jq(&v, ".nodes.flake2.inputs"),
        &json!({"flake1": "flake1_2"})
    );

    assert_eq!(jq(&v, ".nodes.nonFlake.locked.type"), &json!("git"));
    assert_eq!(
        jq(&v, ".nodes.nonFlake.original"),
        &json!({"type": "git", "url": format!("file://{}", shown("nonFlake"))})
    );
    let readme = shown("nonFlake/README.md");
    assert_eq!(
        jq(&v, ".nodes.nonFlakeFile.original"),
        &json!({"path": readme, "type": "path"})
    );
    assert_eq!(jq(&v, ".nodes.nonFlakeFile.locked.path"), &json!(readme));
    assert!(
        jq(&v, ".nodes.nonFlakeFile.locked.narHash").is_string(),
        "{v}"
    );
    assert_eq!(
        jq(&v, ".nodes.nonFlakeFile2"),
        jq(&v, ".nodes.nonFlakeFile")
    );
    assert_eq!(
        jq(&v, ".nodes.nonFlakeFile3.original"),
        &json!({"dir": "README.md", "path": shown("nonFlake"), "type": "path"})
    );
    assert_eq!(
        jq(&v, ".nodes.nonFlakeFile3.locked.dir"),
        &json!("README.md")
    );
    assert_eq!(
        jq(&v, ".nodes.relativeNonFlakeFile"),
        &json!({
            "flake": false,
            "locked": {"path": "config.nix", "type": "path"},
            "original": {"path": "config.nix", "type": "path"},
            "parent": [],
        })
    );
}

/// non-flake-inputs.sh, what its builds rely on: every non-flake input is fetched and copied
/// (`flake archive` lists them all, spec D2), `nonFlakeFile` and `nonFlakeFile2` are one store
/// object, the relative file has no path of its own; a dry run lists the same paths.
#[test]
fn archive_lists_non_flake_inputs() {
    let f = fixture();
    let env = &f.env;
    let dir = f.flake3.path().display().to_string();
    lock_ok(env, &dir, &["--commit-lock-file"]);

    let json = archive_json(env, &dir, &[]);
    assert_eq!(
        keys(&json, ".inputs"),
        [
            "flake1",
            "flake2",
            "nonFlake",
            "nonFlakeFile",
            "nonFlakeFile2",
            "nonFlakeFile3",
            "relativeNonFlakeFile",
        ]
    );
    assert_eq!(
        jq(&json, ".inputs.relativeNonFlakeFile"),
        &json!({"inputs": {}})
    );
    assert_eq!(
        jq(&json, ".inputs.nonFlakeFile.path"),
        jq(&json, ".inputs.nonFlakeFile2.path")
    );
    assert_eq!(keys(&json, ".inputs.flake2.inputs"), ["flake1"]);
    let store = env.path("store");
    let mut paths = vec![json["path"].clone()];
    for name in [
        "flake1",
        "flake2",
        "nonFlake",
        "nonFlakeFile",
        "nonFlakeFile3",
    ] {
        assert!(
            jq(&json, &format!(".inputs.{name}.inputs")).is_object(),
            "{name}: {json}"
        );
        paths.push(jq(&json, &format!(".inputs.{name}.path")).clone());
    }
    for p in &paths {
        let p = p.as_str().unwrap_or_else(|| panic!("no path in {json}"));
        assert!(in_store(&store, p).exists(), "{p} was not copied");
    }
    let file = in_store(
        &store,
        jq(&json, ".inputs.nonFlakeFile.path").as_str().unwrap(),
    );
    assert_eq!(fs::read_to_string(file).unwrap(), "FNORD\n");
    assert_eq!(archive_json(env, &dir, &["--dry-run"]), json);
}

/// non-flake-inputs.sh "Make branch "removeXyzzy" where flake3 doesn't have xyzzy anymore":
/// `nix flake lock` of the new flake.nix (`nonFlake` now the plain path of the repository,
/// `flake1`/`flake2` from the `outputs` formals) drops the nodes of the removed inputs and
/// relocks `nonFlake` as a `path` input, still `flake: false`.
#[test]
fn removed_inputs_leave_the_lock() {
    let f = fixture();
    let env = &f.env;
    let dir = f.flake3.path().display().to_string();
    lock_ok(env, &dir, &["--commit-lock-file"]);
    f.flake3.git(&["checkout", "-q", "-b", "removeXyzzy"]);
    f.flake3.write(
        "flake.nix",
        format!(
            "{{\n  inputs = {{\n    nonFlake = {{\n      url = \"{}\";\n      flake = false;\n    }};\n  }};\n\n  description = \"Fnord\";\n\n  outputs = {{ self, flake1, flake2, nonFlake }}: rec {{\n    packages.x86_64-linux.sth = flake1.packages.x86_64-linux.foo;\n  }};\n}}\n",
            env.path("nonFlake").display()
        ),
    );
    lock_ok(env, &dir, &[]);
    let v = lock_json(&f);
    assert_eq!(
        keys(&v, ".nodes"),
        ["flake1", "flake1_2", "flake2", "nonFlake", "root"]
    );
    assert_eq!(
        jq(&v, ".nodes.root.inputs"),
        &json!({"flake1": "flake1", "flake2": "flake2", "nonFlake": "nonFlake"})
    );
    assert_eq!(jq(&v, ".nodes.nonFlake.flake"), &json!(false));
    assert_eq!(
        jq(&v, ".nodes.nonFlake.original"),
        &json!({"path": shown("nonFlake"), "type": "path"})
    );
    assert_eq!(jq(&v, ".nodes.nonFlake.locked.type"), &json!("path"));
}
