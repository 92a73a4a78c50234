//! Option groups shared by several commands, named and worded as in Nix's manual
//! ("Common evaluation options", "Common flake-related options", logging, miscellaneous).

use std::path::PathBuf;

use clap::{ArgAction, Args};

/// Logging and miscellaneous options that every command accepts, before or after the
/// subcommand (Nix's global options).
#[derive(Args, Debug, Default, Clone)]
pub struct GlobalArgs {
    /// Set the logging verbosity level to 'debug'
    #[arg(long, global = true, help_heading = "Logging-related options")]
    pub debug: bool,
    /// Set the format of log output; one of `raw`, `internal-json`, `bar` or `bar-with-logs`
    #[arg(long, global = true, value_name = "FORMAT", help_heading = "Logging-related options",
          value_parser = log_formats())]
    pub log_format: Option<String>,
    /// Print full build logs on standard error
    #[arg(
        short = 'L',
        long,
        global = true,
        help_heading = "Logging-related options"
    )]
    pub print_build_logs: bool,
    /// Decrease the logging verbosity level
    #[arg(long, global = true, action = ArgAction::Count, help_heading = "Logging-related options")]
    pub quiet: u8,
    /// Increase the logging verbosity level
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Logging-related options")]
    pub verbose: u8,
    /// Disable substituters and consider all previously downloaded files up-to-date
    #[arg(long, global = true, help_heading = "Miscellaneous global options")]
    pub offline: bool,
    /// Set the Nix configuration setting NAME to VALUE (overriding nix.conf)
    #[arg(long, global = true, num_args = 2, value_names = ["NAME", "VALUE"], action = ArgAction::Append,
          help_heading = "Miscellaneous global options")]
    pub option: Vec<String>,
    /// Consider all previously downloaded files out-of-date
    #[arg(long, global = true, help_heading = "Miscellaneous global options")]
    pub refresh: bool,
    /// During evaluation, rewrite missing or corrupted files in the Nix store
    #[arg(long, global = true, help_heading = "Miscellaneous global options")]
    pub repair: bool,
    /// Show version information
    #[arg(long, global = true, help_heading = "Miscellaneous global options")]
    pub version: bool,
    /// The URL of the Nix store to use (the `store` setting)
    #[arg(
        long,
        global = true,
        value_name = "STORE-URL",
        help_heading = "Miscellaneous global options"
    )]
    pub store: Option<String>,
}

/// Nix's "Common evaluation options".
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Common evaluation options")]
pub struct EvalArgs {
    /// Pass the value EXPR as the argument NAME to Nix functions
    #[arg(long, num_args = 2, value_names = ["NAME", "EXPR"], action = ArgAction::Append)]
    pub arg: Vec<String>,
    /// Pass the contents of file PATH as the argument NAME to Nix functions
    #[arg(long, num_args = 2, value_names = ["NAME", "PATH"], action = ArgAction::Append)]
    pub arg_from_file: Vec<String>,
    /// Pass the contents of stdin as the argument NAME to Nix functions
    #[arg(long, value_name = "NAME")]
    pub arg_from_stdin: Vec<String>,
    /// Pass the string STRING as the argument NAME to Nix functions
    #[arg(long, num_args = 2, value_names = ["NAME", "STRING"], action = ArgAction::Append)]
    pub argstr: Vec<String>,
    /// Start an interactive environment if evaluation fails
    #[arg(long)]
    pub debugger: bool,
    /// The URL of the Nix store to use for evaluation, i.e. to store derivations and inputs
    #[arg(long, value_name = "STORE-URL")]
    pub eval_store: Option<String>,
    /// Allow access to mutable paths and repositories
    #[arg(long)]
    pub impure: bool,
    /// Add PATH to search path entries used to resolve lookup paths (`<nixpkgs>`)
    #[arg(short = 'I', long = "include", value_name = "PATH")]
    pub include: Vec<String>,
    /// Override the flake registries, redirecting ORIGINAL-REF to RESOLVED-REF
    #[arg(long, num_args = 2, value_names = ["ORIGINAL-REF", "RESOLVED-REF"], action = ArgAction::Append)]
    pub override_flake: Vec<String>,
}

/// Nix's "Common flake-related options" (the lock file flags).
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Common flake-related options")]
pub struct FlakeArgs {
    /// Commit changes to the flake's lock file
    #[arg(long)]
    pub commit_lock_file: bool,
    /// Use the inputs of the specified flake as registry entries
    #[arg(long, value_name = "FLAKE-URL")]
    pub inputs_from: Vec<String>,
    /// Don't allow lookups in the flake registries (deprecated: use `--no-use-registries`)
    #[arg(long)]
    pub no_registries: bool,
    /// Do not allow any updates to the flake's lock file
    #[arg(long)]
    pub no_update_lock_file: bool,
    /// Do not write the flake's newly generated lock file
    #[arg(long)]
    pub no_write_lock_file: bool,
    /// Write the given lock file instead of `flake.lock` within the top-level flake
    #[arg(long, value_name = "FLAKE-LOCK-PATH")]
    pub output_lock_file: Option<PathBuf>,
    /// Override a specific flake input (e.g. `dwarffs/nixpkgs`); implies `--no-write-lock-file`
    #[arg(long, num_args = 2, value_names = ["INPUT-PATH", "FLAKE-URL"], action = ArgAction::Append)]
    pub override_input: Vec<String>,
    /// Recreate the flake's lock file from scratch (deprecated)
    #[arg(long)]
    pub recreate_lock_file: bool,
    /// Read the given lock file instead of `flake.lock` within the top-level flake
    #[arg(long, value_name = "FLAKE-LOCK-PATH")]
    pub reference_lock_file: Option<PathBuf>,
    /// Update a specific flake input (ignoring its previous entry in the lock file; deprecated)
    #[arg(long, value_name = "INPUT-PATH")]
    pub update_input: Vec<String>,
}

/// `--json`, `--pretty` and `--no-pretty`.
#[derive(Args, Debug, Default, Clone)]
pub struct JsonArgs {
    /// Produce output in JSON format, suitable for consumption by another program
    #[arg(long)]
    pub json: bool,
    /// Print multi-line, indented JSON output for readability (default on a terminal)
    #[arg(long, overrides_with = "no_pretty")]
    pub pretty: bool,
    /// Print compact JSON output on a single line, even when the output is a terminal
    #[arg(long, overrides_with = "pretty")]
    pub no_pretty: bool,
}

/// The values of `--log-format`; Nix's `raw-with-logs` is accepted but not listed, as in Nix's
/// help.
fn log_formats() -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    clap::builder::PossibleValuesParser::new([
        PossibleValue::new("raw"),
        PossibleValue::new("raw-with-logs").hide(true),
        PossibleValue::new("internal-json"),
        PossibleValue::new("bar"),
        PossibleValue::new("bar-with-logs"),
    ])
}

/// Returns the pairs of a two-valued repeated option (`--override-flake A B --override-flake C D`).
pub fn pairs(values: &[String]) -> impl Iterator<Item = (&str, &str)> {
    values.chunks(2).filter_map(|c| match c {
        [a, b] => Some((a.as_str(), b.as_str())),
        _ => None,
    })
}
