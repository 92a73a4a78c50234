//! `--help` of every command, as file snapshots (`tests/it/snapshots/`).

use crate::support::TestEnv;

#[test]
fn help_of_every_command() {
    let env = TestEnv::new();
    let commands: &[&[&str]] = &[
        &[],
        &["flake"],
        &["flake", "archive"],
        &["flake", "metadata"],
        &["flake", "prefetch"],
        &["registry"],
        &["registry", "add"],
        &["registry", "list"],
        &["registry", "pin"],
        &["registry", "remove"],
        &["registry", "resolve"],
        &["profile"],
        &["profile", "upgrade"],
        &["profile", "list"],
        &["profile", "history"],
        &["completions"],
        &["build"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = env.run(&args);
        assert!(out.success(), "{args:?}: {out}");
        let name = if cmd.is_empty() {
            "rflake".to_owned()
        } else {
            cmd.join("_")
        };
        insta::assert_snapshot!(format!("help_{name}"), out.stdout());
    }
}

#[test]
fn version_anywhere() {
    let env = TestEnv::new();
    for args in [&["--version"][..], &["registry", "list", "--version"][..]] {
        let out = env.run(args);
        assert_eq!(
            out.stdout(),
            concat!("rflake (rflake) ", env!("CARGO_PKG_VERSION"), "\n")
        );
    }
}
