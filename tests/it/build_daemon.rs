//! `rflake build` through a Nix daemon (issue 15.3): a real `nix-daemon` 2.8 on a private
//! store builds the spec's W4 for rflake, giving the paths, NAR hashes, references and
//! derivers Nix 2.8 gives building the same expression in its own store; the daemon's log
//! lines (`-L`) and activities are shown as Nix shows them; `result` links are registered as
//! the daemon's indirect roots; a failing build gives the daemon's error, word for word what
//! the `nix` client prints through the same daemon.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use rflake::store::local::{LocalStore, Options};
use rflake::store::{PathInfo, StoreDir, StorePath};

use crate::support::{CommandOutput, NixDaemon, TestEnv, require_nix};

/// W4 (two outputs, a fixed-output input, an input source), a derivation that logs, and one
/// that fails.
const EXPRESSIONS: &str = r##"
let
  system = "x86_64-linux";
  dep = derivation { name = "dep"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo dep > $out" ]; };
  fod = derivation {
    name = "fixed.txt"; inherit system; builder = "/bin/sh"; args = [ "-c" "printf hi > $out" ];
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";
  };
  script = builtins.toFile "build.sh" ''
    mkdir -p $out/bin $dev/include
    cat $dep $fod > $out/data
    echo "#define X 1" > $dev/include/x.h
  '';
in {
  w4 = derivation {
    name = "multi-1.0"; inherit system dep fod; builder = "/bin/sh"; args = [ script ];
    outputs = [ "out" "dev" ]; PATH = "/usr/bin:/bin";
  };
  w4dev = (derivation {
    name = "multi-1.0"; inherit system dep fod; builder = "/bin/sh"; args = [ script ];
    outputs = [ "out" "dev" ]; PATH = "/usr/bin:/bin";
  }).dev;
  logger = derivation { name = "logger-2.1"; inherit system; builder = "/bin/sh";
    args = [ "-c" "echo from the builder; echo second line; echo x > $out" ]; };
  fail = derivation { name = "fail"; inherit system; builder = "/bin/sh";
    args = [ "-c" "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line $i; done; exit 3" ]; };
}
"##;

fn setup() -> (TestEnv, NixDaemon) {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    let daemon = NixDaemon::start_isolated(&env.path("daemon"), "");
    env.add_env("NIX_DAEMON_SOCKET_PATH", &daemon.socket);
    (env, daemon)
}

/// Runs Nix 2.8 with a scratch directory over `/nix/store` (as `build_oracle` does): with a
/// chroot store it may write to the host's `/nix/store` otherwise.
fn run_nix(env: &TestEnv, args: &[&str]) -> CommandOutput {
    let scratch = env.path("host-nix-store");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut cmd = env.command(env!("CARGO_BIN_EXE_rflake"));
    cmd.arg("__run-builder")
        .arg(&scratch)
        .arg("/nix/store")
        .arg("nix")
        .args(args);
    env.run_command(&mut cmd)
}

fn open(root: &Path) -> LocalStore {
    LocalStore::open(Options::new(Some(root.to_owned()))).unwrap()
}

fn path(s: &str) -> StorePath {
    StoreDir::default().parse(s).unwrap()
}

/// The fields of a path's info both stores must agree on.
fn comparable(info: &PathInfo) -> String {
    let dir = StoreDir::default();
    let refs: Vec<String> = info.references.iter().map(|r| dir.print(r)).collect();
    format!(
        "{} {} {} refs={refs:?} deriver={:?} ca={:?}",
        dir.print(&info.path),
        info.nar_hash.to_sri(),
        info.nar_size,
        info.deriver.as_ref().map(|d| dir.print(d)),
        info.ca.as_ref().map(|c| c.to_string()),
    )
}

/// The closure of `paths` in `store`, as comparable lines.
fn closure_infos(store: &LocalStore, paths: &BTreeSet<String>) -> Vec<String> {
    let mut todo: Vec<StorePath> = paths.iter().map(|p| path(p)).collect();
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let info = store
            .path_info(&p)
            .unwrap()
            .unwrap_or_else(|| panic!("{p:?} is not valid"));
        todo.extend(info.references.iter().cloned());
        lines.push(comparable(&info));
    }
    lines.sort();
    lines
}

/// The output paths of a `--json` result.
fn outputs(json: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out = BTreeSet::new();
    for entry in v.as_array().unwrap() {
        for (_, p) in entry["outputs"].as_object().unwrap() {
            out.insert(p.as_str().unwrap().to_owned());
        }
    }
    out
}

#[test]
fn w4_built_by_the_daemon_has_nixs_paths() {
    if !require_nix() {
        return;
    }
    let (mut env, daemon) = setup();
    let ours = env.run(&[
        "build", "--store", "daemon", "-f", ".", "w4", "w4dev", "--json",
    ]);
    assert!(ours.success(), "{ours:?}");
    // Nix 2.8 building the same in a chroot store of its own.
    env.add_nix_config("sandbox = false");
    let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    env.add_nix_config(&format!("extra-sandbox-paths = {}", host_dirs.join(" ")));
    let nix_store = env.path("nix-store").display().to_string();
    let theirs = run_nix(
        &env,
        &[
            "build",
            "--store",
            &nix_store,
            "-f",
            ".",
            "w4",
            "w4dev",
            "--json",
            "--no-link",
        ],
    );
    assert!(theirs.success(), "{theirs:?}");
    assert_eq!(ours.stdout(), theirs.stdout());
    let built = outputs(ours.stdout());
    assert_eq!(built.len(), 2, "{built:?}");
    assert_eq!(
        closure_infos(&open(&daemon.store), &built),
        closure_infos(&open(&env.path("nix-store")), &built)
    );
    // The daemon built every derivation and said so.
    for name in ["dep.drv", "fixed.txt.drv", "multi-1.0.drv"] {
        assert!(
            ours.stderr()
                .lines()
                .any(|l| l.starts_with("building '/nix/store/")
                    && l.ends_with(&format!("-{name}'..."))),
            "{ours:?}"
        );
    }
    // `result` and `result-dev`, registered as the daemon's indirect roots.
    let v: serde_json::Value = serde_json::from_str(ours.stdout()).unwrap();
    for (link, output) in [("result", "out"), ("result-dev", "dev")] {
        let target = std::fs::read_link(env.path("work").join(link)).unwrap();
        assert_eq!(
            target.to_str().unwrap(),
            v[0]["outputs"][output].as_str().unwrap()
        );
    }
    let roots: BTreeSet<String> = std::fs::read_dir(daemon.store.join("nix/var/nix/gcroots/auto"))
        .unwrap()
        .map(|e| {
            std::fs::read_link(e.unwrap().path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    for link in ["result", "result-dev"] {
        assert!(
            roots.contains(&env.path("work").join(link).display().to_string()),
            "{roots:?}"
        );
    }
    // Again: everything is valid, nothing is built or printed.
    let again = env.run(&["build", "--store", "daemon", "-f", ".", "w4", "--no-link"]);
    assert!(again.success(), "{again:?}");
    assert_eq!(again.stderr(), "");
}

#[test]
fn daemon_build_logs_show_with_print_build_logs() {
    if !require_nix() {
        return;
    }
    let (env, _daemon) = setup();
    let out = env.run(&[
        "build",
        "--store",
        "daemon",
        "-f",
        ".",
        "logger",
        "-L",
        "--no-link",
    ]);
    assert!(out.success(), "{out:?}");
    let lines: Vec<&str> = out.stderr().lines().collect();
    assert_eq!(lines.len(), 3, "{out:?}");
    assert!(lines[0].starts_with("building '/nix/store/"), "{out:?}");
    assert!(lines[0].ends_with("-logger-2.1.drv'..."), "{out:?}");
    // As Nix's logger: the name without its version.
    assert_eq!(
        lines[1..],
        ["logger> from the builder", "logger> second line"]
    );
}

#[test]
fn a_failing_daemon_build_gives_the_daemons_error() {
    if !require_nix() {
        return;
    }
    let (env, daemon) = setup();
    let ours = env.run(&["build", "--store", "daemon", "-f", ".", "fail"]);
    assert_eq!(ours.status().code(), Some(1), "{ours:?}");
    // The `nix` client through the same daemon prints the same.
    let socket = format!("unix://{}", daemon.socket.display());
    let theirs = run_nix(&env, &["build", "--store", &socket, "-f", ".", "fail"]);
    assert_eq!(theirs.status().code(), Some(1), "{theirs:?}");
    assert_eq!(ours.stderr(), theirs.stderr());
    assert!(
        ours.stderr().contains(
            "-fail.drv' failed with exit code 3;\n       last 10 log lines:\n       > line 3\n"
        ),
        "{ours:?}"
    );
    assert!(!env.path("work/result").exists());
}

/// A local build's `-L` lines carry the same name as the daemon's (Nix's `DrvName`).
#[test]
fn local_build_logs_are_named_as_nix_names_them() {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let out = env.run(&["build", "-f", ".", "logger", "-L", "--no-link"]);
    assert!(out.success(), "{out:?}");
    let lines: Vec<&str> = out.stderr().lines().collect();
    assert_eq!(
        lines[1..],
        ["logger> from the builder", "logger> second line"]
    );
}
