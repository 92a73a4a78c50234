//! The zsh completion script installed the way zsh users install it, as `_rflake` in a
//! directory of `fpath`, and driven through a pseudo-terminal (zsh's `zpty`): the very first TAB
//! completes subcommands, flake references and setting flags (it used to offer files).

use std::path::Path;

use crate::support::TestEnv;

/// Starts an interactive `zsh -f` with the completion directory in `fpath`, types `input` and
/// TAB, and returns what the terminal showed up to the next prompt.
const DRIVER: &str = r#"
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="PROMPT> "; fpath=("$COMPDIR" $fpath); autoload -U compinit; compinit -u -d "$COMPDIR/.zcompdump"; LISTMAX=0; setopt no_beep; unsetopt list_ambiguous; echo READY$((1+1))'
zpty -r z out '*READY2*'
zpty -r z out '*PROMPT> *'
zpty -w -n z "$1"$'\t'
zpty -w z $'\C-e\C-u''echo DONE$((40+2))'
zpty -r z out '*DONE42*'
print -r -- "$out"
zpty -d z
"#;

/// Runs the driver for `input` (a fresh shell, so that the TAB is the first one).
fn first_tab(env: &TestEnv, input: &str) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rflake"))
        .parent()
        .expect("the binary is in a directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = env.run_command(
        env.command("timeout")
            .args(["60", "zsh", "-f", "../driver.zsh", input])
            .env("PATH", path)
            .env("TERM", "dumb")
            .env("COMPDIR", env.path("zfunc")),
    );
    assert!(out.success(), "{out}");
    out.stdout().replace('\r', "")
}

#[test]
#[allow(clippy::print_stderr)] // a skipped check says so outside CI
fn first_tab_completes_through_fpath() {
    if std::process::Command::new("zsh")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "zsh is needed in CI");
        eprintln!("skipping: no zsh");
        return;
    }
    let env = TestEnv::new();
    env.write("driver.zsh", DRIVER);
    env.write("zfunc/_rflake", env.run(&["completions", "zsh"]).stdout());
    env.write("work/SOMEFILE.txt", "");
    env.run(&["registry", "add", "nixpkgs", "github:NixOS/nixpkgs"]);
    env.run(&[
        "registry",
        "add",
        "nix-colors",
        "github:misterio77/nix-colors",
    ]);

    let screen = first_tab(&env, "rflake ");
    for sub in ["registry", "flake", "completions"] {
        assert!(screen.contains(sub), "{sub} not offered:\n{screen}");
    }
    assert!(!screen.contains("SOMEFILE"), "files offered:\n{screen}");
    assert!(
        !screen.contains("__complete"),
        "hidden command offered:\n{screen}"
    );

    let screen = first_tab(&env, "rflake registry resolve nix");
    assert!(
        screen.contains("nixpkgs") && screen.contains("nix-colors"),
        "registry ids not offered:\n{screen}"
    );
    assert!(!screen.contains("SOMEFILE"), "files offered:\n{screen}");

    let screen = first_tab(&env, "rflake registry list --tarball-t");
    assert!(screen.contains("--tarball-ttl"), "{screen}");
}
