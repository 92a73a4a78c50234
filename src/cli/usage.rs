//! The usage line of clap's usage errors.
//!
//! clap builds the usage line of an error from the arguments given, so `rflake flake archive
//! --json --foo` printed `Usage: rflake flake archive --json [FLAKE-URL]`, as if `--json` were
//! required. On a usage error the command line is parsed again by a command whose usage lines
//! are fixed to the generic ones (`rflake flake archive [OPTIONS] [FLAKE-URL]`), which `--help`
//! shows too. Only the error path pays for rendering them.

use clap::Command;

/// Returns `cmd` with every (sub)command's usage fixed to its generic usage line.
pub fn generic(mut cmd: Command) -> Command {
    cmd.build();
    fix(cmd)
}

fn fix(mut cmd: Command) -> Command {
    let usage = cmd.render_usage().to_string();
    let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage).to_owned();
    cmd.override_usage(usage).mut_subcommands(fix)
}
