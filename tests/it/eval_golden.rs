//! Golden tests of the evaluator: every `tests/data/eval/<topic>/NAME.nix` is evaluated with
//! `rflake eval --impure --file` (plus the words of `NAME.flags`, when present). With
//! `NAME.exp`, stdout must equal it; with `NAME.err`, the command must fail and the last
//! `error:` line of stderr must equal it (the final message, as Nix's language suite compares).

use std::path::{Path, PathBuf};

use crate::support::TestEnv;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eval")
}

fn cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(topics) = std::fs::read_dir(data_dir()) else {
        return out;
    };
    for topic in topics.flatten() {
        let Ok(files) = std::fs::read_dir(topic.path()) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "nix") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The last line that starts (after blanks) with `error:` and says something.
fn final_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .map(str::trim_start)
        .rfind(|l| l.starts_with("error:") && l.len() > "error:".len())
        .map(str::to_owned)
}

fn check(env: &TestEnv, nix: &Path) -> Result<(), String> {
    let flags = std::fs::read_to_string(nix.with_extension("flags")).unwrap_or_default();
    let file = nix.to_string_lossy().into_owned();
    let mut args: Vec<&str> = vec!["eval", "--impure"];
    args.extend(flags.split_whitespace());
    args.extend(["--file", &file]);
    let out = env.run(&args);
    if let Ok(exp) = std::fs::read_to_string(nix.with_extension("exp")) {
        if !out.success() || out.stdout().trim_end() != exp.trim_end() {
            return Err(format!("expected\n{}\ngot\n{out}", exp.trim_end()));
        }
        return Ok(());
    }
    let want = std::fs::read_to_string(nix.with_extension("err"))
        .map_err(|_| "neither .exp nor .err beside it".to_owned())?;
    let got = final_error(out.stderr());
    if out.success() || got.as_deref() != Some(want.trim_end()) {
        return Err(format!("expected error\n{}\ngot\n{out}", want.trim_end()));
    }
    Ok(())
}

#[test]
fn eval_golden() {
    let cases = cases();
    assert!(!cases.is_empty(), "no golden tests under {:?}", data_dir());
    let env = TestEnv::new();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            check(&env, c).err().map(|e| {
                format!(
                    "{}:\n{e}",
                    c.strip_prefix(data_dir()).unwrap_or(c).display()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden tests failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
