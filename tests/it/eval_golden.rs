//! The evaluator's golden tests: every `tests/data/eval/<topic>/NAME.nix` runs as
//! `rflake eval [FLAGS] --file NAME.nix` (FLAGS: the words of `NAME.flags`, `@DIR@` standing
//! for the test's directory). With `NAME.exp` it must print exactly that; with `NAME.err` it
//! must exit 1 and its last `error:` line must carry that message (the test's directory shown
//! as `@DIR@`).

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::TestEnv;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eval");
    let mut out = Vec::new();
    for topic in fs::read_dir(&root).unwrap() {
        let topic = topic.unwrap().path();
        if !topic.is_dir() {
            continue;
        }
        for f in fs::read_dir(&topic).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "nix") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// The text after `error: ` on the last line that starts (after blanks) with `error:` and
/// has text after it.
fn final_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("error:"))
        .map(str::trim)
        .rfind(|m| !m.is_empty())
        .map(str::to_owned)
}

#[test]
fn golden_files() {
    let env = TestEnv::new();
    let cases = cases();
    assert!(cases.len() >= 20, "golden tests missing: {cases:?}");
    let mut failures = Vec::new();
    for nix in &cases {
        let dir = nix.parent().unwrap().display().to_string();
        let flags = fs::read_to_string(nix.with_extension("flags")).unwrap_or_default();
        let flags = flags.replace("@DIR@", &dir);
        let mut args: Vec<&str> = vec!["eval"];
        args.extend(flags.split_whitespace());
        let file = nix.display().to_string();
        args.extend(["--file", &file]);
        let out = env.run(&args);
        let name = nix.display();
        if let Ok(want) = fs::read_to_string(nix.with_extension("exp")) {
            if !out.success() || out.stdout() != want {
                failures.push(format!(
                    "{name}: want {want:?}, got {:?} (stderr {:?})",
                    out.stdout(),
                    out.stderr()
                ));
            }
        } else {
            let want = fs::read_to_string(nix.with_extension("err"))
                .unwrap_or_else(|_| panic!("{name}: neither .exp nor .err"));
            let got = final_error(out.stderr()).map(|m| m.replace(&dir, "@DIR@"));
            if out.status().code() != Some(1) || got.as_deref() != Some(want.trim_end()) {
                failures.push(format!(
                    "{name}: want error {:?}, got {:?} (exit {:?})",
                    want.trim_end(),
                    got,
                    out.status().code()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
