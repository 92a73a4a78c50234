//! Port of Nix's `tests/functional/flakes/flakes.sh`: the lock-file and archive assertions.
//!
//! Fixture as in the script: `flake1` (git, `master`, the simple flake, in the global registry),
//! `flake 2` (git, `main`, a directory with a space, registered percent-encoded; its `outputs`
//! takes `flake1`), `flake%20` (the script's flake3: a directory whose name has a literal `%`,
//! registered as `flake%2520`), `flake7` (trivial flake), `nixpkgs` → `flake1` in the registry.
//!
//! Skipped (not locking or archiving, or they need evaluation or building):
//! - `nix registry list|add|pin|remove|resolve` counts and layers: registry tests elsewhere;
//! - `.fingerprint` of `flake metadata --json`: rflake has no evaluation cache (documented
//!   deviation of `flake metadata`);
//! - every `nix build`/`nix eval`/`nix path-info`/`builtins.getFlake`/`nix-instantiate` result
//!   (outputs, `dirOf`/`baseNameOf` of the root, pure-mode failures of unlocked flakes, fetching
//!   `flake:` refs in the legacy CLI, `store add-path` of a bad flake);
//! - `nix flake clone`, GC roots for offline use (`_NIX_FORCE_HTTP`, `nix store gc`), registry
//!   caching across `nix store gc`, the symlinked `--flake-registry` file;
//! - `nix flake update ''` (no `flake update` command: its `--update-input ''` twin is ported);
//! - "Test doing multiple `lookupFlake`s" (`nix build flake3#xyzzy`) and the bare
//!   `nix flake metadata "$flake3Dir" --json` runs (their success is implied by the ported
//!   metadata queries);
//! - `flake metadata --eval-store dummy://`: rflake has no evaluation store;
//! - `nix eval --flake-registry … flake2#shouldBeOne` (evaluation of a `dir` flake), and the
//!   evaluated value of `--inputs-from` (its resolution is ported).
//!
//! Translations: `nix flake lock --override-input` writes the overridden lock; rflake's
//! `archive`/`metadata` (like Nix's) do not write under `--override-input`, so the overridden
//! locks are read from `flake metadata --json` `.locks`, and where a later step needs them on
//! disk the test writes them to `flake.lock` itself.

use std::fs;

use serde_json::{Value, json};

use super::{
    ROOT, archive_json, assert_line, git_repo, jq, keys, lock, lock_fails, lock_ok, metadata,
    metadata_out, prefetch_hash, read_lock, read_text, registry_add, run_in, shown, write_lock,
    write_simple_flake,
};
use crate::support::{FIRST_COMMIT_TIME, GitRepo, TestEnv, git_command, git_in};

const FLAKE2_NIX: &str = r#"{
  description = "Fnord";

  outputs = { self, flake1 }: rec {
    packages.x86_64-linux.bar = flake1.packages.x86_64-linux.foo;
  };
}
"#;

/// flake3's first `flake.nix`: one input, `flake2`, through the `outputs` formals.
const FLAKE3_ONE_INPUT: &str = r#"{
  description = "Fnord";

  outputs = { self, flake2 }: rec {
    packages.x86_64-linux.xyzzy = flake2.packages.x86_64-linux.bar;
    checks = { xyzzy = packages.x86_64-linux.xyzzy; };
  };
}
"#;

/// flake3 after "Add dependency to flake3": `flake1` and `flake2`.
const FLAKE3_TWO_INPUTS: &str = r#"{
  description = "Fnord";

  outputs = { self, flake1, flake2 }: rec {
    packages.x86_64-linux.xyzzy = flake2.packages.x86_64-linux.bar;
    packages.x86_64-linux."sth sth" = flake1.packages.x86_64-linux.foo;
  };
}
"#;

struct Fixture {
    env: TestEnv,
    flake1: GitRepo,
    flake2: GitRepo,
    flake3: GitRepo,
    /// flake1's first commit (`Initial`).
    hash1: String,
}

impl Fixture {
    fn new() -> Fixture {
        let env = TestEnv::new();
        let root = env.root().display().to_string();

        let flake1 = git_repo(env.path("flake1"), "master");
        write_simple_flake(flake1.path());
        flake1.git(&[
            "add",
            "flake.nix",
            "simple.nix",
            "shell.nix",
            "simple.builder.sh",
            "config.nix",
        ]);
        let hash1 = flake1.commit("Initial");
        registry_add(&env, "flake1", &flake1.url(""));

        let flake2 = git_repo(env.path("flake 2"), "main");
        flake2.write("flake.nix", FLAKE2_NIX);
        flake2.git(&["add", "flake.nix"]);
        flake2.commit("Initial");
        registry_add(&env, "flake2", &format!("git+file://{root}/flake%202"));

        let flake3 = git_repo(env.path("flake%20"), "master");
        flake3.write("flake.nix", FLAKE3_ONE_INPUT);
        flake3.write("default.nix", "{ x = 123; }\n");
        flake3.git(&["add", "flake.nix", "default.nix"]);
        flake3.commit("Initial");

        registry_add(&env, "flake1", &flake1.url(""));
        registry_add(&env, "flake3", &format!("git+file://{root}/flake%2520"));
        registry_add(&env, "nixpkgs", "flake1");

        Fixture {
            env,
            flake1,
            flake2,
            flake3,
            hash1,
        }
    }

    /// The script's `echo foo > flake1/foo; git add foo`.
    fn stage_foo(&self) {
        self.flake1.write("foo", "foo\n");
        self.flake1.git(&["add", "foo"]);
    }

    /// The script's `echo -n '# foo' >> flake.nix; git commit -a -m Foo`; returns `hash2`.
    fn commit_foo(&self) -> String {
        let nix = self.flake1.path().join("flake.nix");
        let mut text = fs::read_to_string(&nix).unwrap();
        text.push_str("# foo");
        fs::write(&nix, text).unwrap();
        self.flake1.git(&["add", "-A"]);
        self.flake1.commit("Foo")
    }

    /// flake1 with both commits (the state of most of the script); returns `hash2`.
    fn flake1_at_hash2(&self) -> String {
        self.stage_foo();
        self.commit_foo()
    }

    fn p(repo: &GitRepo) -> String {
        repo.path().display().to_string()
    }

    /// flake2 locked with `--commit-lock-file` (the script's
    /// `nix build "$flake2Dir#bar" --commit-lock-file`).
    fn commit_flake2_lock(&self) {
        lock_ok(&self.env, &Self::p(&self.flake2), &["--commit-lock-file"]);
        assert_eq!(git_in(self.flake2.path(), &["status", "--porcelain"]), "");
    }

    /// flake3 as after the script's "Add lockfile" commit: two inputs and a committed lock in
    /// which `flake2`'s own `flake1` is the node `flake1_2`.
    fn flake3_with_committed_lock(&self) {
        self.commit_flake2_lock();
        let dir = Self::p(&self.flake3);
        lock_ok(&self.env, &dir, &[]);
        self.flake3.git(&["add", "flake.lock"]);
        self.flake3.write("flake.nix", FLAKE3_TWO_INPUTS);
        self.flake3.git(&["add", "flake.nix"]);
        self.flake3.commit("Update flake.nix");
        lock_ok(&self.env, &dir, &[]);
        self.flake3.git(&["add", "flake.lock"]);
        self.flake3.commit("Add lockfile");
    }

    /// The script's flake5 (`writeDependentFlake`, a plain directory) locked as a `path:`
    /// flake, packed into `flake.tar.gz`; returns the tarball's `file://` URL.
    fn tarball(&self) -> String {
        let dir = self.env.path("flake5");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("flake.nix"),
            "{\n  outputs = { self, flake1 }: {\n    packages.x86_64-linux.default = flake1.packages.x86_64-linux.default;\n    expr = assert builtins.pathExists ./flake.lock; 123;\n  };\n}\n",
        )
        .unwrap();
        lock_ok(&self.env, &format!("path://{}", dir.display()), &[]);
        let tar = std::process::Command::new("tar")
            .args(["cfz", "flake.tar.gz", "-C"])
            .arg(self.env.root())
            .arg("flake5")
            .current_dir(self.env.root())
            .status()
            .unwrap();
        assert!(tar.success());
        format!("file://{}/flake.tar.gz", self.env.root().display())
    }
}

fn diff(repo: &GitRepo, against: &str) -> String {
    git_in(repo.path(), &["diff", against])
}

fn lock_of(env: &TestEnv, repo: &GitRepo) -> Value {
    read_lock(env, repo.path().join("flake.lock"))
}

/// flakes.sh "Test 'nix flake metadata'" and "Test 'nix flake metadata --json'": the locked URL
/// of a registry flake, local spellings, a chroot store, `description`, `lastModified`,
/// `revision`, and `dirtyRevision` once a staged file makes the tree dirty.
#[test]
fn metadata_of_a_registry_flake() {
    let f = Fixture::new();
    let env = &f.env;
    let flake1 = Fixture::p(&f.flake1);

    let out = env.run(&["flake", "metadata", "flake1"]);
    assert!(out.success(), "{out}");
    assert_line(out.stdout(), &["Locked URL:", "flake1"]);
    let chroot = env.path("chroot-store").display().to_string();
    let out = env.run(&["flake", "metadata", "--store", &chroot, "flake1"]);
    assert!(out.success(), "{out}");
    for args in [
        &["flake", "metadata"][..],
        &["flake", "metadata", "."],
        &["flake", "metadata", &flake1],
    ] {
        let out = run_in(env, f.flake1.path(), args);
        assert!(out.success(), "{args:?}: {out}");
        assert_line(out.stdout(), &["URL:", "flake1"]);
    }

    let v = metadata(env, "flake1", &[]);
    assert_eq!(v["description"], "Bla bla");
    assert_eq!(v["lastModified"], json!(FIRST_COMMIT_TIME));
    assert_eq!(v["revision"], json!(f.hash1));

    f.stage_foo();
    let v = metadata(env, "flake1", &["--refresh"]);
    assert_eq!(v["dirtyRevision"], json!(format!("{}-dirty", f.hash1)));

    let hash2 = f.commit_foo();
    assert_ne!(hash2, f.hash1);
    let v = metadata(env, "flake1", &["--refresh"]);
    assert_eq!(v["revision"], json!(hash2));
    assert_eq!(v["dirtyRevision"], Value::Null);
}

/// flakes.sh "Building a local flake with an unlocked dependency should fail with
/// --no-update-lock-file" (`requires lock file changes`), `--no-write-lock-file` succeeding
/// without a lock file, `--commit-lock-file` committing the exact lock (`git diff main` empty),
/// and "Rerunning the build should not change the lockfile"; plus the commit message and the
/// `committed new revision` warning of spec C5.
#[test]
fn lock_changes_need_updates_and_commit_lock_file_commits() {
    let f = Fixture::new();
    let env = &f.env;
    let hash2 = f.flake1_at_hash2();
    let flake2 = Fixture::p(&f.flake2);
    let lock_path = f.flake2.path().join("flake.lock");

    let err = lock_fails(env, &flake2, &["--no-update-lock-file"]);
    assert_line(
        &err,
        &[
            "error: flake '",
            "' requires lock file changes but they're not allowed due to '--no-update-lock-file'",
        ],
    );
    lock_ok(env, &flake2, &["--no-write-lock-file"]);
    assert!(!lock_path.exists());
    let err = lock_fails(env, &flake2, &["--no-update-lock-file"]);
    assert!(err.contains("requires lock file changes"), "{err}");

    let head_before = f.flake2.rev("HEAD");
    let out = lock_ok(env, &flake2, &["--commit-lock-file"]);
    assert!(lock_path.exists());
    assert_eq!(diff(&f.flake2, "main"), "");
    let head = f.flake2.rev("HEAD");
    assert_ne!(head, head_before);
    assert!(
        out.stderr()
            .contains(&format!("warning: committed new revision '{head}'")),
        "{out}"
    );

    let nar_hash = prefetch_hash(env, &f.flake1.url(&format!("?rev={hash2}")));
    let expected = json!({
        "nodes": {
            "flake1": {
                "locked": {
                    "lastModified": FIRST_COMMIT_TIME + 100,
                    "narHash": nar_hash,
                    "ref": "refs/heads/master",
                    "rev": hash2,
                    "revCount": 2,
                    "type": "git",
                    "url": format!("file://{}", shown("flake1")),
                },
                "original": {"id": "flake1", "type": "indirect"},
            },
            "root": {"inputs": {"flake1": "flake1"}},
        },
        "root": "root",
        "version": 7,
    });
    assert_eq!(
        read_text(env, &lock_path),
        serde_json::to_string_pretty(&expected).unwrap() + "\n"
    );

    let msg = git_in(f.flake2.path(), &["log", "-1", "--format=%B"]);
    assert_eq!(
        msg.trim_end(),
        format!(
            "flake.lock: Add\n\nFlake lock file updates:\n\n• Added input 'flake1':\n    'git+file://{}?ref=refs/heads/master&rev={hash2}' (2023-11-14)",
            f.flake1.path().display()
        )
    );

    // Rerunning does not change the lock file (nor commit anything).
    let out = lock_ok(env, &flake2, &[]);
    assert!(!out.stderr().contains("lock file"), "{out}");
    assert_eq!(diff(&f.flake2, "main"), "");
    assert_eq!(f.flake2.rev("HEAD"), head);
}

/// flakes.sh "Building with a lockfile should not require a fetch of the registry" (a bogus
/// `--flake-registry`, `--no-registries`, `--no-use-registries`, all with `--refresh`),
/// "Updating the flake should not change the lockfile", "Now we should be able to build the
/// flake in pure mode" and "Or without a registry".
#[test]
fn a_complete_lock_file_needs_no_registry() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    f.commit_flake2_lock();
    let flake2 = Fixture::p(&f.flake2);
    let before = read_text(env, f.flake2.path().join("flake.lock"));

    lock_ok(
        env,
        &flake2,
        &["--flake-registry", "file:///no-registry.json", "--refresh"],
    );
    let out = lock_ok(env, &flake2, &["--no-registries", "--refresh"]);
    assert!(
        out.stderr()
            .contains("'--no-registries' is deprecated; use '--no-use-registries'"),
        "{out}"
    );
    lock_ok(env, &flake2, &["--no-use-registries", "--refresh"]);
    lock_ok(env, &flake2, &[]);
    assert_eq!(diff(&f.flake2, "main"), "");
    assert_eq!(read_text(env, f.flake2.path().join("flake.lock")), before);

    lock_ok(env, "flake2", &[]);
    let url = format!("git+file://{}/flake%202", env.root().display());
    lock_ok(env, &url, &["--no-registries", "--refresh"]);
    lock_ok(env, &url, &["--no-use-registries", "--refresh"]);
}

/// flakes.sh "Test whether indirect dependencies work" (flake3 → flake2 → flake1 from flake2's
/// own lock), "Check whether `nix build` works with an incomplete lockfile" and "Check whether
/// it saved the lockfile" (`git diff master` not empty after adding `flake1`).
#[test]
fn an_incomplete_lock_file_is_completed() {
    let f = Fixture::new();
    let env = &f.env;
    let hash2 = f.flake1_at_hash2();
    f.commit_flake2_lock();
    let flake3 = Fixture::p(&f.flake3);

    lock_ok(env, &flake3, &[]);
    let v = lock_of(env, &f.flake3);
    assert_eq!(keys(&v, ".nodes"), ["flake1", "flake2", "root"]);
    assert_eq!(jq(&v, ".nodes.root.inputs"), &json!({"flake2": "flake2"}));
    assert_eq!(jq(&v, ".nodes.flake2.inputs"), &json!({"flake1": "flake1"}));
    assert_eq!(jq(&v, ".nodes.flake1.locked.rev"), &json!(hash2));
    assert_eq!(
        jq(&v, ".nodes.flake2.original"),
        &json!({"id": "flake2", "type": "indirect"})
    );
    f.flake3.git(&["add", "flake.lock"]);

    f.flake3.write("flake.nix", FLAKE3_TWO_INPUTS);
    f.flake3.git(&["add", "flake.nix"]);
    f.flake3.commit("Update flake.nix");
    let old_flake2 = jq(&v, ".nodes.flake2").clone();

    lock_ok(env, &flake3, &[]);
    assert_ne!(diff(&f.flake3, "master"), "");
    let v = lock_of(env, &f.flake3);
    assert_eq!(keys(&v, ".nodes"), ["flake1", "flake1_2", "flake2", "root"]);
    assert_eq!(
        jq(&v, ".nodes.root.inputs"),
        &json!({"flake1": "flake1", "flake2": "flake2"})
    );
    // flake2's lock is kept; its flake1 is now the second node named flake1.
    assert_eq!(jq(&v, ".nodes.flake2.locked"), &old_flake2["locked"]);
    assert_eq!(
        jq(&v, ".nodes.flake2.inputs"),
        &json!({"flake1": "flake1_2"})
    );
    assert_eq!(jq(&v, ".nodes.flake1.locked.rev"), &json!(hash2));
    assert_eq!(jq(&v, ".nodes.flake1_2.locked.rev"), &json!(hash2));
}

/// flakes.sh "Ensure that locking ignores the user registry": with `--flake-registry ''` the
/// top-level `flake1` still resolves through the user registry, but `nix flake update` of
/// flake3 fails with `cannot find flake 'flake:flake1' in the flake registries`.
#[test]
fn locking_ignores_the_user_registry() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    f.flake3.write("flake.nix", FLAKE3_TWO_INPUTS);
    f.flake3.git(&["add", "flake.nix"]);
    f.flake3.commit("Update flake.nix");
    let user = env.user_registry_path();
    fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env.global_registry_path(), &user).unwrap();

    let out = env.run(&["flake", "metadata", "--flake-registry", "", "flake1"]);
    assert!(out.success(), "{out}");
    let err = lock_fails(
        env,
        &Fixture::p(&f.flake3),
        &["--recreate-lock-file", "--flake-registry", ""],
    );
    assert!(
        err.contains("cannot find flake 'flake:flake1' in the flake registries"),
        "{err}"
    );
    assert!(!f.flake3.path().join("flake.lock").exists());
}

/// flakes.sh "Test 'nix flake update' and --override-flake": locking the committed flake3 again
/// changes nothing; updating it with `--override-flake flake2 nixpkgs` changes the lock
/// (`flake2` now resolves through `nixpkgs` to flake1, and keeps its `original`).
#[test]
fn override_flake_changes_the_lock() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    f.flake3_with_committed_lock();
    let flake3 = Fixture::p(&f.flake3);

    lock_ok(env, &flake3, &[]);
    assert_eq!(diff(&f.flake3, "master"), "");

    lock_ok(
        env,
        &flake3,
        &[
            "--recreate-lock-file",
            "--override-flake",
            "flake2",
            "nixpkgs",
        ],
    );
    assert_ne!(diff(&f.flake3, "master"), "");
    let v = lock_of(env, &f.flake3);
    assert_eq!(keys(&v, ".nodes"), ["flake1", "flake2", "root"]);
    assert_eq!(
        jq(&v, ".nodes.flake2.locked.url"),
        &json!(format!("file://{}", shown("flake1")))
    );
    assert_eq!(
        jq(&v, ".nodes.flake2.original"),
        &json!({"id": "flake2", "type": "indirect"})
    );
    assert_eq!(jq(&v, ".nodes.flake2.inputs"), &Value::Null);
}

/// flakes.sh "Test 'follows' inputs": `bar.follows = "foo"` gives `["foo"]`,
/// `"flake2/flake1"` gives `["flake2","flake1"]`, `"flake2"` gives `["flake2"]`.
#[test]
fn follows_of_top_level_inputs() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    let flake3 = Fixture::p(&f.flake3);
    let cases = [
        (
            "{\n  inputs.foo = {\n    type = \"indirect\";\n    id = \"flake1\";\n  };\n  inputs.bar.follows = \"foo\";\n\n  outputs = { self, foo, bar }: {\n  };\n}\n",
            json!(["foo"]),
        ),
        (
            "{\n  inputs.bar.follows = \"flake2/flake1\";\n\n  outputs = { self, flake2, bar }: {\n  };\n}\n",
            json!(["flake2", "flake1"]),
        ),
        (
            "{\n  inputs.bar.follows = \"flake2\";\n\n  outputs = { self, flake2, bar }: {\n  };\n}\n",
            json!(["flake2"]),
        ),
    ];
    for (nix, expected) in cases {
        f.flake3.write("flake.nix", nix);
        lock_ok(env, &flake3, &[]);
        let v = lock_of(env, &f.flake3);
        assert_eq!(jq(&v, ".nodes.root.inputs.bar"), &expected, "{nix}");
    }
}

/// flakes.sh "Test overriding inputs of inputs": `inputs.flake2.inputs.flake1 = { type = "git";
/// url = "file://…/flake7"; }` locks flake2's `flake1` to flake7; then
/// `inputs.flake2.inputs.flake1.follows = "foo"` with `foo` = flake7, after `nix flake update`,
/// gives `nodes.flake2.inputs.flake1 == ["foo"]` and `nodes.foo` = flake7.
#[test]
fn overrides_of_inputs_of_inputs() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    let flake7 = git_repo(env.path("flake7"), "master");
    flake7.write(
        "flake.nix",
        "{\n  outputs = { self }: {\n    expr = 123;\n  };\n}\n",
    );
    flake7.git(&["add", "flake.nix"]);
    flake7.commit("Initial");
    let flake7_dir = Fixture::p(&flake7);
    let flake3 = Fixture::p(&f.flake3);
    let flake7_url = json!(format!("file://{}", shown("flake7")));

    f.flake3.write(
        "flake.nix",
        format!(
            "{{\n  inputs.flake2.inputs.flake1 = {{\n    type = \"git\";\n    url = \"file://{flake7_dir}\";\n  }};\n\n  outputs = {{ self, flake2 }}: {{\n  }};\n}}\n"
        ),
    );
    lock_ok(env, &flake3, &[]);
    let v = lock_of(env, &f.flake3);
    assert_eq!(jq(&v, ".nodes.flake1.locked.url"), &flake7_url);
    assert_eq!(jq(&v, ".nodes.flake2.inputs.flake1"), &json!("flake1"));

    f.flake3.write(
        "flake.nix",
        format!(
            "{{\n  inputs.flake2.inputs.flake1.follows = \"foo\";\n  inputs.foo.url = \"git+file://{flake7_dir}\";\n\n  outputs = {{ self, flake2 }}: {{\n  }};\n}}\n"
        ),
    );
    lock_ok(env, &flake3, &["--recreate-lock-file"]);
    let v = lock_of(env, &f.flake3);
    assert_eq!(jq(&v, ".nodes.flake2.inputs.flake1"), &json!(["foo"]));
    assert_eq!(jq(&v, ".nodes.foo.locked.url"), &flake7_url);
}

/// flakes.sh "Test git+file with bare repo": a bare clone of flake1 archives to the same store
/// path as flake1's work tree at the same commit.
#[test]
fn bare_git_repository() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    let bare = env.path("flakeGitBare");
    let status = git_command()
        .args(["clone", "-q", "--bare"])
        .arg(f.flake1.path())
        .arg(&bare)
        .status()
        .unwrap();
    assert!(status.success());
    let from_bare = archive_json(
        env,
        &format!("git+file://{}", bare.display()),
        &["--dry-run"],
    );
    let from_work_tree = archive_json(env, &Fixture::p(&f.flake1), &["--dry-run"]);
    assert_eq!(from_bare["path"], from_work_tree["path"]);
    assert_eq!(from_bare["inputs"], json!({}));
}

/// flakes.sh "Test path flakes" (`nix flake lock path://…/flake5` writes flake5's lock),
/// "Test tarball flakes", "Building with a tarball URL containing a SRI hash should also work"
/// (`.url` of `flake metadata --json` has the `sha256-` narHash) and "Building with an incorrect
/// SRI hash should fail" (`NAR hash mismatch`, exit 102).
#[test]
fn path_and_tarball_flakes() {
    let f = Fixture::new();
    let env = &f.env;
    let hash2 = f.flake1_at_hash2();
    let tarball = f.tarball();
    let v = read_lock(env, env.path("flake5/flake.lock"));
    assert_eq!(jq(&v, ".nodes.flake1.locked.rev"), &json!(hash2));

    let url = metadata(env, &tarball, &[])["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("sha256-"), "{url}");
    lock_ok(env, &url.replace(ROOT, &env.root().to_string_lossy()), &[]);

    let bad = format!("{tarball}?narHash=sha256-qQ2Zz4DNHViCUrp6gTS7EE4+RMqFQtUfWF2UNUtJKS0=");
    let out = lock(env, &bad, &[]);
    assert_eq!(out.status().code(), Some(102), "{out}");
    assert!(out.stderr().contains("NAR hash mismatch"), "{out}");
}

/// flakes.sh "Test --override-input": `flake2/flake1` overridden by the tarball, by `flake1`
/// (hash2) and by `flake1/master/<hash1>` is locked to that ref; the override is not written
/// (rflake's `archive`/`metadata` imply `--no-write-lock-file`, spec C5) and `original` keeps
/// the declared ref; the archive lists the override's store path.
#[test]
fn override_input_is_locked_but_not_persisted() {
    let f = Fixture::new();
    let env = &f.env;
    let hash2 = f.flake1_at_hash2();
    let tarball = f.tarball();
    f.flake3_with_committed_lock();
    let flake3 = Fixture::p(&f.flake3);
    let lock_path = f.flake3.path().join("flake.lock");
    let before = fs::read(&lock_path).unwrap();

    let (v, out) = metadata_out(
        env,
        &flake3,
        &["--override-input", "flake2/flake1", &tarball],
    );
    let url = jq(&v, ".locks.nodes.flake1_2.locked.url").as_str().unwrap();
    assert!(url.contains("flake.tar.gz"), "{v}");
    assert_eq!(
        jq(&v, ".locks.nodes.flake1_2.original"),
        &json!({"id": "flake1", "type": "indirect"})
    );
    assert!(
        out.stderr()
            .contains("warning: not writing modified lock file of flake '"),
        "{out}"
    );
    assert_eq!(fs::read(&lock_path).unwrap(), before);

    let archived = archive_json(
        env,
        &flake3,
        &["--dry-run", "--override-input", "flake2/flake1", &tarball],
    );
    let tar_path = &metadata(env, &tarball, &[])["path"];
    assert_eq!(jq(&archived, ".inputs.flake2.inputs.flake1.path"), tar_path);
    assert_eq!(fs::read(&lock_path).unwrap(), before);

    let v = metadata(
        env,
        &flake3,
        &["--override-input", "flake2/flake1", "flake1"],
    );
    assert_eq!(jq(&v, ".locks.nodes.flake1_2.locked.rev"), &json!(hash2));
    let pinned = format!("flake1/master/{}", f.hash1);
    let v = metadata(
        env,
        &flake3,
        &["--override-input", "flake2/flake1", &pinned],
    );
    assert_eq!(jq(&v, ".locks.nodes.flake1_2.locked.rev"), &json!(f.hash1));
    assert_eq!(fs::read(&lock_path).unwrap(), before);
}

/// flakes.sh "Test that --override-input with empty input path is rejected (issue #14816)" and
/// "Test that deprecated --update-input with empty input path is rejected".
#[test]
fn empty_input_paths_are_rejected() {
    let f = Fixture::new();
    let env = &f.env;
    let flake3 = Fixture::p(&f.flake3);
    let err = lock_fails(env, &flake3, &["--override-input", "", "."]);
    assert!(
        err.contains("--override-input was passed a zero-length input path, which would refer to the flake itself, not an input"),
        "{err}"
    );
    let err = lock_fails(env, &flake3, &["--update-input", ""]);
    assert!(
        err.contains("--update-input was passed a zero-length input path, which would refer to the flake itself, not an input"),
        "{err}"
    );
}

/// flakes.sh "Test --update-input" and "Test updating multiple inputs": a lock pinning
/// `flake2/flake1` (and `flake1`) to hash1 is kept by a plain lock, and `--update-input` moves
/// exactly the named inputs to hash2. The pinned locks come from `flake metadata --json
/// --override-input` and are written to `flake.lock` by the test (see the module comment).
#[test]
fn update_input_relocks_the_named_inputs() {
    let f = Fixture::new();
    let env = &f.env;
    let hash2 = f.flake1_at_hash2();
    f.flake3_with_committed_lock();
    let flake3 = Fixture::p(&f.flake3);
    let lock_path = f.flake3.path().join("flake.lock");
    let pinned = format!("flake1/master/{}", f.hash1);

    let v = metadata(
        env,
        &flake3,
        &["--override-input", "flake2/flake1", &pinned],
    );
    write_lock(env, &lock_path, &v["locks"]);
    lock_ok(env, &flake3, &[]);
    let v = read_lock(env, &lock_path);
    assert_eq!(jq(&v, ".nodes.flake1_2.locked.rev"), &json!(f.hash1));

    let out = lock_ok(env, &flake3, &["--update-input", "flake2/flake1"]);
    assert!(
        out.stderr().contains("warning: '--update-input' is a deprecated alias for 'flake update' and will be removed in a future version."),
        "{out}"
    );
    let v = read_lock(env, &lock_path);
    assert_eq!(jq(&v, ".nodes.flake1_2.locked.rev"), &json!(hash2));
    assert_eq!(jq(&v, ".nodes.flake1.locked.rev"), &json!(hash2));

    let v = metadata(
        env,
        &flake3,
        &[
            "--override-input",
            "flake1",
            &pinned,
            "--override-input",
            "flake2/flake1",
            &pinned,
        ],
    );
    write_lock(env, &lock_path, &v["locks"]);
    let v = read_lock(env, &lock_path);
    assert_eq!(jq(&v, ".nodes.flake1.locked.rev"), &json!(f.hash1));
    assert_eq!(jq(&v, ".nodes.flake1_2.locked.rev"), &json!(f.hash1));

    lock_ok(
        env,
        &flake3,
        &[
            "--update-input",
            "flake1",
            "--update-input",
            "flake2/flake1",
        ],
    );
    let v = read_lock(env, &lock_path);
    assert_eq!(jq(&v, ".nodes.flake1.locked.rev"), &json!(hash2));
    assert_eq!(jq(&v, ".nodes.flake1_2.locked.rev"), &json!(hash2));
}

/// flakes.sh "Test alternate lockfile paths": `--output-lock-file` writes the same bytes as
/// flake2's own lock; an overridden lock differs; `--reference-lock-file` with it locks
/// flake1 at the original commit (and leaves flake2's lock alone); `--no-allow-dirty` with
/// `--reference-lock-file` fails. The overridden lock comes from `flake metadata --json
/// --override-input` (rflake's `--output-lock-file` is not written under `--override-input`,
/// which the test checks too).
#[test]
fn output_and_reference_lock_files() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    f.commit_flake2_lock();
    let flake2 = Fixture::p(&f.flake2);
    let own = f.flake2.path().join("flake.lock");
    let own_bytes = fs::read(&own).unwrap();

    let out_lock = env.path("flake2.lock");
    let out = lock_ok(
        env,
        &flake2,
        &["--output-lock-file", &out_lock.display().to_string()],
    );
    assert_eq!(fs::read(&out_lock).unwrap(), own_bytes, "{out}");
    assert_eq!(fs::read(&own).unwrap(), own_bytes);

    let original_commit = f.flake1.url(&format!("?rev={}", f.hash1));
    let not_written = env.path("flake2-not-written.lock");
    lock_ok(
        env,
        &flake2,
        &[
            "--output-lock-file",
            &not_written.display().to_string(),
            "--override-input",
            "flake1",
            &original_commit,
        ],
    );
    assert!(!not_written.exists());

    let overridden = env.path("flake2-overridden.lock");
    let v = metadata(
        env,
        &flake2,
        &["--override-input", "flake1", &original_commit],
    );
    write_lock(env, &overridden, &v["locks"]);
    assert_ne!(fs::read(&overridden).unwrap(), own_bytes);

    let overridden_s = overridden.display().to_string();
    let v = metadata(env, &flake2, &["--reference-lock-file", &overridden_s]);
    assert_eq!(jq(&v, ".locks.nodes.flake1.locked.rev"), &json!(f.hash1));
    assert_eq!(fs::read(&own).unwrap(), own_bytes);
    let out = env.run(&[
        "flake",
        "metadata",
        "--json",
        &flake2,
        "--reference-lock-file",
        &overridden_s,
    ]);
    assert!(out.stdout().contains(&f.hash1), "{out}");

    let out = env.run(&[
        "flake",
        "metadata",
        &flake2,
        "--no-allow-dirty",
        "--reference-lock-file",
        &overridden_s,
    ]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(
        out.stderr().contains(
            "reference lock file was provided, but the `allow-dirty` setting is set to false"
        ),
        "{out}"
    );
}

/// flakes.sh "After changing an input (flake2 from newFlake2Rev to prevFlake2Rev), we should
/// have the transitive inputs locked by revision $prevFlake2Rev of flake2": flake3 pinning
/// `flake:flake2/master/<rev>` gets flake1 at the revision that flake2's lock at `<rev>` names.
#[test]
fn transitive_inputs_come_from_the_pinned_input_lock() {
    let f = Fixture::new();
    let env = &f.env;
    f.flake1_at_hash2();
    f.commit_flake2_lock();
    let flake1 = Fixture::p(&f.flake1);
    let flake2 = Fixture::p(&f.flake2);
    let flake3 = Fixture::p(&f.flake3);
    let prev_flake1 = metadata(env, &flake1, &[])["revision"].clone();
    let prev_flake2 = metadata(env, &flake2, &[])["revision"].clone();

    let nix = f.flake1.path().join("flake.nix");
    let mut text = fs::read_to_string(&nix).unwrap();
    text.push_str("# bla\n");
    fs::write(&nix, text).unwrap();
    f.flake1.git(&["add", "flake.nix"]);
    f.flake1.commit("bla");
    lock_ok(env, &flake2, &["--recreate-lock-file"]);
    f.flake2.git(&["add", "flake.lock"]);
    f.flake2.commit("bla");
    let new_flake1 = metadata(env, &flake1, &[])["revision"].clone();
    let new_flake2 = metadata(env, &flake2, &[])["revision"].clone();
    assert_ne!(new_flake1, prev_flake1);

    let pin = |rev: &Value| {
        format!(
            "{{\n  inputs.flake2.url = \"flake:flake2/master/{}\";\n\n  outputs = {{ self, flake2 }}: {{\n  }};\n}}\n",
            rev.as_str().unwrap()
        )
    };
    f.flake3.write("flake.nix", pin(&new_flake2));
    f.flake3.git(&["add", "flake.nix"]);
    f.flake3.commit("bla");
    let _ = fs::remove_file(f.flake3.path().join("flake.lock"));
    lock_ok(env, &flake3, &[]);
    let v = metadata(env, &flake3, &[]);
    assert_eq!(jq(&v, ".locks.nodes.flake1.locked.rev"), &new_flake1);

    f.flake3.write("flake.nix", pin(&prev_flake2));
    let v = metadata(env, &flake3, &[]);
    assert_eq!(jq(&v, ".locks.nodes.flake1.locked.rev"), &prev_flake1);
}

/// flakes.sh "Regression test for https://github.com/NixOS/nix/issues/13918": with
/// `--inputs-from` a flake whose input `foo1` is `path:<base>?dir=foo1`, the reference `foo1`
/// resolves to that path *with* its `dir` (the script evaluates `foo1#shouldBeOne`; here the
/// resolution is checked), and the `--inputs-from` flake's lock is not written. The same
/// entry serves an indirect input in a flake.nix (spec B3.1, §6.7).
#[test]
fn inputs_from_keeps_the_subdirectory() {
    let f = Fixture::new();
    let env = &f.env;
    let base = env.path("base");
    write_simple_flake(&base);
    fs::create_dir_all(base.join("foo1")).unwrap();
    fs::write(
        base.join("foo1/flake.nix"),
        "{\n  outputs = inputs: {\n    shouldBeOne = 1;\n  };\n}\n",
    )
    .unwrap();
    fs::create_dir_all(base.join("foo2")).unwrap();
    fs::write(
        base.join("foo2/flake.nix"),
        format!(
            "{{\n  inputs.foo1.url = \"path:{}?dir=foo1\";\n\n  outputs = inputs: {{ }};\n}}\n",
            base.display()
        ),
    )
    .unwrap();
    let foo2 = base.join("foo2").display().to_string();

    let v = metadata(env, "foo1", &["--inputs-from", &foo2]);
    assert_eq!(jq(&v, ".resolved.type"), &json!("path"));
    assert_eq!(jq(&v, ".resolved.path"), &json!(shown("base")));
    assert_eq!(jq(&v, ".resolved.dir"), &json!("foo1"));
    assert_eq!(jq(&v, ".locked.dir"), &json!("foo1"));
    assert!(!base.join("foo2/flake.lock").exists());

    let user = env.path("user");
    fs::create_dir_all(&user).unwrap();
    fs::write(
        user.join("flake.nix"),
        "{\n  inputs.foo1 = { };\n  outputs = { self, foo1 }: { };\n}\n",
    )
    .unwrap();
    let user_s = user.display().to_string();
    lock_ok(env, &user_s, &["--inputs-from", &foo2]);
    let v = read_lock(env, user.join("flake.lock"));
    assert_eq!(
        jq(&v, ".nodes.foo1.original"),
        &json!({"id": "foo1", "type": "indirect"})
    );
    assert_eq!(jq(&v, ".nodes.foo1.locked.path"), &json!(shown("base")));
    assert_eq!(jq(&v, ".nodes.foo1.locked.dir"), &json!("foo1"));
    assert!(!base.join("foo2/flake.lock").exists());
}
