//! The evaluator's golden tests: every `tests/data/eval/<topic>/NAME.nix` is evaluated with
//! `rflake eval --file`; `eval-okay-*` must print `NAME.exp` exactly, `eval-fail-*` must fail
//! with the last `error:` line equal to `NAME.err`.

// Helpers unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crate::support::TestEnv;

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            cases(&p, out);
        } else if p.extension().is_some_and(|e| e == "nix") {
            out.push(p);
        }
    }
}

#[test]
fn golden_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eval");
    let mut all = Vec::new();
    cases(&root, &mut all);
    assert!(!all.is_empty(), "no golden tests under {}", root.display());
    let env = TestEnv::new();
    let mut failures = Vec::new();
    for nix in &all {
        let name = nix.file_stem().unwrap().to_string_lossy().into_owned();
        let out = env.run(&["eval", "--file", &nix.display().to_string()]);
        if name.starts_with("eval-okay-") {
            let exp = std::fs::read_to_string(nix.with_extension("exp")).unwrap_or_default();
            if !out.success() || out.stdout() != exp {
                failures.push(format!("{}:\n{out}\nexpected:\n{exp}", nix.display()));
            }
        } else {
            let exp = std::fs::read_to_string(nix.with_extension("err")).unwrap_or_default();
            let last = out
                .stderr()
                .lines()
                .rfind(|l| l.starts_with("error:"))
                .unwrap_or("")
                .to_owned();
            if out.success() || last != exp.trim_end() {
                failures.push(format!("{}:\n{out}\nexpected: {exp}", nix.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
