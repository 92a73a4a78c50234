//! The evaluation cache of `profile upgrade` (`src/flake/eval_cache.rs`, Nix's eval cache):
//! an element of a flake locked to the same fingerprint as before is not evaluated again (its
//! `builtins.trace` is not printed), and it is evaluated again when the flake changes, with
//! `--impure`, and with `eval-cache = false`. The profile ends the same either way.

use std::path::PathBuf;

use super::Fixture;
use super::upgrade::{install, profile_state, write_flake_at};

/// W1's flake at version `version` whose package prints `trace: evaluated <n>` when it is
/// evaluated.
fn traced_flake(version: u32) -> String {
    super::hello_flake(version).replace(
        "packages.x86_64-linux.default = derivation {",
        &format!(
            "packages.x86_64-linux.default = builtins.trace \"evaluated {version}\" derivation {{"
        ),
    )
}

fn cache_files(f: &Fixture) -> Vec<PathBuf> {
    let dir = f.env.path("cache/nix/rflake-eval-cache-v1");
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

fn upgrade(f: &Fixture, extra: &[&str]) -> String {
    let p = f.profile();
    let mut args = vec!["profile", "upgrade", "--profile", &p, "--all"];
    args.extend_from_slice(extra);
    let out = f.rflake(&args);
    assert!(out.success(), "{out}");
    out.stderr().to_owned()
}

#[test]
fn unchanged_flakes_are_not_evaluated_again() {
    let Some(f) = Fixture::new() else { return };
    install(&f, "flake1");
    write_flake_at(&f, "flake1", &traced_flake(1), 1700000000);
    // The flake changed (a trace): the first upgrade evaluates it and keeps the result.
    let first = upgrade(&f, &[]);
    assert!(first.contains("trace: evaluated 1"), "{first}");
    assert_eq!(cache_files(&f).len(), 1, "one cache file for the one flake");
    let state = profile_state(&f);

    // Locked to the same fingerprint: nothing is evaluated, nothing changes.
    let second = upgrade(&f, &[]);
    assert!(!second.contains("trace:"), "{second}");
    assert_eq!(profile_state(&f), state);

    // `--impure` and `eval-cache = false` evaluate (as in Nix), with the same outcome.
    let impure = upgrade(&f, &["--impure"]);
    assert!(impure.contains("trace: evaluated 1"), "{impure}");
    let off = upgrade(&f, &["--option", "eval-cache", "false"]);
    assert!(off.contains("trace: evaluated 1"), "{off}");
    assert_eq!(profile_state(&f), state);

    // A damaged cache file is an empty cache.
    for file in cache_files(&f) {
        std::fs::write(file, "{ damaged").unwrap();
    }
    let damaged = upgrade(&f, &[]);
    assert!(damaged.contains("trace: evaluated 1"), "{damaged}");
    assert!(!upgrade(&f, &[]).contains("trace:"));

    // A new version of the flake is a new fingerprint: evaluated, upgraded.
    write_flake_at(&f, "flake1", &traced_flake(2), 1700000100);
    let changed = upgrade(&f, &[]);
    assert!(changed.contains("trace: evaluated 2"), "{changed}");
    assert!(
        changed.contains("upgrading 'packages.x86_64-linux.default'"),
        "{changed}"
    );
    assert_ne!(profile_state(&f), state);
    assert_eq!(cache_files(&f).len(), 2);
}
