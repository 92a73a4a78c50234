//! `rflake profile upgrade` (Nix's `src/nix/profile.cc`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::{EvalArgs, FlakeArgs};
use super::{Context, not_implemented};

/// The `profile` subcommands rflake provides.
#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Upgrade packages using their most recent flake
    #[command(long_about = "Upgrade packages using their most recent flake.\n\n\
        Re-resolves the flake each selected profile element was installed from (through the \
        registries, so a `registry pin` applies), locks and evaluates it, and builds a new \
        profile generation. Elements installed from a locked flake reference (e.g. \
        `github:NixOS/nixpkgs/<rev>#hello`) cannot be upgraded.\n\nExamples:\n  \
        rflake profile upgrade --all\n  rflake profile upgrade hello\n  \
        rflake profile upgrade --regex '.*vim.*'")]
    Upgrade(UpgradeArgs),
}

/// Arguments of `profile upgrade`.
#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Names (or store paths) of the profile elements to upgrade
    #[arg(value_name = "ELEMENTS")]
    elements: Vec<String>,
    /// Match all packages in the profile
    #[arg(long)]
    all: bool,
    /// A regular expression to match one or more packages in the profile
    #[arg(long, value_name = "PATTERN")]
    regex: Vec<String>,
    /// Show what this command would do without doing it
    #[arg(long)]
    dry_run: bool,
    /// The profile to operate on
    #[arg(long, value_name = "PATH")]
    profile: Option<PathBuf>,
    /// Interpret installables as attribute paths relative to the Nix expression EXPR (ignored)
    #[arg(
        long,
        value_name = "EXPR",
        help_heading = "Options that change the interpretation of installables"
    )]
    expr: Option<String>,
    /// Interpret installables as attribute paths relative to the Nix expression in FILE (ignored)
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        help_heading = "Options that change the interpretation of installables"
    )]
    file: Option<String>,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    flake: FlakeArgs,
}

/// Runs a `profile` subcommand.
pub fn run(cmd: ProfileCommand, _ctx: &Context) -> anyhow::Result<ExitCode> {
    match cmd {
        ProfileCommand::Upgrade(_) => not_implemented("profile upgrade"),
    }
}
