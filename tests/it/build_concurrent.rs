//! Two `rflake build` processes realising the same DAG at once into one store (Nix's per-output
//! locks, `PathLocks`): every output is built by exactly one of them, both succeed with the
//! same result, and Nix 2.8's `nix store verify --all` finds the store consistent.
//!
//! The DAG is `bench/build_dag.nix` (60 derivations, 10 per layer) with `log` set: each
//! unsandboxed builder appends its name to a file outside the store, which counts the builds.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::support::{CommandOutput, TestEnv, require_nix};

const DAG: &str = include_str!("../../bench/build_dag.nix");

#[test]
fn two_builds_of_one_dag_build_each_output_once() {
    let mut env = TestEnv::new();
    env.write("work/dag.nix", DAG);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = env.path("store").display().to_string();
    let log = env.path("built.log").display().to_string();
    let args = [
        "build",
        "--store",
        &store,
        "-f",
        "dag.nix",
        "--arg",
        "count",
        "60",
        "--arg",
        "width",
        "10",
        "--argstr",
        "log",
        &log,
        "--no-link",
        "--json",
        "-j2",
    ];
    let children: Vec<_> = (0..2)
        .map(|_| {
            env.command(env!("CARGO_BIN_EXE_rflake"))
                .args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<CommandOutput> = children
        .into_iter()
        .map(|c| CommandOutput::new(c.wait_with_output().unwrap(), &[env.root()]))
        .collect();
    for out in &outs {
        assert!(out.success(), "{out}");
    }
    assert_eq!(outs[0].stdout(), outs[1].stdout());
    // Each of the 60 builders ran once, whichever process ran it.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for name in env.read("built.log").lines() {
        *counts.entry(name.to_owned()).or_default() += 1;
    }
    assert_eq!(counts.len(), 60, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let building = |o: &CommandOutput| {
        o.stderr()
            .lines()
            .filter(|l| l.starts_with("building '"))
            .count()
    };
    assert_eq!(
        building(&outs[0]) + building(&outs[1]),
        60,
        "{}\n{}",
        outs[0],
        outs[1]
    );
    // A third run builds nothing.
    let again = env.run(&args);
    assert!(again.success(), "{again}");
    assert_eq!(building(&again), 0, "{again}");
    assert_eq!(env.read("built.log").lines().count(), 60);
    if require_nix() {
        let verify = env.run_nix(&["store", "verify", "--all", "--store", &store]);
        assert!(verify.success(), "{verify}");
    }
}
