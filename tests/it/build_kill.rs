//! `rflake build` killed (SIGKILL) while its builder runs (issue #17's fault campaign,
//! `tests/faults/`, kills builds at random points): the builder dies with it, and the next
//! build reclaims what the killed one left — its build directory, its output's lock file and
//! half-written output, its temporary roots file — and succeeds.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::TestEnv;

/// A derivation whose builder writes its pid to `<root>/ready/pid`, then waits (as that same
/// process), and one that finishes at once.
fn expressions(ready: &Path) -> String {
    format!(
        r#"{{
  slow = derivation {{ name = "slow"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "mkdir $out; echo partial > $out/f; echo $$ > {ready}/pid.tmp; /bin/mv {ready}/pid.tmp {ready}/pid; exec /bin/sleep 60" ]; }};
  quick = derivation {{ name = "quick"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo quick > $out" ]; }};
}}
"#,
        ready = ready.display()
    )
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
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

#[test]
fn a_killed_build_leaves_no_builder_and_nothing_after_the_next_build() {
    let mut env = TestEnv::new();
    let ready = env.path("ready");
    std::fs::create_dir_all(&ready).unwrap();
    std::fs::create_dir_all(env.path("tmp")).unwrap();
    env.write("work/default.nix", expressions(&ready));
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    env.add_env("TMPDIR", env.path("tmp"));
    let store = env.path("store").display().to_string();

    let mut cmd = env.command(env!("CARGO_BIN_EXE_rflake"));
    cmd.args(["build", "--store", &store, "-f", ".", "--no-link", "slow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
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
    let builder = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    child.kill().unwrap();
    child.wait().unwrap();
    // The builder was sent SIGKILL when rflake died; it may take a moment to go.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gone(&builder) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(gone(&builder), "the builder {builder} outlived its rflake");
    let real_store = env.path("store/nix/store");
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
    assert_eq!(
        entries(&env.path("store/nix/var/nix/temproots")),
        Vec::<String>::new()
    );
    let left: Vec<String> = entries(&real_store)
        .into_iter()
        .filter(|n| !n.ends_with(".drv") && n != ".links")
        .collect();
    assert_eq!(left.len(), 1, "only the quick output is left: {left:?}");
    assert!(left[0].ends_with("-quick"), "{left:?}");
}
