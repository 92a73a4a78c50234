//! Pure evaluation in `rflake eval`, as in Nix's new CLI (`src/nix/main.cc` sets `pure-eval`,
//! `SourceExprCommand::parseInstallables` lifts it for `--file`): `--expr` is pure unless
//! `--impure`, `--file` is impure. Pure evaluation has no `currentTime` or `currentSystem`,
//! an empty `getEnv` and search path, no `storePath`, and no reading outside the store.

use crate::support::{CommandOutput, TestEnv};

fn env() -> TestEnv {
    let mut env = TestEnv::new();
    env.add_env("RFLAKE_PURITY_TEST", "set");
    env.add_env("NIX_PATH", "here=/tmp");
    env.write("file.nix", "builtins.getEnv \"RFLAKE_PURITY_TEST\"");
    env.write("time.nix", "builtins.isInt builtins.currentTime");
    env
}

fn last_error(out: &CommandOutput) -> String {
    out.stderr()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("error: "))
        .next_back()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn expr_is_pure_unless_impure() {
    let env = env();
    let file = env.path("file.nix").display().to_string();
    let cases: &[(&str, &str, &str)] = &[
        (
            "builtins.getEnv \"RFLAKE_PURITY_TEST\"",
            "\"\"\n",
            "\"set\"\n",
        ),
        ("builtins ? currentTime", "false\n", "true\n"),
        ("builtins ? currentSystem", "false\n", "true\n"),
        ("builtins.length builtins.nixPath", "0\n", "1\n"),
    ];
    for (expr, pure, impure) in cases {
        let out = env.run(&["eval", "--expr", expr]);
        assert_eq!(out.stdout(), *pure, "pure {expr}: {out}");
        let out = env.run(&["eval", "--impure", "--expr", expr]);
        assert_eq!(out.stdout(), *impure, "impure {expr}: {out}");
    }
    let refused: &[(String, &str)] = &[
        (
            format!("import {file}"),
            "is forbidden in pure evaluation mode (use '--impure' to override)",
        ),
        (
            "builtins.storePath /nix/store/00000000000000000000000000000000-x".to_owned(),
            "'builtins.storePath' is not allowed in pure evaluation mode",
        ),
        (
            "<here>".to_owned(),
            "cannot look up '<here>' in pure evaluation mode (use '--impure' to override)",
        ),
        (
            "builtins.currentTime".to_owned(),
            "attribute 'currentTime' missing",
        ),
    ];
    for (expr, want) in refused {
        let out = env.run(&["eval", "--expr", expr]);
        assert_eq!(out.status().code(), Some(1), "{expr}: {out}");
        assert!(last_error(&out).ends_with(want), "{expr}: {out}");
    }
    let out = env.run(&["eval", "--impure", "--expr", &format!("import {file}")]);
    assert_eq!(out.stdout(), "\"set\"\n", "{out}");
}

#[test]
fn file_is_impure() {
    let env = env();
    for (file, want) in [("file.nix", "\"set\"\n"), ("time.nix", "true\n")] {
        let path = env.path(file).display().to_string();
        let out = env.run(&["eval", "--file", &path]);
        assert_eq!(out.stdout(), want, "{file}: {out}");
    }
}
