//! `rflake flake archive|metadata|prefetch` (Nix's `src/nix/flake.cc`).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Context;
use super::args::{EvalArgs, FlakeArgs, JsonArgs};
use crate::report::Reporter as _;

/// The `flake` subcommands rflake provides.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum FlakeCommand {
    /// Copy a flake and all its inputs to a store
    Archive(ArchiveArgs),
    /// Show flake metadata
    Metadata(MetadataArgs),
    /// Download the source tree denoted by a flake reference into the Nix store
    Prefetch(PrefetchArgs),
}

/// Arguments of `flake archive`.
#[derive(Args, Debug)]
#[command(
    about = "Copy a flake and all its inputs to a store",
    long_about = "Copy a flake and all its inputs to a store.\n\n\
        Locks FLAKE-URL (default `.`) and copies the source trees of the flake and of every \
        input in its lock file to the store given with `--to` (default: the local store). \
        This is useful to evaluate a flake on another host, or to cache its inputs in a \
        binary cache.\n\nExamples:\n  rflake flake archive --to file:///tmp/my-cache dwarffs\n  \
        rflake flake archive --json --dry-run nixops"
)]
pub struct ArchiveArgs {
    /// The flake to archive
    #[arg(value_name = "FLAKE-URL", default_value = ".")]
    pub flake_url: String,
    #[command(flatten)]
    pub json: JsonArgs,
    /// Show what this command would do without doing it
    #[arg(long)]
    pub dry_run: bool,
    /// URI of the destination Nix store
    #[arg(long, value_name = "STORE-URI")]
    pub to: Option<String>,
    /// Do not require that paths are signed by trusted keys
    #[arg(long)]
    pub no_check_sigs: bool,
    /// Fetch and copy nothing: exit 0 when every path is in the store (or at --to), 3 listing
    /// the missing ones, 4 when flake.lock is incomplete or out of sync with flake.nix (rflake
    /// addition)
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,
    /// Print every store path once, one per line, as soon as it is ready (for `cachix push`,
    /// `attic push`, `nix copy`) (rflake addition)
    #[arg(long, conflicts_with_all = ["json", "json_lines"])]
    pub print_paths: bool,
    /// Print one JSON record per line for the flake and each input: `attrPath`, `locked`,
    /// `narHash`, `path` (rflake addition)
    #[arg(long, conflicts_with = "json")]
    pub json_lines: bool,
    /// Leave the flake's own source out: archive only its inputs (rflake addition)
    #[arg(long)]
    pub inputs_only: bool,
    /// Archive only this input (e.g. `nixpkgs` or `a/b`) and its own inputs; repeatable (rflake
    /// addition)
    #[arg(long = "input", value_name = "INPUT-PATH", action = clap::ArgAction::Append)]
    pub input: Vec<String>,
    /// Leave this input (e.g. `a/b`) and what is reached only through it out; repeatable
    /// (rflake addition)
    #[arg(long, value_name = "INPUT-PATH", action = clap::ArgAction::Append)]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub eval: EvalArgs,
    #[command(flatten)]
    pub flake: FlakeArgs,
}

/// Arguments of `flake metadata`.
#[derive(Args, Debug)]
#[command(
    about = "Show flake metadata",
    long_about = "Show flake metadata.\n\n\
        Prints the resolved and locked URL of FLAKE-URL, its description, store path, revision, \
        last modification time and its inputs tree."
)]
pub struct MetadataArgs {
    /// The flake to show
    #[arg(value_name = "FLAKE-URL", default_value = ".")]
    pub flake_url: String,
    #[command(flatten)]
    pub json: JsonArgs,
    #[command(flatten)]
    pub eval: EvalArgs,
    #[command(flatten)]
    pub flake: FlakeArgs,
}

/// Arguments of `flake prefetch`.
#[derive(Args, Debug)]
#[command(
    about = "Download the source tree denoted by a flake reference into the Nix store",
    long_about = "Download the source tree denoted by a flake reference into the Nix \
        store.\n\nPrints the store path and the NAR hash of the fetched tree (`--json`: also \
        the locked and original references)."
)]
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
pub fn run(cmd: FlakeCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match cmd {
        FlakeCommand::Archive(a) => super::flake_archive::run(&a, ctx),
        FlakeCommand::Metadata(a) => super::flake_metadata::run(&a, ctx),
        FlakeCommand::Prefetch(a) => prefetch(&a, ctx),
    }
}

/// `flake prefetch`: fetch the reference ([`crate::flake::prefetch::run`]) and say where it
/// went (Nix's `CmdFlakePrefetch`).
fn prefetch(a: &PrefetchArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let original = crate::flakeref::parse(&a.flake_url, &ctx.cwd_parse_options(), &ctx.printer)?;
    let flags = ctx.flag_registry(&a.eval.override_flake)?;
    let session = ctx.session(ctx.settings.use_registries);
    let done = crate::flake::prefetch::run(&session, &original, flags)?;
    if a.json.json {
        let value = serde_json::json!({
            "hash": done.hash,
            "locked": crate::flakeref::attrs::to_json(&done.locked.to_attrs()),
            "original": crate::flakeref::attrs::to_json(&done.original.to_attrs()),
            "storePath": done.store_path,
        });
        ctx.print_json(&value, &a.json)?;
    } else {
        ctx.printer.notice(&format!(
            "Downloaded '{}' to '{}' (hash '{}').",
            done.locked.to_url_string()?,
            done.store_path,
            done.hash
        ));
    }
    Ok(ExitCode::SUCCESS)
}
