//! `rflake build` killed (SIGKILL) while its builder runs (issue #17's fault campaign,
//! `tests/faults/`, kills builds at random points): the builder dies with it, and the next
//! build reclaims what the killed one left — its build directory, its output's lock file and
//! half-written output, its temporary roots file — and succeeds. Three ways a builder is started
//! are covered: through the chroot-store helper, directly in a store at its own path (through
//! the helper that only sets the parent-death signal), and in the sandbox (whose spec reaches
//! the helpers through a pipe, so no file of it is left in `TMPDIR`).

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{KillOnDrop, TestEnv};

/// A derivation whose builder writes its pid to `<root>/ready/pid`, then waits (as that same
/// process, `sleep` with the argument `marker`), and one that finishes at once.
fn expressions(ready: &Path, marker: &str) -> String {
    format!(
        r#"{{
  slow = derivation {{ name = "slow"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "mkdir $out; echo partial > $out/f; echo $$ > {ready}/pid.tmp; /bin/mv {ready}/pid.tmp {ready}/pid; exec /bin/sleep {marker}" ]; }};
  quick = derivation {{ name = "quick"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo quick > $out" ]; }};
}}
"#,
        ready = ready.display(),
    )
}

/// The live (not zombie) processes running `sleep marker` (the pid a sandboxed builder sees is
/// its namespace's, so processes are found by their command line).
fn builders(marker: &str) -> Vec<String> {
    let wanted = format!("/bin/sleep\0{marker}\0");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline != wanted.as_bytes() {
            continue;
        }
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if !zombie {
            found.push(pid);
        }
    }
    found
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// How the builder is started.
#[derive(Clone, Copy, PartialEq)]
enum Launch {
    /// A chroot store (`--store DIR`), unsandboxed: the mount-namespace helper.
    ChrootStore,
    /// A store whose directory is its real path, unsandboxed: the direct helper.
    OwnPath,
    /// A chroot store, sandboxed: the sandbox helpers.
    Sandbox,
}

fn killed_build(launch: Launch, marker: &str) {
    let mut env = TestEnv::new();
    let ready = env.path("ready");
    std::fs::create_dir_all(&ready).unwrap();
    std::fs::create_dir_all(env.path("tmp")).unwrap();
    env.write("work/default.nix", expressions(&ready, marker));
    env.set_cwd("work");
    if launch == Launch::Sandbox {
        let mut paths: Vec<String> = ["/usr", "/bin", "/lib", "/lib64"]
            .into_iter()
            .filter(|d| Path::new(d).exists())
            .map(str::to_owned)
            .collect();
        paths.push(ready.display().to_string());
        env.add_nix_config("sandbox = true");
        env.add_nix_config("sandbox-fallback = false");
        env.add_nix_config(&format!("sandbox-paths = {}", paths.join(" ")));
    } else {
        env.add_nix_config("sandbox = false");
    }
    env.add_env("TMPDIR", env.path("tmp"));
    let (store, real_store) = if launch == Launch::OwnPath {
        let root = env.path("own");
        let url = format!(
            "local?store={0}/nix/store&state={0}/nix/var/nix&log={0}/nix/var/log/nix",
            root.display()
        );
        (url, root)
    } else {
        (env.path("store").display().to_string(), env.path("store"))
    };

    let mut cmd = env.command(env!("CARGO_BIN_EXE_rflake"));
    cmd.args(["build", "--store", &store, "-f", ".", "--no-link", "slow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = KillOnDrop::new(cmd.spawn().unwrap());
    let pid_file = ready.join("pid");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pid_file.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the build ended before its builder started"
        );
        assert!(Instant::now() < deadline, "the builder never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The pid is written just before the shell executes `sleep`: wait for the `exec`.
    while builders(marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(builders(marker).len(), 1, "the builder runs");
    child.kill().unwrap();
    child.wait().unwrap();
    // The builder was sent SIGKILL when rflake died; it may take a moment to go.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !builders(marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = builders(marker);
    for pid in &left {
        let _ = std::process::Command::new("kill")
            .args(["-9", pid])
            .status();
    }
    assert!(left.is_empty(), "the builder {left:?} outlived its rflake");
    let real_store = real_store.join("nix/store");
    let left: Vec<String> = entries(&real_store)
        .into_iter()
        .filter(|n| !n.ends_with(".drv") && n != ".links")
        .collect();
    assert!(
        left.iter().any(|n| n.ends_with("-slow.lock")) && !entries(&env.path("tmp")).is_empty(),
        "the kill left what this test expects the next build to reclaim: {left:?}"
    );

    let out = env.run(&["build", "--store", &store, "-f", ".", "--no-link", "quick"]);
    assert!(out.success(), "{out}");
    assert_eq!(entries(&env.path("tmp")), Vec::<String>::new());
    if launch == Launch::OwnPath {
        // The store URI's `state` and `log` were honoured (not the machine's /nix/var).
        assert!(env.path("own/nix/var/nix/db/db.sqlite").exists());
        assert!(env.path("own/nix/var/log/nix/drvs").is_dir());
    }
    let state = if launch == Launch::OwnPath {
        env.path("own/nix/var/nix/temproots")
    } else {
        env.path("store/nix/var/nix/temproots")
    };
    assert_eq!(entries(&state), Vec::<String>::new());
    let left: Vec<String> = entries(&real_store)
        .into_iter()
        .filter(|n| !n.ends_with(".drv") && n != ".links")
        .collect();
    let quick: Vec<&String> = left.iter().filter(|n| !n.ends_with(".chroot")).collect();
    assert_eq!(quick.len(), 1, "only the quick output is left: {left:?}");
    assert!(quick[0].ends_with("-quick"), "{left:?}");
}

#[test]
fn a_killed_build_leaves_no_builder_and_nothing_after_the_next_build() {
    killed_build(Launch::ChrootStore, "61.01");
}

#[test]
fn a_killed_build_in_a_store_at_its_own_path_takes_its_builder_along() {
    killed_build(Launch::OwnPath, "61.02");
}

#[test]
fn a_killed_sandboxed_build_leaves_no_builder_and_no_file_in_tmpdir() {
    killed_build(Launch::Sandbox, "61.03");
}
