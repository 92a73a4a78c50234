//! Ports of the locking and archiving assertions of Nix's functional tests
//! (`tests/functional/flakes/*.sh` in the Nix source), one file per script.
//!
//! rflake has no `nix flake lock`, `nix flake update`, `nix build` or `nix eval`, so the
//! scripts' commands are translated:
//!
//! - `nix flake lock F` → `rflake flake archive --dry-run F` (locks and writes `flake.lock`
//!   exactly as Nix does; `--dry-run` only skips the copy);
//! - `nix flake update [INPUTS] --flake F` → the same with `--recreate-lock-file` (all inputs)
//!   or `--update-input I` per input;
//! - `nix flake lock F --override-input …` → `rflake flake metadata --json F --override-input …`
//!   and a query of `.locks`: like current Nix's `flake archive` and `flake metadata`,
//!   `--override-input` implies `--no-write-lock-file` there (only `nix flake lock` writes
//!   overridden locks). Where a script needs such a lock on disk for later steps, the test
//!   writes the `.locks` value to `flake.lock` itself and says so;
//! - `nix build`/`nix eval` of an installable → a lock of the flake when the script relies on
//!   the lock file it writes; assertions on evaluated values are skipped.
//!
//! These tests run rflake only, so they check current Nix's behaviour (spec Part C), including
//! what Nix 2.8 lacks: relative path inputs, overrides nested more than one level, follows cycle
//! errors, `--reference-lock-file`/`--output-lock-file`.
//!
//! Paths in command output are normalised to `$TEST_ENV` by the support code; lock files read
//! from disk are normalised the same way ([`read_lock`]), so expectations are written with
//! `$TEST_ENV`.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod circular;
mod flakes;
mod follow_paths;
mod non_flake_inputs;
mod old_lockfiles;
mod relative_paths;
mod unlocked_override;

use std::path::Path;

use serde_json::Value;

use crate::support::{CommandOutput, GitRepo, TestEnv};

/// The placeholder the support code puts for the test root.
pub const ROOT: &str = "$TEST_ENV";

/// Runs `rflake flake archive --dry-run <flake> <extra…>`: the translation of `nix flake lock`.
pub fn lock(env: &TestEnv, flake: &str, extra: &[&str]) -> CommandOutput {
    let mut args = vec!["flake", "archive", "--dry-run", flake];
    args.extend_from_slice(extra);
    env.run(&args)
}

/// Like [`lock`], asserting success.
pub fn lock_ok(env: &TestEnv, flake: &str, extra: &[&str]) -> CommandOutput {
    let out = lock(env, flake, extra);
    assert!(out.success(), "locking {flake} {extra:?} failed:\n{out}");
    out
}

/// Like [`lock`], asserting exit status 1; returns stderr.
pub fn lock_fails(env: &TestEnv, flake: &str, extra: &[&str]) -> String {
    let out = lock(env, flake, extra);
    assert_eq!(
        out.status().code(),
        Some(1),
        "locking {flake} {extra:?} should fail with 1:\n{out}"
    );
    out.stderr().to_owned()
}

/// Runs `rflake flake archive --json <extra…> <flake>` (add `--dry-run` in `extra` for a dry
/// run), asserting success; returns the JSON.
pub fn archive_json(env: &TestEnv, flake: &str, extra: &[&str]) -> Value {
    let mut args = vec!["flake", "archive", "--json", flake];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.success(), "archive {flake} {extra:?} failed:\n{out}");
    serde_json::from_str(out.stdout())
        .unwrap_or_else(|e| panic!("archive output is not JSON ({e}):\n{out}"))
}

/// Runs `rflake flake metadata --json <flake> <extra…>`, asserting success; returns the JSON
/// and the whole output (for stderr checks).
pub fn metadata_out(env: &TestEnv, flake: &str, extra: &[&str]) -> (Value, CommandOutput) {
    let mut args = vec!["flake", "metadata", "--json", flake];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.success(), "metadata {flake} {extra:?} failed:\n{out}");
    let v = serde_json::from_str(out.stdout())
        .unwrap_or_else(|e| panic!("metadata output is not JSON ({e}):\n{out}"));
    (v, out)
}

/// [`metadata_out`] without the output.
pub fn metadata(env: &TestEnv, flake: &str, extra: &[&str]) -> Value {
    metadata_out(env, flake, extra).0
}

/// Reads a lock file, with the test root replaced by `$TEST_ENV`.
pub fn read_lock(env: &TestEnv, path: impl AsRef<Path>) -> Value {
    let text = read_text(env, path);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("lock file is not JSON ({e}):\n{text}"))
}

/// Reads a file as text, with the test root replaced by `$TEST_ENV`.
pub fn read_text(env: &TestEnv, path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.replace(&*env.root().to_string_lossy(), ROOT)
}

/// Writes a lock-file value (with `$TEST_ENV` placeholders, e.g. the `.locks` of
/// `flake metadata --json`) to `path`, the placeholders replaced by the real root.
pub fn write_lock(env: &TestEnv, path: impl AsRef<Path>, lock: &Value) {
    let text = serde_json::to_string_pretty(lock).unwrap() + "\n";
    let text = text.replace(ROOT, &env.root().to_string_lossy());
    std::fs::write(path, text).unwrap();
}

/// The value at a jq-style path (`.nodes.B.inputs.foobar`); `null` when absent, as jq says.
pub fn jq<'a>(v: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    let mut cur = v;
    for key in path.split('.').filter(|k| !k.is_empty()) {
        match cur.get(key) {
            Some(next) => cur = next,
            None => return &NULL,
        }
    }
    cur
}

/// The keys of the object at `path`, sorted (`jq -r 'keys[]'`).
pub fn keys(v: &Value, path: &str) -> Vec<String> {
    match jq(v, path) {
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("{path} is not an object: {other}"),
    }
}

/// `$TEST_ENV/<rel>`: how a path under the test root appears in normalised output.
pub fn shown(rel: &str) -> String {
    format!("{ROOT}/{rel}")
}

/// Asserts that some line of `text` contains all `parts`, in this order (a `grep` with
/// `part1.*part2.*…`).
#[track_caller]
pub fn assert_line(text: &str, parts: &[&str]) {
    let found = text.lines().any(|line| {
        let mut rest = line;
        parts.iter().all(|p| match rest.find(p) {
            Some(i) => {
                rest = &rest[i + p.len()..];
                true
            }
            None => false,
        })
    });
    assert!(found, "no line matches {parts:?} in:\n{text}");
}

/// A git repository as the scripts' `createGitRepo` makes it: `git init` on `branch`, with a
/// committer identity in its own configuration (rflake runs `git commit` for
/// `--commit-lock-file` with the test environment, which has no identity).
pub fn git_repo(path: impl Into<std::path::PathBuf>, branch: &str) -> GitRepo {
    let repo = GitRepo::init(path);
    if branch != "master" {
        repo.git(&["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")]);
    }
    repo.git(&["config", "user.email", "foobar@example.com"]);
    repo.git(&["config", "user.name", "Foobar"]);
    repo
}

/// Adds `id` → `url` to the global registry (the scripts' `nix registry add --registry
/// "$registry"`, whose file is the `flake-registry` of their test configuration).
pub fn registry_add(env: &TestEnv, id: &str, url: &str) {
    let global = env.global_registry_path().display().to_string();
    let out = env.run(&["registry", "add", "--registry", &global, id, url]);
    assert!(out.success(), "registry add {id} {url} failed:\n{out}");
}

/// The body of the scripts' `writeSimpleFlake` (`description = "Bla bla"`, no inputs), and the
/// files it copies next to it.
pub fn write_simple_flake(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("flake.nix"),
        r#"{
  description = "Bla bla";

  outputs = inputs: rec {
    packages.x86_64-linux = rec {
      foo = import ./simple.nix;
      default = foo;
    };
    root = ./.;
    number = 123;
  };
}
"#,
    )
    .unwrap();
    std::fs::write(dir.join("simple.nix"), "{ }\n").unwrap();
    std::fs::write(dir.join("shell.nix"), "{ }: { }\n").unwrap();
    std::fs::write(dir.join("simple.builder.sh"), "echo hello\n").unwrap();
    std::fs::write(dir.join("config.nix"), "{ }\n").unwrap();
}

/// The NAR hash rflake's fetcher computes for `url` (`flake prefetch --json`).
pub fn prefetch_hash(env: &TestEnv, url: &str) -> String {
    let out = env.run(&["flake", "prefetch", "--json", url]);
    assert!(out.success(), "prefetch {url} failed:\n{out}");
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    v["hash"].as_str().unwrap().to_owned()
}

/// Where the store object printed as `/nix/store/<base>` lives on disk in the store `store`
/// (a directory, e.g. the test environment's `store/`).
pub fn in_store(store: &Path, printed: &str) -> std::path::PathBuf {
    store.join(printed.trim_start_matches('/'))
}

/// Runs rflake with `args` in the directory `dir` (the scripts' `(cd "$dir" && nix …)`).
pub fn run_in(env: &TestEnv, dir: &Path, args: &[&str]) -> CommandOutput {
    env.run_command(
        env.command(env!("CARGO_BIN_EXE_rflake"))
            .current_dir(dir)
            .args(args),
    )
}
