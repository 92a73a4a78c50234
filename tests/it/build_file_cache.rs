//! `rflake build -f` through the cache of file installables (`src/eval_trace.rs`, beyond
//! Nix): an installable whose evaluation observed only files, types, directories and added
//! sources is not evaluated again while all of them are as they were and its `.drv` is valid.
//! A hit is made visible by pointing the cached entry at another valid derivation: a build
//! that answers from the cache then prints that derivation's output, one that evaluates
//! prints the file's own.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use crate::build_oracle::store_arg;
use crate::support::{CommandOutput, TestEnv};

const LIB: &str = r#"{ tag, src }: derivation {
  name = "file-cache-${tag}";
  system = "x86_64-linux";
  builder = "/bin/sh";
  inherit src;
  args = [ "-c" "read -r x < $src/x; echo ${tag} $x > $out" ];
}
"#;

const DEFAULT: &str = r#"let lib = import ./lib.nix; in {
  a = lib { tag = if builtins.pathExists ./absent then "a-absent" else "a"; src = ./data; };
  b = lib { tag = "b"; src = ./data; };
  traced = builtins.trace "evaluated traced" (lib { tag = "t"; src = ./data; });
  env = lib { tag = builtins.replaceStrings [ "/" ] [ "-" ] (builtins.getEnv "HOME"); src = ./data; };
}
"#;

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    env.write("work/lib.nix", LIB);
    env.write("work/default.nix", DEFAULT);
    env.write("work/data/x", "one\n");
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    env
}

fn build(env: &TestEnv, store: &str, extra: &[&str]) -> CommandOutput {
    let mut args = vec!["build", "--store", store, "-f", ".", "--no-link", "--json"];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.success(), "{out}");
    out
}

/// The `(drvPath, out)` of a one-installable `--json` result.
fn result(out: &CommandOutput) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let r = &v[0];
    (
        r["drvPath"].as_str().unwrap().to_owned(),
        r["outputs"]["out"].as_str().unwrap().to_owned(),
    )
}

fn entries(env: &TestEnv) -> Vec<PathBuf> {
    env.entries("cache/nix/rflake-file-eval-cache-v1")
}

/// Points every cached entry for derivation `from` at derivation `to`; how many there were.
fn poison(env: &TestEnv, from: &str, to: &str) -> usize {
    let mut n = 0;
    for p in entries(env) {
        let text = std::fs::read_to_string(&p).unwrap();
        let from_json = format!("\"drv\":\"{from}\"");
        if text.contains(&from_json) {
            std::fs::write(&p, text.replace(&from_json, &format!("\"drv\":\"{to}\""))).unwrap();
            n += 1;
        }
    }
    n
}

#[test]
fn unchanged_files_are_built_without_evaluating_them_again() {
    let env = setup();
    let store = store_arg(&env, "store");
    let (a_drv, a_out) = result(&build(&env, &store, &["a"]));
    let (b_drv, b_out) = result(&build(&env, &store, &["b"]));
    assert_ne!(a_out, b_out);
    assert_eq!(entries(&env).len(), 2);

    // An unchanged file answers from the cache: the (poisoned) entry's derivation is built.
    assert_eq!(poison(&env, &a_drv, &b_drv), 1);
    assert_eq!(
        result(&build(&env, &store, &["a"])),
        (b_drv.clone(), b_out.clone())
    );

    // Another store, where the cached derivation is not valid, evaluates.
    let other = store_arg(&env, "store2");
    assert_eq!(result(&build(&env, &other, &["a"])).1, a_out);

    // Each thing the evaluation observed, changed, makes it evaluate again.
    type Change = fn(&TestEnv);
    let changes: [(&str, Change); 4] = [
        ("an imported file", |e| {
            e.write("work/lib.nix", LIB.replace("echo", "echo changed"))
        }),
        ("a file under an added source", |e| {
            e.write("work/data/x", "two\n")
        }),
        ("a file in an added source appearing", |e| {
            e.write("work/data/y", "")
        }),
        ("a path whose absence was seen", |e| {
            e.write("work/absent", "")
        }),
    ];
    let mut last = a_out.clone();
    for (what, change) in changes {
        let (drv, out) = result(&build(&env, &store, &["a"]));
        assert_eq!(poison(&env, &drv, &b_drv), 1, "{what}");
        change(&env);
        let (_, fresh) = result(&build(&env, &store, &["a"]));
        assert_ne!(fresh, b_out, "{what}: the stale entry was used");
        assert_ne!(fresh, out, "{what}: the result did not change");
        assert_ne!(fresh, last, "{what}");
        last = fresh;
    }

    // The arguments are part of what is cached: `--arg` evaluates (and is cached apart).
    let before = entries(&env).len();
    build(&env, &store, &["a", "--arg", "unused", "1"]);
    assert_eq!(entries(&env).len(), before + 1);
}

#[test]
fn evaluations_that_print_read_the_environment_or_opt_out_are_not_cached() {
    let env = setup();
    let store = store_arg(&env, "store");
    for _ in 0..2 {
        let out = build(&env, &store, &["traced"]);
        assert!(out.stderr().contains("trace: evaluated traced"), "{out}");
    }
    build(&env, &store, &["env"]);
    assert_eq!(entries(&env).len(), 0);
    build(&env, &store, &["a", "--option", "eval-cache", "false"]);
    assert_eq!(entries(&env).len(), 0);
    build(&env, &store, &["a"]);
    assert_eq!(entries(&env).len(), 1);
}
