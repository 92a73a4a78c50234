//! `rflake profile list|history|upgrade` (Nix's `src/nix/profile.cc`): arguments, the profile
//! each command operates on, and dispatch. Rendering is in `profile_show.rs`, the checks of
//! `upgrade` in `profile_upgrade.rs`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::{EvalArgs, FlakeArgs, JsonArgs};
use super::{Context, env, profile_show, profile_upgrade};
use crate::profile::location;
use crate::profile::store_fs::StoreFs;
use crate::store::StoreDir;

/// The `profile` subcommands rflake provides.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ProfileCommand {
    /// Upgrade packages using their most recent flake
    Upgrade(Box<UpgradeArgs>),
    /// List packages in the profile
    List(ListArgs),
    /// Show all versions of a profile
    History(HistoryArgs),
}

/// The option every profile command has.
#[derive(Args, Debug, Clone, Default)]
pub struct ProfileArg {
    /// The profile to operate on
    #[arg(long, value_name = "PATH")]
    pub profile: Option<PathBuf>,
}

/// Arguments of `profile upgrade`.
#[derive(Args, Debug)]
#[command(
    about = "Upgrade packages using their most recent flake",
    long_about = "Upgrade packages using their most recent flake.\n\n\
        Re-resolves the flake each selected profile element was installed from (through the \
        registries, so a `registry pin` applies), locks and evaluates it, and builds a new \
        profile generation. Elements installed from a locked flake reference (e.g. \
        `github:NixOS/nixpkgs/<rev>#hello`) cannot be upgraded.\n\nExamples:\n  \
        rflake profile upgrade --all\n  rflake profile upgrade hello\n  \
        rflake profile upgrade --regex '.*vim.*'"
)]
pub struct UpgradeArgs {
    /// Names (or store paths) of the profile elements to upgrade
    #[arg(value_name = "ELEMENTS")]
    pub elements: Vec<String>,
    /// Match all packages in the profile
    #[arg(long)]
    pub all: bool,
    /// A regular expression to match one or more packages in the profile
    #[arg(long, value_name = "PATTERN")]
    pub regex: Vec<String>,
    /// Show what this command would do without doing it
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan (with --dry-run) or the result as one JSON document on stdout
    #[arg(long)]
    pub json: bool,
    /// Leave elements that fail to lock, evaluate or build as they were and upgrade the others
    /// (the exit status is still 1)
    #[arg(long)]
    pub skip_failed: bool,
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Interpret installables as attribute paths relative to the Nix expression EXPR (ignored)
    #[arg(
        long,
        value_name = "EXPR",
        help_heading = "Options that change the interpretation of installables"
    )]
    pub expr: Option<String>,
    /// Interpret installables as attribute paths relative to the Nix expression in FILE (ignored)
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        help_heading = "Options that change the interpretation of installables"
    )]
    pub file: Option<String>,
    #[command(flatten)]
    pub eval: EvalArgs,
    #[command(flatten)]
    pub flake: FlakeArgs,
}

/// Arguments of `profile list`.
#[derive(Args, Debug)]
#[command(
    about = "List packages in the profile",
    long_about = "List packages in the profile.\n\n\
        Shows each element's name, the flake attribute and flake references it was installed \
        from, and its store paths, read from the profile's manifest (no network, no \
        evaluation).\n\nExamples:\n  rflake profile list\n  rflake profile list --json"
)]
pub struct ListArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    #[command(flatten)]
    pub json: JsonArgs,
    #[command(flatten)]
    pub eval: EvalArgs,
}

/// Arguments of `profile history`.
#[derive(Args, Debug)]
#[command(
    about = "Show all versions of a profile",
    long_about = "Show all versions of a profile.\n\n\
        Lists the profile's versions (generations) with their creation dates and, for each, \
        which packages were added, removed or changed version. The current version is shown \
        in green.\n\nExample:\n  rflake profile history"
)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    #[command(flatten)]
    pub eval: EvalArgs,
}

/// Runs a `profile` subcommand.
pub fn run(cmd: ProfileCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match cmd {
        ProfileCommand::Upgrade(a) => profile_upgrade::run(&a, ctx),
        ProfileCommand::List(a) => profile_show::list(&a, ctx),
        ProfileCommand::History(a) => profile_show::history(&a, ctx),
    }
}

/// The profile a command operates on. As in Nix, the default profile's links are made first,
/// even when `--profile` then names another.
pub fn profile_path(arg: &ProfileArg, ctx: &Context) -> PathBuf {
    let default = location::default_profile(&env::profile_dirs(&ctx.settings));
    match &arg.profile {
        Some(p) => location::explicit_profile(p, &ctx.cwd),
        None => default,
    }
}

/// The logical store directory and where the configured store keeps its objects (a chroot
/// store's `<root>/nix/store`).
pub fn store_fs(ctx: &Context) -> (StoreDir, StoreFs) {
    let uri = ctx.store_uri(None);
    match crate::store::open::local_options(&uri) {
        Some(opts) => {
            let logical = PathBuf::from(opts.store_dir.as_str());
            let real = match &opts.root {
                Some(root) => root.join(opts.store_dir.as_str().trim_start_matches('/')),
                None => logical.clone(),
            };
            (opts.store_dir, StoreFs::new(logical, real))
        }
        None => {
            let dir = StoreDir::default();
            // A daemon's store is read in place, under its `root` if given (Nix's
            // `LocalFSStore` settings of a `unix://` store).
            let real = match &uri {
                crate::store::uri::StoreUri::Daemon { params, .. } => params
                    .get("root")
                    .map(|r| PathBuf::from(r).join(dir.as_str().trim_start_matches('/'))),
                _ => None,
            };
            let fs = StoreFs::new(dir.as_str(), real.unwrap_or_else(|| dir.as_str().into()));
            (dir, fs)
        }
    }
}
