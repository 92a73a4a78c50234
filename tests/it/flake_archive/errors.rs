//! Failures of `flake archive`: Nix's message (current wording, spec B, C, D6), Nix's exit code,
//! and no file of the flake changed (no lock file written, none rewritten).

use super::{A_HASH, assert_error, snapshot, write_inputs, write_root, write_tree};
use crate::support::{CommandOutput, GitRepo, TestEnv};

/// Runs `args` in `work/<dir>` and asserts that nothing under `work/` changed.
fn run_unchanged(env: &mut TestEnv, dir: &str, args: &[&str]) -> CommandOutput {
    env.set_cwd(format!("work/{dir}"));
    let work = env.path("work");
    let before = snapshot(&work);
    let out = env.run(args);
    assert_eq!(snapshot(&work), before, "files changed: {out:?}");
    out
}

/// A `path:` flake at `work/<dir>` with this `flake.nix`.
fn flake(env: &TestEnv, dir: &str, nix: &str) {
    write_root(env, dir, nix);
}

/// The first `error:` line, for messages whose position text rflake need not match.
fn error_line(out: &CommandOutput) -> &str {
    out.stderr()
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {out:?}"))
}

#[test]
fn missing_flake_nix_in_a_git_repository() {
    let mut env = TestEnv::new();
    let repo = GitRepo::init(env.path("work/repo"));
    repo.write("README", "no flake here\n");
    repo.commit_all("init");
    let out = run_unchanged(&mut env, "repo", &["flake", "archive"]);
    // The upward search stops at the repository's top (flake-ref spec §3.5).
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert_eq!(
        out.stderr(),
        "path \"$TEST_ENV/work/repo\" does not contain a 'flake.nix', searching up\n\
         error: path \"$TEST_ENV/work/repo\" is not part of a flake (neither it nor its parent \
         directories contain a 'flake.nix' file)\n"
    );
}

#[test]
fn missing_flake_nix_in_a_path_flake() {
    let mut env = TestEnv::new();
    write_tree(&env, "work/noflake", &[("README", "no flake here\n")]);
    let dir = env.path("work/noflake").display().to_string();
    let out = run_unchanged(
        &mut env,
        "noflake",
        &["flake", "archive", &format!("path:{dir}")],
    );
    // Nix reads the copy in the store (spec B1); the tree's path is Nix 2.8's
    // `nix store add-path --name source` of the same tree.
    assert_error(
        &out,
        1,
        "path '/nix/store/yp5m3z1m89nfbkhsicyq57yfi6llj73v-source/flake.nix' does not exist",
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let mut env = TestEnv::new();
    flake(
        &env,
        "root",
        "{\n  description = \"x\";\n  outputs = ;\n}\n",
    );
    let out = run_unchanged(&mut env, "root", &["flake", "archive"]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    // The file the user edits, not its copy in the store (issue 12.5), with current Nix's
    // position line and code frame (`showErrorInfo`, `printCodeLines`).
    assert_eq!(
        out.stderr(),
        "error: syntax error, unexpected ';'\n       \
         at $TEST_ENV/work/root/flake.nix:3:13:\n            \
         2|   description = \"x\";\n            \
         3|   outputs = ;\n             \
         |             ^\n            \
         4| }\n",
        "{out:?}"
    );
}

#[test]
fn computed_values_are_thunks() {
    let mut env = TestEnv::new();
    // Spec B1.3: only trivial values are forced. `url` may also be a path literal in current
    // Nix (spec E1), hence its wording (`parseFlakeInput` in Nix's `src/libflake/flake.cc`;
    // 2.8 said `expected a string but got a thunk`).
    flake(
        &env,
        "url",
        "{\n  inputs.a.url = \"path:\" + \"/x\";\n  outputs = { self, a }: { };\n}\n",
    );
    let out = run_unchanged(&mut env, "url", &["flake", "archive"]);
    assert_thunk(
        &out,
        "expected a string or a path but got a thunk at ",
        "url",
        2,
    );
    // `description` must be a string (`expectType`).
    flake(
        &env,
        "description",
        "{\n  outputs = { self }: { };\n  description = \"a\" + \"b\";\n}\n",
    );
    let out = run_unchanged(&mut env, "description", &["flake", "archive"]);
    assert_thunk(
        &out,
        "expected a string but got a thunk at ",
        "description",
        3,
    );
}

/// Asserts `error: <prefix>$TEST_ENV/work/<dir>/flake.nix:<line>:…` and the code frame: the
/// position names the user's `flake.nix`, not its copy in the store (issue 12.5); its column
/// text is rflake's own.
#[track_caller]
fn assert_thunk(out: &CommandOutput, prefix: &str, dir: &str, line: u32) {
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    let file = format!("$TEST_ENV/work/{dir}/flake.nix:{line}:");
    assert!(
        error_line(out).starts_with(&format!("error: {prefix}{file}")),
        "{out:?}"
    );
    let mut rest = out.stderr().lines().skip(1);
    assert!(
        rest.next()
            .is_some_and(|l| l.starts_with(&format!("       at {file}"))),
        "{out:?}"
    );
    assert!(
        rest.any(|l| l.starts_with(&format!("       {line:>6}| "))),
        "{out:?}"
    );
}

#[test]
fn unknown_input_type() {
    let mut env = TestEnv::new();
    flake(
        &env,
        "root",
        "{\n  inputs.a = { type = \"bogus\"; };\n  outputs = { self, a }: { };\n}\n",
    );
    let out = run_unchanged(&mut env, "root", &["flake", "archive"]);
    // The fetcher's message (flake-ref spec §4.0); Nix 2.8 prints exactly this. (Current Nix
    // throws it too, then fails again rendering the trace line `while fetching the input '…'`
    // of an input it cannot show: `cannot show unsupported input '…'`.)
    assert_error(
        &out,
        1,
        r#"cannot fetch unsupported input '{"type":"bogus"}'"#,
    );
}

#[test]
fn missing_path_input() {
    let mut env = TestEnv::new();
    flake(
        &env,
        "root",
        "{\n  inputs.a.url = \"path:/nonexistent\";\n  outputs = { self, a }: { };\n}\n",
    );
    let out = run_unchanged(&mut env, "root", &["flake", "archive"]);
    assert_error(
        &out,
        1,
        "getting status of '/nonexistent': No such file or directory",
    );
}

#[test]
fn out_of_date_lock_with_no_update_lock_file() {
    let mut env = TestEnv::new();
    write_inputs(&env);
    flake(
        &env,
        "root",
        "{\n  inputs.a.url = \"path:@W@/a\";\n  outputs = { self, ... }: { };\n}\n",
    );
    env.set_cwd("work/root");
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    // A new input: the lock must change.
    flake(
        &env,
        "root",
        "{\n  inputs.a.url = \"path:@W@/a\";\n  inputs.data = { url = \"path:@W@/data\"; flake = false; };\n  outputs = { self, ... }: { };\n}\n",
    );
    let out = run_unchanged(
        &mut env,
        "root",
        &["flake", "archive", "--dry-run", "--no-update-lock-file"],
    );
    assert_error(
        &out,
        1,
        "flake 'path:$TEST_ENV/work/root' requires lock file changes but they're not allowed due to '--no-update-lock-file'",
    );
}

#[test]
fn follows_cycle() {
    let mut env = TestEnv::new();
    flake(
        &env,
        "root",
        "{\n  inputs = {\n    foo.follows = \"bar\";\n    bar.follows = \"baz\";\n    baz.follows = \"foo\";\n  };\n  outputs = { self, ... }: { };\n}\n",
    );
    let out = run_unchanged(&mut env, "root", &["flake", "archive", "--dry-run"]);
    // Current Nix (spec C6); 2.8 wrote the cycle into the lock file.
    assert_error(&out, 1, "follow cycle detected: [baz -> foo -> bar -> baz]");
}

#[test]
fn nar_hash_mismatch_exits_102() {
    let mut env = TestEnv::new();
    write_inputs(&env);
    flake(
        &env,
        "root",
        "{\n  inputs.a.url = \"path:@W@/a\";\n  outputs = { self, ... }: { };\n}\n",
    );
    env.set_cwd("work/root");
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    // The locked input changes afterwards (same dates); a fresh store has no copy of the old
    // tree, so archiving must fetch it and finds another hash.
    write_tree(
        &env,
        "work/a",
        &[(
            "flake.nix",
            "{\n  description = \"a, edited\";\n  outputs = { self }: { };\n}\n",
        )],
    );
    let fresh = env.path("fresh").display().to_string();
    let out = run_unchanged(&mut env, "root", &["flake", "archive", "--store", &fresh]);
    // The new hash is Nix 2.8's `nix hash path` of the edited tree.
    assert_error(
        &out,
        102,
        &format!(
            "NAR hash mismatch in input 'path:$TEST_ENV/work/a?lastModified=1700000000&narHash={}', expected '{A_HASH}' but got 'sha256-mIpLpQXpxDfdQClUnX1svoAM83LmsiE8sYeBK/ZISz8='",
            A_HASH.replace('+', "%2B").replace('=', "%3D")
        ),
    );
    // The JSON is printed only after the walk: nothing on stdout (spec D3).
    assert_eq!(out.stdout(), "");
}

#[test]
fn usage_errors_exit_1_and_lock_nothing() {
    let mut env = TestEnv::new();
    write_inputs(&env);
    flake(
        &env,
        "root",
        "{\n  inputs.a.url = \"path:@W@/a\";\n  outputs = { self, ... }: { };\n}\n",
    );
    let out = run_unchanged(&mut env, "root", &["flake", "archive", "--bogus"]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(error_line(&out).contains("'--bogus'"), "{out:?}");
    let out = run_unchanged(&mut env, "root", &["flake", "archive", ".", "extra"]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(error_line(&out).contains("'extra'"), "{out:?}");
    let out = run_unchanged(&mut env, "root", &["flake", "archive", "--to"]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(error_line(&out).contains("--to"), "{out:?}");
    assert!(!env.path("work/root/flake.lock").exists());
}

/// Issue 12.5: errors in the files of a local flake name the files the user edits (not their
/// copies in the store, which need not even exist with `--store DIR`) and show Nix's frame.
mod user_files {
    use super::*;

    #[test]
    fn syntax_error_in_a_git_work_tree_names_the_work_tree_file() {
        let mut env = TestEnv::new();
        let repo = GitRepo::init(env.path("work/repo"));
        repo.write("flake.nix", "{\n  outputs = { self }: { };\n}\n");
        repo.write(
            "sub/flake.nix",
            "{\n  description = \"sub\";\n  inputs = {\n    a.url = \"path:/x\"\n  };\n}\n",
        );
        repo.commit_all("init");
        let url = format!("git+file://{}?dir=sub", env.path("work/repo").display());
        let store = env.path("other-store").display().to_string();
        let out = run_unchanged(
            &mut env,
            "repo",
            &["flake", "archive", "--store", &store, &url],
        );
        assert_eq!(out.status().code(), Some(1), "{out:?}");
        assert_eq!(
            out.stderr(),
            "error: syntax error, unexpected '}', expecting ';'\n       \
             at $TEST_ENV/work/repo/sub/flake.nix:5:3:\n            \
             4|     a.url = \"path:/x\"\n            \
             5|   };\n             \
             |   ^\n            \
             6| }\n",
            "{out:?}"
        );
    }

    #[test]
    fn a_git_revision_is_not_the_work_tree_and_names_the_store_copy() {
        let mut env = TestEnv::new();
        let repo = GitRepo::init(env.path("work/repo"));
        repo.write("flake.nix", "{\n  outputs = ;\n}\n");
        repo.commit_all("init");
        let url = format!(
            "git+file://{}?rev={}",
            env.path("work/repo").display(),
            repo.rev("HEAD")
        );
        let out = run_unchanged(&mut env, "repo", &["flake", "archive", &url]);
        assert_eq!(out.status().code(), Some(1), "{out:?}");
        let at = out.stderr().lines().nth(1).unwrap_or_default();
        assert!(at.starts_with("       at /nix/store/"), "{out:?}");
        assert!(at.ends_with("-source/flake.nix:2:13:"), "{out:?}");
    }

    #[test]
    fn malformed_lock_files_name_the_users_file() {
        let mut env = TestEnv::new();
        flake(&env, "root", "{\n  outputs = { self }: { };\n}\n");
        let cases = [
            (
                "{\"nodes\": 3}",
                "lock file '$TEST_ENV/work/root/flake.lock' has unsupported version 0",
            ),
            ("{", "Could not parse '$TEST_ENV/work/root/flake.lock': "),
        ];
        for (text, want) in cases {
            env.write("work/root/flake.lock", text);
            let store = env.path("other-store").display().to_string();
            let out = run_unchanged(&mut env, "root", &["flake", "archive", "--store", &store]);
            assert_eq!(out.status().code(), Some(1), "{out:?}");
            assert!(
                error_line(&out).starts_with(&format!("error: {want}")),
                "{out:?}"
            );
            assert!(!out.stderr().contains("/nix/store/"), "{out:?}");
        }
    }

    #[test]
    fn internal_json_carries_the_position_of_a_syntax_error() {
        let mut env = TestEnv::new();
        flake(&env, "root", "{\n  outputs = ;\n}\n");
        let out = run_unchanged(
            &mut env,
            "root",
            &["flake", "archive", "--log-format", "internal-json"],
        );
        assert_eq!(out.status().code(), Some(1), "{out:?}");
        let last = out.stderr().lines().last().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(last.strip_prefix("@nix ").unwrap())
            .unwrap_or_else(|e| panic!("{e}: {out:?}"));
        assert_eq!(v["raw_msg"], "syntax error, unexpected ';'");
        assert_eq!(v["file"], "$TEST_ENV/work/root/flake.nix");
        assert_eq!(
            (v["line"].as_u64(), v["column"].as_u64()),
            (Some(2), Some(13))
        );
        assert!(
            v["msg"].as_str().unwrap().contains("2|   outputs = ;"),
            "{out:?}"
        );
    }
}
