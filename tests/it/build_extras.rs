//! The build extras against Nix 2.8 building the same expressions into chroot stores (as
//! `build_oracle`): the system and feature check, structured attributes' `outputChecks`
//! (`maxSize`, `maxClosureSize`, reference lists), `builtin:buildenv`, and `--rebuild`.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::build_oracle::{
    closure_infos, error_block, open, outputs, run_nix, rusqlite_paths, store_arg,
};
use crate::support::{CommandOutput, TestEnv, require_nix};

const EXPRESSIONS: &str = r##"
let
  system = "x86_64-linux";
  hundred = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";
  dep = derivation { name = "dep"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo ${hundred} > $out" ]; };
  structured = name: checks: script: derivation {
    inherit name system dep; builder = "/bin/bash"; __structuredAttrs = true; outputChecks.out = checks;
    args = [ "-c" "source .attrs.sh; out=\${outputs[out]}; ${script}" ]; };
  pkg = name: derivation { inherit name system; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" "mkdir -p $out/bin $out/share/${name}; echo ${name} > $out/bin/${name}; echo doc > $out/share/${name}/doc" ]; };
in {
  arm = derivation { name = "arm"; system = "aarch64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; };
  feature = derivation { name = "feature"; inherit system; requiredSystemFeatures = [ "kvm" "rflake-test-feature" ];
    builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; };
  big = structured "big" { maxSize = 100; } "echo ${hundred} > $out";
  bigClosure = structured "big-closure" { maxClosureSize = 300; } "echo $dep > $out";
  refs = structured "s-refs" { allowedReferences = [ ]; } "echo $dep > $out";
  selfRequisite = structured "self-requisite" { allowedRequisites = [ ]; } "echo $out > $out";
  notStrings = structured "not-strings" { allowedReferences = [ 1 ]; } "echo > $out";
  withinLimits = structured "within-limits" { maxSize = 1000; maxClosureSize = 1000; allowedRequisites = [ "out" dep ]; }
    "echo $dep $out > $out";
  legacyMaxSize = derivation { name = "legacy-max-size"; inherit system; maxSize = 1; builder = "/bin/sh";
    args = [ "-c" "echo ${hundred} > $out" ]; };
  env = derivation { name = "env"; system = "builtin"; builder = "builtin:buildenv";
    derivations = "true 5 1 ${pkg "a"} true 5 1 ${pkg "b"} false 5 1 ${pkg "c"}";
    manifest = builtins.toFile "manifest.nix" "[ ]"; };
  same = derivation { name = "same"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo same > $out" ]; };
  random = derivation { name = "random"; inherit system; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" "od -An -tx8 -N8 /dev/urandom > $out" ]; };
  unbuilt = derivation { name = "unbuilt"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; };
}
"##;

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    env.add_nix_config("cores = 2");
    let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    env.add_nix_config(&format!("extra-sandbox-paths = {}", host_dirs.join(" ")));
    env
}

fn build(env: &TestEnv, nix: bool, store: &str, extra: &[&str]) -> CommandOutput {
    let mut args = vec!["build", "--store", store, "-f", ".", "--no-link", "--json"];
    args.extend_from_slice(extra);
    if nix {
        run_nix(env, &args)
    } else {
        env.run(&args)
    }
}

/// The error block with each store's directory masked.
fn masked(out: &CommandOutput) -> String {
    error_block(out)
        .replace("$TEST_ENV/our-store", "$STORE")
        .replace("$TEST_ENV/nix-store", "$STORE")
}

#[test]
fn refused_and_rejected_builds_give_nix_messages() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    for attr in [
        "arm",
        "feature",
        "big",
        "bigClosure",
        "refs",
        "selfRequisite",
        "notStrings",
    ] {
        let theirs = build(&env, true, &nix_store, &[attr]);
        let ours = build(&env, false, &our_store, &[attr]);
        assert!(!theirs.success() && !ours.success(), "{attr}: {ours}");
        assert_eq!(ours.status().code(), theirs.status().code(), "{attr}");
        assert_eq!(masked(&ours), masked(&theirs), "{attr}: {ours}");
        // A refused build runs nothing (no `building` line), as in Nix.
        assert_eq!(
            ours.stderr().contains("building '"),
            theirs.stderr().contains("building '"),
            "{attr}: {ours}"
        );
    }
    // Nothing of theirs is registered: of the outputs, only the input `dep` is valid.
    let valid: Vec<String> = rusqlite_paths(&env.path("our-store"))
        .into_iter()
        .filter(|p| !p.ends_with(".drv") && !p.ends_with("-default.nix"))
        .collect();
    assert_eq!(valid.len(), 1, "{valid:?}");
    assert!(valid[0].ends_with("-dep"), "{valid:?}");
    let o = open(&env, "our-store");
    // Within the limits, and legacy `maxSize` (which Nix 2.8 ignores), both build the same.
    let attrs = ["withinLimits", "legacyMaxSize"];
    let theirs = build(&env, true, &nix_store, &attrs);
    let ours = build(&env, false, &our_store, &attrs);
    assert!(theirs.success(), "{theirs}");
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stdout(), theirs.stdout());
    let built = outputs(ours.stdout());
    assert_eq!(
        closure_infos(&o, &built),
        closure_infos(&open(&env, "nix-store"), &built)
    );
}

#[test]
fn builtin_buildenv_builds_what_nix_builds() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    let theirs = build(&env, true, &nix_store, &["env"]);
    assert!(theirs.success(), "{theirs}");
    let ours = build(&env, false, &our_store, &["env"]);
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stdout(), theirs.stdout());
    let built = outputs(ours.stdout());
    let ours_infos = closure_infos(&open(&env, "our-store"), &built);
    assert_eq!(ours_infos, closure_infos(&open(&env, "nix-store"), &built));
    let out = built.first().unwrap().strip_prefix("/nix/store/").unwrap();
    let root = env.path("our-store/nix/store").join(out);
    assert!(
        std::fs::read_link(root.join("bin/a"))
            .unwrap()
            .ends_with("bin/a")
    );
    assert!(root.join("share/b").is_symlink());
    assert!(
        !root.join("bin/c").exists(),
        "inactive packages are not linked"
    );
    assert!(root.join("manifest.nix").is_symlink());
}

#[test]
fn rebuild_compares_outputs_as_nix_does() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    // Nothing built yet: there is nothing to compare.
    let theirs = build(&env, true, &nix_store, &["unbuilt", "--rebuild"]);
    let ours = build(&env, false, &our_store, &["unbuilt", "--rebuild"]);
    assert!(!theirs.success() && !ours.success(), "{ours}");
    assert_eq!(masked(&ours), masked(&theirs), "{ours}");
    for (store, nix) in [(&nix_store, true), (&our_store, false)] {
        let out = build(&env, nix, store, &["same", "random"]);
        assert!(out.success(), "{out}");
    }
    // A deterministic derivation checks out; the lines are Nix's.
    let theirs = build(&env, true, &nix_store, &["same", "--rebuild"]);
    let ours = build(&env, false, &our_store, &["same", "--rebuild"]);
    assert!(theirs.success(), "{theirs}");
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stdout(), theirs.stdout());
    assert_eq!(ours.stderr(), theirs.stderr());
    assert!(ours.stderr().starts_with("checking outputs of '"), "{ours}");
    // A random one does not, with and without `--keep-failed`.
    for extra in [
        &["random", "--rebuild"][..],
        &["random", "--rebuild", "--keep-failed"],
    ] {
        let theirs = build(&env, true, &nix_store, extra);
        let ours = build(&env, false, &our_store, extra);
        assert!(!theirs.success() && !ours.success(), "{ours}");
        assert_eq!(ours.status().code(), theirs.status().code());
        assert_eq!(masked(&ours), masked(&theirs), "{ours}");
    }
    // The kept output is beside the valid one, which is unchanged and still valid.
    let out = build(&env, false, &our_store, &["random"]);
    let path = outputs(out.stdout()).pop_first().unwrap();
    let base = path.strip_prefix("/nix/store/").unwrap();
    let real = env.path("our-store/nix/store").join(base);
    let check = env
        .path("our-store/nix/store")
        .join(format!("{base}.check"));
    assert!(check.exists());
    assert_ne!(
        std::fs::read(&real).unwrap(),
        std::fs::read(&check).unwrap()
    );
    assert!(!out.stderr().contains("building"), "{out}");
}
