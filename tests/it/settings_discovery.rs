//! The `--<setting>` flags can be discovered: `rflake --help` lists them (Nix's "Options to
//! override configuration settings"), every command's help points there, and the bash and fish
//! completions offer them.

use std::process::Command;

use crate::support::TestEnv;

#[test]
fn top_level_help_lists_the_setting_flags() {
    let env = TestEnv::new();
    let out = env.run(&["--help"]);
    assert!(out.success(), "{out}");
    let help = out.stdout();
    for line in [
        "Options to override configuration settings",
        "      --flake-registry <VALUE>\n          Set the flake-registry setting\n",
        "      --tarball-ttl <VALUE>\n          Set the tarball-ttl setting\n",
        "      --no-warn-dirty\n          Disable the warn-dirty setting\n",
        "      --extra-substituters <VALUE>\n          Append to the substituters setting\n",
    ] {
        assert!(help.contains(line), "{line:?} missing:\n{help}");
    }
    // Settings rflake accepts without effect are named too.
    assert!(help.contains("max-jobs,"), "{help}");
}

#[test]
fn every_command_help_points_at_the_setting_flags() {
    let env = TestEnv::new();
    for cmd in [
        &["flake", "archive"][..],
        &["registry", "list"],
        &["registry", "pin"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = env.run(&args);
        assert!(
            out.stdout().contains("--flake-registry") && out.stdout().contains("rflake --help"),
            "{args:?}: {out}"
        );
    }
}

/// Runs `script` in `shell` inside the env and returns stdout.
fn shell_out(env: &TestEnv, shell: &str, script: &str) -> String {
    let out = env.run_command(env.command(shell).arg("-c").arg(script));
    assert!(out.success(), "{shell}: {out}");
    out.stdout().to_owned()
}

#[test]
fn bash_completes_setting_flags() {
    let env = TestEnv::new();
    env.write("rflake.bash", env.run(&["completions", "bash"]).stdout());
    let script = "source ../rflake.bash
        COMP_WORDS=(rflake registry list --flake-reg); COMP_CWORD=3
        _rflake_with_refs rflake --flake-reg list
        printf '%s\\n' \"${COMPREPLY[@]}\"
        COMP_WORDS=(rflake --tarball); COMP_CWORD=1
        _rflake_with_refs rflake --tarball rflake
        printf '%s\\n' \"${COMPREPLY[@]}\"";
    let out = shell_out(&env, "bash", script);
    assert_eq!(out, "--flake-registry\n--tarball-ttl\n");
}

#[test]
fn fish_completes_setting_flags() {
    if Command::new("fish").arg("--version").output().is_err() && std::env::var_os("CI").is_none() {
        return;
    }
    let env = TestEnv::new();
    env.write("rflake.fish", env.run(&["completions", "fish"]).stdout());
    let out = shell_out(
        &env,
        "fish",
        "source ../rflake.fish; complete -C 'rflake registry list --flake-reg'",
    );
    assert_eq!(out, "--flake-registry\tSet the flake-registry setting\n");
}
