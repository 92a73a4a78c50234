//! The documentation says what the program does: the usage error the CI guide quotes is the one
//! printed, usage lines do not make optional flags look required, and the README's completion
//! install lines work in a fresh home directory. (A test that the commands `docs/deviations.md`
//! called unimplemented were went with the last of them, `profile upgrade --json` and
//! `--skip-failed`.)

use std::path::Path;

use crate::support::TestEnv;

fn doc(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .expect("a doc of the repository")
}

#[test]
fn the_ci_guide_quotes_the_usage_error_printed() {
    let text = doc("docs/flake-archive-in-ci.md");
    let start = text
        .find("a usage error (`")
        .expect("the exit-code table names it")
        + 16;
    let quoted = &text[start..start + text[start..].find('`').unwrap()];
    let env = TestEnv::new();
    let out = env.run(&["flake", "archive", "--no-such-flag"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    let expected = quoted.replace('…', "no-such-flag");
    assert!(
        out.stderr().starts_with(&format!("{expected}\n")),
        "the guide says {quoted:?}, rflake says: {out}"
    );
}

#[test]
fn usage_lines_show_optional_flags_as_optional() {
    let env = TestEnv::new();
    let out = env.run(&["flake", "archive", "--json", "--no-such-flag"]);
    assert!(
        out.stderr()
            .contains("\nUsage: rflake flake archive [OPTIONS] [FLAKE-URL]\n"),
        "{out}"
    );
    assert!(!out.stderr().contains("--json [FLAKE-URL]"), "{out}");
}

#[test]
fn readme_completion_install_lines_work_in_a_fresh_home() {
    let text = doc("README.md");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mkdir -p") && l.contains("rflake completions"))
        .collect();
    assert_eq!(lines.len(), 3, "bash, zsh and fish lines");
    let env = TestEnv::new();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rflake")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for line in lines {
        let out = env.run_command(env.command("sh").args(["-c", line]).env("PATH", &path));
        assert!(out.success(), "{line}: {out}");
    }
    for file in [
        "home/.local/share/bash-completion/completions/rflake",
        "home/.zfunc/_rflake",
        "home/.config/fish/completions/rflake.fish",
    ] {
        assert!(env.read(file).contains("rflake"), "{file}");
    }
}
