//! `rflake build` of flake installables through the evaluation cache (`src/cli/build/cached.rs`,
//! Nix's eval cache as `nix build` uses it): the second build of an unchanged flake evaluates
//! nothing (its `builtins.trace` is not printed, as with Nix 2.8) and gives the same result;
//! another fragment, a changed flake, `--impure`, `eval-cache = false` and a store where the
//! cached `.drv` is not valid are evaluated.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::build_oracle::{run_nix, store_arg};
use crate::support::{CommandOutput, TestEnv, nix_available};

fn flake(tag: &str) -> String {
    format!(
        r#"{{
  outputs = _: let
    system = "x86_64-linux";
    drv = name: derivation {{ inherit name system; builder = "/bin/sh"; args = [ "-c" "echo {tag} > $out" ]; }};
  in {{
    packages.x86_64-linux.default = builtins.trace "evaluated default {tag}" (drv "cached");
    packages.x86_64-linux.other = builtins.trace "evaluated other {tag}" (drv "other");
  }};
}}
"#
    )
}

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    env.write("work/flake.nix", flake("one"));
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    env.add_nix_config(&format!("extra-sandbox-paths = {}", host_dirs.join(" ")));
    env
}

fn build(env: &TestEnv, nix: bool, store: &str, extra: &[&str]) -> CommandOutput {
    let mut args = vec!["build", "--store", store, "--no-link", "--json"];
    args.extend_from_slice(extra);
    let out = if nix {
        run_nix(env, &args)
    } else {
        env.run(&args)
    };
    assert!(out.success(), "{out}");
    out
}

fn traces(out: &CommandOutput) -> Vec<&str> {
    out.stderr()
        .lines()
        .filter(|l| l.starts_with("trace: "))
        .collect()
}

#[test]
fn unchanged_flakes_are_built_without_evaluating_them_again() {
    let env = setup();
    let store = store_arg(&env, "store");
    let first = build(&env, false, &store, &[".#default"]);
    assert_eq!(traces(&first), ["trace: evaluated default one"], "{first}");
    assert!(first.stderr().contains("building '"), "{first}");
    let files = std::fs::read_dir(env.path("cache/nix/rflake-eval-cache-v1"))
        .unwrap()
        .count();
    assert_eq!(files, 1);

    // The same flake, fragment and store: nothing evaluated, nothing built, the same result.
    let second = build(&env, false, &store, &[".#default"]);
    assert_eq!(second.stderr(), "", "{second}");
    assert_eq!(second.stdout(), first.stdout());

    // Another fragment of the same flake is evaluated, and then cached too.
    let other = build(&env, false, &store, &[".#other", ".#default"]);
    assert_eq!(traces(&other), ["trace: evaluated other one"], "{other}");
    let both = build(&env, false, &store, &[".#default", ".#other"]);
    assert!(traces(&both).is_empty(), "{both}");
    assert_eq!(both.stdout(), other.stdout());

    // As in Nix: `--impure` and `eval-cache = false` evaluate.
    for extra in [&["--impure"][..], &["--option", "eval-cache", "false"][..]] {
        let mut args = extra.to_vec();
        args.push(".#default");
        let out = build(&env, false, &store, &args);
        assert_eq!(traces(&out), ["trace: evaluated default one"], "{out}");
        assert_eq!(out.stdout(), first.stdout());
    }

    // A store where the cached `.drv` is not valid: evaluated (and built) there.
    let elsewhere = store_arg(&env, "store2");
    let fresh = build(&env, false, &elsewhere, &[".#default"]);
    assert_eq!(traces(&fresh), ["trace: evaluated default one"], "{fresh}");
    assert_eq!(fresh.stdout(), first.stdout());

    // A changed flake is a new fingerprint.
    env.write("work/flake.nix", flake("two"));
    let changed = build(&env, false, &store, &[".#default"]);
    assert_eq!(
        traces(&changed),
        ["trace: evaluated default two"],
        "{changed}"
    );
    assert_ne!(changed.stdout(), first.stdout());
}

#[test]
fn nix_2_8_does_not_evaluate_an_unchanged_flake_again_either() {
    if !nix_available() {
        return;
    }
    let env = setup();
    let ours = store_arg(&env, "store");
    let theirs = store_arg(&env, "nix-store");
    for nix in [true, false] {
        let store = if nix { &theirs } else { &ours };
        let first = build(&env, nix, store, &[".#default"]);
        assert_eq!(traces(&first), ["trace: evaluated default one"], "{first}");
        let second = build(&env, nix, store, &[".#default"]);
        assert!(traces(&second).is_empty(), "nix: {nix}: {second}");
        assert_eq!(second.stdout(), first.stdout());
    }
}
