//! `rflake flake archive|metadata|prefetch` (Nix's `src/nix/flake.cc`).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::{EvalArgs, FlakeArgs, JsonArgs};
use super::{Context, not_implemented};

/// The `flake` subcommands rflake provides.
#[derive(Subcommand, Debug)]
pub enum FlakeCommand {
    /// Copy a flake and all its inputs to a store
    #[command(long_about = "Copy a flake and all its inputs to a store.\n\n\
        Locks FLAKE-URL (default `.`) and copies the source trees of the flake and of every \
        input in its lock file to the store given with `--to` (default: the local store). \
        This is useful to evaluate a flake on another host, or to cache its inputs in a \
        binary cache.\n\nExamples:\n  rflake flake archive --to file:///tmp/my-cache dwarffs\n  \
        rflake flake archive --json --dry-run nixops")]
    Archive(ArchiveArgs),
    /// Show flake metadata
    #[command(long_about = "Show flake metadata.\n\n\
        Prints the resolved and locked URL of FLAKE-URL, its description, store path, revision, \
        last modification time and its inputs tree.")]
    Metadata(MetadataArgs),
    /// Download the source tree denoted by a flake reference into the Nix store
    #[command(
        long_about = "Download the source tree denoted by a flake reference into the Nix \
        store.\n\nPrints the store path and the NAR hash of the fetched tree (`--json`: also \
        the locked and original references)."
    )]
    Prefetch(PrefetchArgs),
}

/// Arguments of `flake archive`.
#[derive(Args, Debug)]
pub struct ArchiveArgs {
    /// The flake to archive
    #[arg(value_name = "FLAKE-URL", default_value = ".")]
    flake_url: String,
    #[command(flatten)]
    json: JsonArgs,
    /// Show what this command would do without doing it
    #[arg(long)]
    dry_run: bool,
    /// URI of the destination Nix store
    #[arg(long, value_name = "STORE-URI")]
    to: Option<String>,
    /// Do not require that paths are signed by trusted keys
    #[arg(long)]
    no_check_sigs: bool,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    flake: FlakeArgs,
}

/// Arguments of `flake metadata`.
#[derive(Args, Debug)]
pub struct MetadataArgs {
    /// The flake to show
    #[arg(value_name = "FLAKE-URL", default_value = ".")]
    flake_url: String,
    #[command(flatten)]
    json: JsonArgs,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    flake: FlakeArgs,
}

/// Arguments of `flake prefetch`.
#[derive(Args, Debug)]
pub struct PrefetchArgs {
    /// The flake reference to fetch
    #[arg(value_name = "FLAKE-URL")]
    flake_url: String,
    #[command(flatten)]
    json: JsonArgs,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    flake: FlakeArgs,
}

/// Runs a `flake` subcommand.
pub fn run(cmd: FlakeCommand, _ctx: &Context) -> anyhow::Result<ExitCode> {
    match cmd {
        FlakeCommand::Archive(_) => not_implemented("flake archive"),
        FlakeCommand::Metadata(_) => not_implemented("flake metadata"),
        FlakeCommand::Prefetch(_) => not_implemented("flake prefetch"),
    }
}
