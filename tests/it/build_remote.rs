//! Remote builders (issue 15.4): with `--builders` naming a loopback OpenSSH server whose
//! sessions run Nix 2.8 on a private store, and `-j0`, W4 is built there over `ssh-ng://`
//! (`nix-daemon --stdio`, `buildDerivation`) and over `ssh://` (`nix-store --serve`,
//! `BuildDerivation`): the outputs come back with the paths, NAR hashes, references, derivers
//! and content addresses of a local build. When no machine fits, Nix's messages.
//!
//! The remote Nix builds into a chroot store, so it forces its sandbox: it gets the host's
//! `/usr`, `/bin`, `/lib` and `/lib64` (`extra-sandbox-paths`), and runs with a scratch
//! directory mounted on `/nix/store` (through rflake's builder helper, named as the machine's
//! `remote-program`), as Nix 2.8 building into a chroot store may write to the host's store.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use rflake::store::local::{LocalStore, Options};
use rflake::store::{PathInfo, StoreDir, StorePath};

use crate::support::{SshServer, TestEnv, require_nix};

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
  gpu = derivation { name = "gpu"; inherit system; builder = "/bin/sh"; requiredSystemFeatures = [ "gpu" ];
    args = [ "-c" "echo > $out" ]; };
  plain = derivation { name = "plain"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; };
}
"##;

fn setup() -> (TestEnv, SshServer) {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    // Local builds (the comparison) run unsandboxed, with the host's `/bin/sh`.
    env.add_nix_config("sandbox = false");
    let server = SshServer::start(&env.path("ssh"));
    env.add_env("NIX_SSHOPTS", server.ssh_opts());
    let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    let conf = env.path("ssh/remote-etc/nix.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&format!("extra-sandbox-paths = {}\n", host_dirs.join(" ")));
    std::fs::write(&conf, text).unwrap();
    let scratch = env.path("ssh/host-nix-store");
    std::fs::create_dir_all(&scratch).unwrap();
    for program in ["nix-daemon", "nix-store"] {
        let wrapper = env.path(format!("ssh/{program}-isolated"));
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec {} __run-builder {} /nix/store {program} \"$@\"\n",
                env!("CARGO_BIN_EXE_rflake"),
                scratch.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (env, server)
}

/// The machine line for the server over `scheme` (`ssh` or `ssh-ng`).
fn machine(env: &TestEnv, scheme: &str) -> String {
    let program = if scheme == "ssh" {
        "nix-store"
    } else {
        "nix-daemon"
    };
    format!(
        "{scheme}://127.0.0.1?remote-program={} x86_64-linux - 2",
        env.path(format!("ssh/{program}-isolated")).display()
    )
}

fn open(root: &Path) -> LocalStore {
    LocalStore::open(Options::new(Some(root.to_owned()))).unwrap()
}

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
    let dir = StoreDir::default();
    let mut todo: Vec<StorePath> = paths.iter().map(|p| dir.parse(p).unwrap()).collect();
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
fn w4_built_over_ssh_ng_equals_a_local_build() {
    built_remotely_equals_a_local_build("ssh-ng");
}

#[test]
fn w4_built_over_ssh_equals_a_local_build() {
    built_remotely_equals_a_local_build("ssh");
}

fn built_remotely_equals_a_local_build(scheme: &str) {
    if !require_nix() {
        return;
    }
    let (env, server) = setup();
    let machine = machine(&env, scheme);
    let remote = env.run(&[
        "build",
        "-f",
        ".",
        "w4",
        "w4dev",
        "--json",
        "--no-link",
        "-j0",
        "--builders",
        &machine,
    ]);
    assert!(remote.success(), "{remote:?}");
    // The machine's URI as printed (the test root shown as `$TEST_ENV`).
    let uri = format!("{scheme}://127.0.0.1?remote-program=$TEST_ENV/ssh/");
    for name in ["dep.drv", "fixed.txt.drv", "multi-1.0.drv"] {
        assert!(
            remote
                .stderr()
                .lines()
                .any(|l| l.starts_with("building '/nix/store/")
                    && l.contains(&format!("-{name}' on '{uri}"))),
            "{remote:?}"
        );
    }
    let built = outputs(remote.stdout());
    assert_eq!(built.len(), 2, "{built:?}");
    // The remote machine built them.
    let theirs = open(&server.remote_store);
    for p in &built {
        assert!(
            theirs
                .path_info(&StoreDir::default().parse(p).unwrap())
                .unwrap()
                .is_some()
        );
    }
    // The same as a local build into another store.
    let other = env.path("local-store").display().to_string();
    let local = env.run(&[
        "build",
        "--store",
        &other,
        "-f",
        ".",
        "w4",
        "w4dev",
        "--json",
        "--no-link",
    ]);
    assert!(local.success(), "{local:?}");
    assert_eq!(remote.stdout(), local.stdout());
    assert_eq!(
        closure_infos(&open(&env.path("store")), &built),
        closure_infos(&open(&env.path("local-store")), &built)
    );
    // Everything valid now: nothing is built again.
    let again = env.run(&[
        "build",
        "-f",
        ".",
        "w4",
        "--no-link",
        "-j0",
        "--builders",
        &machine,
    ]);
    assert!(again.success(), "{again:?}");
    assert_eq!(again.stderr(), "");
}

#[test]
fn no_fitting_machine_gives_nixs_messages() {
    let env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    let mut env = env;
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    // Never contacted: the derivation needs a feature the machine lacks, or lacks the
    // machine's mandatory feature.
    for (attr, machine, features) in [
        (
            "gpu",
            "ssh://unreachable.invalid x86_64-linux - 1 1 kvm",
            "gpu",
        ),
        (
            "plain",
            "ssh-ng://unreachable.invalid x86_64-linux,aarch64-linux - 3 1 - benchmark",
            "",
        ),
    ] {
        let out = env.run(&[
            "build",
            "-f",
            ".",
            attr,
            "--no-link",
            "-j0",
            "--builders",
            machine,
        ]);
        assert_eq!(out.status().code(), Some(1), "{out:?}");
        let drv = env.run(&["eval", "--raw", "-f", ".", &format!("{attr}.drvPath")]);
        let drv = drv.stdout().trim().rsplit('/').next().unwrap().to_owned();
        let m = &machine[machine.find(' ').unwrap() + 1..];
        let cols: Vec<&str> = m.split(' ').collect();
        let (supported, mandatory) = match cols.as_slice() {
            [_, _, _, _, "-", mandatory] => ("", *mandatory),
            [_, _, _, _, supported] => (*supported, ""),
            _ => unreachable!(),
        };
        assert_eq!(
            out.stderr(),
            format!(
                "Failed to find a machine for remote build!\nderivation: {drv}\n\
                 required (system, features): (x86_64-linux, {features})\n1 available machines:\n\
                 (systems, maxjobs, supportedFeatures, mandatoryFeatures)\n\
                 ({}, {}, {supported}, {mandatory})\n\
                 error: unable to start any build; remote machines may not have all required system features.\n       \
                 https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html\n",
                cols[0].replace(',', ", "),
                cols[2]
            ),
            "{out:?}"
        );
    }
    // Allowed to build here, a derivation no machine fits builds locally, quietly.
    let out = env.run(&[
        "build",
        "-f",
        ".",
        "plain",
        "--no-link",
        "-j1",
        "--builders",
        "ssh://unreachable.invalid aarch64-linux",
    ]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr().lines().count(), 1, "{out:?}");
    assert!(out.stderr().starts_with("building '/nix/store/"), "{out:?}");
}

#[test]
fn malformed_builders_are_refused_as_nix_refuses_them() {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    let out = env.run(&[
        "build",
        "-f",
        ".",
        "plain",
        "--no-link",
        "--builders",
        "host x86_64-linux - many",
    ]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert_eq!(
        out.stderr(),
        "error: bad machine specification: failed to convert column #3 in a row: 'host x86_64-linux - many' to 'unsigned int'\n"
    );
}
