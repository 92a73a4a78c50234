//! Import from derivation: an evaluation that reads an output of a derivation (`import`,
//! `readFile`, `pathExists`, `readDir` of a string with its context) builds it first, as Nix
//! 2.8 does, and refuses with Nix's message when `allow-import-from-derivation` is off. The
//! values and the derivation built from them equal Nix 2.8's (chroot stores, as
//! `build_oracle`).

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::build_oracle::{closure_infos, open, outputs, run_nix, store_arg};
use crate::support::{CommandOutput, TestEnv, require_nix};

const EXPRESSIONS: &str = r##"
let
  system = "x86_64-linux";
  gen = derivation { name = "gen"; inherit system; builder = "/bin/sh";
    args = [ "-c" "echo '{ x = 42; }' > $out" ]; };
  txt = derivation { name = "txt"; inherit system; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" "mkdir $out; printf hello > $out/greeting" ]; };
in {
  imported = (import gen).x;
  read = builtins.readFile "${txt}/greeting";
  exists = builtins.pathExists "${txt}/greeting";
  dir = builtins.readDir txt;
  drv = derivation { name = "uses-ifd"; inherit system; builder = "/bin/sh";
    args = [ "-c" "echo ${builtins.readFile "${txt}/greeting"} ${toString (import gen).x} > $out" ]; };
}
"##;

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    env.add_nix_config(&format!("extra-sandbox-paths = {}", host_dirs.join(" ")));
    env
}

fn run(env: &TestEnv, nix: bool, args: &[&str]) -> CommandOutput {
    if nix {
        run_nix(env, args)
    } else {
        env.run(args)
    }
}

/// The message of the last `error:` line of a failed evaluation (rflake shows the builtin's
/// frame as current Nix does; Nix 2.8 shows the message alone).
fn last_error(out: &CommandOutput) -> String {
    let err = out.stderr();
    let start = err.rfind("error: ").map_or(0, |i| i + "error: ".len());
    err[start..].lines().next().unwrap_or_default().to_owned()
}

#[test]
fn evaluation_builds_what_it_reads_as_nix_does() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let stores = [
        (true, store_arg(&env, "nix-store")),
        (false, store_arg(&env, "our-store")),
    ];
    for attr in ["read", "imported", "exists", "dir"] {
        let mut results = Vec::new();
        for (nix, store) in &stores {
            let out = run(&env, *nix, &["eval", "--store", store, "-f", ".", attr]);
            assert!(out.success(), "{attr}: {out}");
            results.push(out.stdout().to_owned());
        }
        assert_eq!(results[0], results[1], "{attr}");
    }
    // The first read built `txt`, with Nix's line; later reads find it valid.
    let ours = env.run(&["eval", "--store", &stores[1].1, "-f", ".", "read"]);
    assert_eq!(ours.stdout(), "\"hello\"\n");
    assert!(!ours.stderr().contains("building"), "{ours}");
    // A derivation whose attributes come from built outputs builds as with Nix.
    let mut built = Vec::new();
    for (nix, store) in &stores {
        let out = run(
            &env,
            *nix,
            &[
                "build",
                "--store",
                store,
                "-f",
                ".",
                "drv",
                "--no-link",
                "--json",
            ],
        );
        assert!(out.success(), "{out}");
        built.push(out.stdout().to_owned());
    }
    assert_eq!(built[0], built[1]);
    let paths = outputs(&built[1]);
    assert_eq!(
        closure_infos(&open(&env, "our-store"), &paths),
        closure_infos(&open(&env, "nix-store"), &paths)
    );
    let out = paths.first().unwrap().strip_prefix("/nix/store/").unwrap();
    assert_eq!(
        std::fs::read_to_string(env.path("our-store/nix/store").join(out)).unwrap(),
        "hello 42\n"
    );
}

#[test]
fn import_from_derivation_can_be_refused() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let mut blocks = Vec::new();
    for (nix, store) in [
        (true, store_arg(&env, "nix-store")),
        (false, store_arg(&env, "our-store")),
    ] {
        for attr in ["imported", "read", "exists"] {
            let out = run(
                &env,
                nix,
                &[
                    "eval",
                    "--store",
                    &store,
                    "-f",
                    ".",
                    attr,
                    "--option",
                    "allow-import-from-derivation",
                    "false",
                ],
            );
            assert!(!out.success(), "{out}");
            assert_eq!(out.status().code(), Some(1));
            assert!(!out.stderr().contains("building"), "{out}");
            blocks.push(last_error(&out));
        }
    }
    assert_eq!(blocks[..3], blocks[3..]);
    assert!(
        blocks[0].starts_with("cannot build '/nix/store/")
            && blocks[0].contains("-gen.drv' during evaluation because the option 'allow-import-from-derivation' is disabled"),
        "{}",
        blocks[0]
    );
    // Nothing was built.
    assert!(
        !std::fs::read_dir(env.path("our-store/nix/store"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with("-gen"))
    );
}
