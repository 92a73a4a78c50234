//! The command line: clap types mirroring Nix's command tree, settings from the environment,
//! output, errors and exit codes. The only layer that knows about clap, stdout/stderr and the
//! process environment.
//!
//! Each command lives in its own file with its `Args` and a `run` function; [`run`] builds the
//! shared [`Context`] and dispatches.

mod args;
mod build;
mod build_subst;
mod completions;
mod completions_zsh;
mod env;
mod error;
mod eval;
mod eval_flake;
mod flake;
mod flake_archive;
mod flake_metadata;
mod help_order;
mod hints;
mod interrupt;
mod lock_args;
mod log_json;
mod output;
mod profile;
mod profile_show;
mod profile_upgrade;
mod profile_upgrade_eval;
mod profile_upgrade_report;
mod profile_upgrade_store;
mod registry;
mod registry_explain;
mod settings_help;
mod usage;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

pub use args::GlobalArgs;
use output::Printer;

use crate::flake::session::{Config as SessionConfig, Session};
use crate::flakeref::{FlakeRef, ParseOptions};
use crate::registry::global::Downloader;
use crate::registry::layers::Locations;
use crate::registry::{Entry, Registry};
use crate::report::Reporter as _;
use crate::settings::{self, Settings};
use crate::store::daemon::ClientOptions;
use crate::store::open::StoreSettings;
use crate::store::uri::StoreUri;
use crate::util::fs::RealFs;
use crate::util::http::{HttpClient, HttpConfig};

/// rflake: Nix's `flake archive`, `registry` and `profile upgrade`, faster.
///
/// rflake takes the same arguments as `nix`, reads and writes the same files (`nix.conf`,
/// `registry.json`, `flake.lock`, the Nix store) and prints the same output. Any Nix setting can
/// be given as `--option NAME VALUE`, `--NAME VALUE`, `--extra-NAME VALUE`, or `--NAME` /
/// `--no-NAME` for Boolean settings.
#[derive(Parser, Debug)]
#[command(name = "rflake", disable_version_flag = true, max_term_width = 100)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands, mirroring `nix`'s tree. Each one's options are built only when it is run
/// (`defer`): a command's start-up builds its own options, not every command's. A deferred
/// command's help is set on its options' type (which is applied last) and repeated here for
/// the listing of commands; a test checks the two agree.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Build a derivation or fetch a store path
    Build(build::BuildCmd),
    /// Evaluate a Nix expression
    Eval(eval::EvalCmd),
    /// Manage Nix flakes
    #[command(subcommand)]
    Flake(flake::FlakeCommand),
    /// Manage the flake registry
    #[command(subcommand, long_about = registry::ABOUT)]
    Registry(registry::RegistryCommand),
    /// Manage Nix profiles
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
    /// List completion candidates (used by the completion scripts)
    #[command(name = "__complete", hide = true)]
    Complete(completions::CompleteArgs),
}

/// What every command gets: settings, paths and output.
pub struct Context {
    /// The printer (also the core's reporter).
    pub printer: Printer,
    /// The resolved settings.
    pub settings: Settings,
    /// The working directory.
    pub cwd: PathBuf,
    /// Nix's directories.
    pub dirs: env::Dirs,
    /// The global options.
    pub global: GlobalArgs,
    /// The process's one HTTP client (built on first use).
    pub http: Arc<HttpClient>,
}

impl Context {
    /// Returns the registry locations.
    pub fn registry_locations(&self) -> Locations {
        env::registry_locations(&self.dirs, &self.settings)
    }

    /// Returns the downloader for this run's settings.
    pub fn downloader(&self) -> Downloader {
        env::downloader(
            &self.dirs,
            &self.settings,
            self.global.offline,
            self.global.refresh,
            self.http.clone(),
        )
    }

    /// Parse options for references given on the command line with the working directory as
    /// base (`--override-flake`, `flake archive`).
    pub fn cwd_parse_options(&self) -> ParseOptions<'_> {
        ParseOptions {
            base: Some((&self.cwd, &RealFs)),
            ..ParseOptions::default()
        }
    }

    /// Parses a store URI (`--store`/the `store` setting when `None`) and resolves `auto`.
    pub fn store_uri(&self, uri: Option<&str>) -> StoreUri {
        StoreUri::parse(uri.unwrap_or(&self.settings.store), &self.cwd)
            .resolve_auto(&env::auto_store_facts())
    }

    /// Returns the fetcher settings of this run (`--offline` and `--refresh` included).
    pub(crate) fn fetch_settings(&self) -> crate::fetch::Settings {
        let s = &self.settings;
        crate::fetch::Settings {
            tarball_ttl: if self.global.refresh {
                0
            } else {
                s.tarball_ttl
            },
            offline: self.global.offline,
            allow_dirty: s.allow_dirty,
            warn_dirty: s.warn_dirty,
            access_tokens: s.access_tokens.clone(),
            trust_tarballs_from_git_forges: s.trust_tarballs_from_git_forges,
            download_attempts: s.download_attempts,
            forge_base_url: env::forge_base_url(),
        }
    }

    /// What opening a store needs from the settings and the environment.
    pub fn store_settings(&self) -> StoreSettings {
        let s = &self.settings;
        StoreSettings {
            require_sigs: s.require_sigs,
            trusted_public_keys: s.trusted_public_keys.clone(),
            secret_key_files: s.secret_key_files.clone(),
            daemon_socket: env::daemon_socket(),
            ssh_opts: env::nix_sshopts(),
            daemon_client: ClientOptions {
                print_build_logs: self.global.print_build_logs,
                ..daemon_client(&s.daemon)
            },
        }
    }

    /// Gathers this run's settings, flags and paths into a session; `use_registries` is the
    /// setting as the command's flags left it. Nothing is opened yet.
    pub fn session(&self, use_registries: bool) -> Session<'_> {
        Session::new(self.session_config(use_registries), &self.printer)
    }

    /// The explicit inputs of a session (see [`Context::session`]).
    pub fn session_config(&self, use_registries: bool) -> SessionConfig {
        let s = &self.settings;
        SessionConfig {
            cwd: self.cwd.clone(),
            cache_home: self.dirs.cache_home.clone(),
            now: env::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            fetch: self.fetch_settings(),
            downloader: self.downloader(),
            registries: self.registry_locations(),
            use_registries,
            store: self.store_uri(None),
            store_settings: self.store_settings(),
            jobs: usize::try_from(s.http_connections)
                .unwrap_or(usize::MAX)
                .clamp(1, 64),
            http: self.http.clone(),
        }
    }

    /// Prints a JSON document on stdout: indented with `--pretty` or on a terminal, compact
    /// with `--no-pretty` or otherwise; always with a final newline.
    pub fn print_json(
        &self,
        value: &serde_json::Value,
        args: &args::JsonArgs,
    ) -> anyhow::Result<()> {
        use std::io::IsTerminal as _;
        let pretty = args.pretty || (!args.no_pretty && std::io::stdout().is_terminal());
        let text = if pretty {
            serde_json::to_string_pretty(value)?
        } else {
            serde_json::to_string(value)?
        };
        self.printer.out_line(&text)?;
        Ok(())
    }

    /// Builds the flag registry from `--override-flake FROM TO` pairs.
    pub fn flag_registry(&self, override_flake: &[String]) -> anyhow::Result<Registry> {
        let opts = self.cwd_parse_options();
        let mut reg = Registry::default();
        for (from, to) in args::pairs(override_flake) {
            let from: FlakeRef = crate::flakeref::parse(from, &opts, &self.printer)?;
            let to: FlakeRef = crate::flakeref::parse(to, &opts, &self.printer)?;
            reg.entries.push(Entry {
                from: from.input,
                to: to.input,
                dir: to.subdir,
                exact: false,
            });
        }
        Ok(reg)
    }
}

/// What a daemon store sends with `setOptions`, from the settings (the verbosity is set when
/// the store is opened).
fn daemon_client(d: &settings::forward::DaemonOptions) -> ClientOptions {
    ClientOptions {
        keep_failed: d.keep_failed,
        keep_going: d.keep_going,
        try_fallback: d.fallback,
        max_build_jobs: d.max_jobs,
        max_silent_time: d.max_silent_time,
        build_cores: d.cores,
        use_substitutes: d.substitute,
        overrides: d.overrides.clone(),
        ..ClientOptions::default()
    }
}

/// Long option names clap defines itself, so that setting flags never shadow them: those of
/// `cmd` and of every subcommand, whose deferred options are built first.
fn clap_long_names(cmd: &clap::Command) -> Vec<String> {
    fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
        out.extend(
            cmd.get_arguments()
                .filter_map(|a| a.get_long().map(str::to_owned)),
        );
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut full = cmd.clone();
    full.build();
    let mut out = vec!["help".to_owned()];
    walk(&full, &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

/// Runs rflake with the process's arguments and environment and returns the exit code.
pub fn main() -> ExitCode {
    let args = env::args();
    // The binary doubles as the helpers that start builders.
    use crate::build::{chroot, sandbox::helper as sb};
    let helpers = [
        sb::OUTER_ARG,
        sb::INNER_ARG,
        sb::PROBE_ARG,
        chroot::HELPER_ARG,
        chroot::DIRECT_ARG,
    ];
    let helper = args.get(1).is_some_and(|a| helpers.iter().any(|h| a == h));
    match helper {
        true => crate::util::thp::for_builder(),
        false => crate::util::thp::start_small(),
    }
    // The sandbox helpers must run before any thread starts (see `build::sandbox::helper`).
    if let Some(code) = crate::build::sandbox::helper::dispatch(&args) {
        return code;
    }
    if args
        .get(1)
        .is_some_and(|a| a == crate::build::chroot::DIRECT_ARG)
    {
        return crate::build::chroot::direct_main(&args[2..]);
    }
    interrupt::install();
    let printer = Printer::for_format(output::INFO, log_json::LogFormat::from_args(&args));
    let result = if main_stack_can_grow() {
        run(args)
    } else {
        run_on_big_stack(args)
    };
    // Interrupted, the command failed or swallowed the failure in a fallback: either way the
    // user asked it to stop, so it does not report success.
    if crate::util::interrupt::is_interrupted() {
        return interrupt::report(&printer);
    }
    match result {
        Ok(code) => code,
        Err(e) => error::report(&printer, &e),
    }
}

/// How deep the command's stack may grow: walks over a flake's input graph recurse once per
/// level (bounded by `flake::lockfile::MAX_DEPTH`), more than the usual 8 MiB hold in a debug
/// build. Below the 128 MiB that Linux leaves free under the main thread's stack.
const COMMAND_STACK: u64 = 120 << 20;

/// Raises the soft stack limit so that the main thread's stack may grow to [`COMMAND_STACK`]
/// (Linux checks the current limit as the stack grows); false when the hard limit does not
/// allow it. Running on the main thread costs nothing; a thread costs short commands a
/// noticeable share of their time.
fn main_stack_can_grow() -> bool {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Stack);
    if limit.current.is_none_or(|c| c >= COMMAND_STACK) {
        return true;
    }
    if limit.maximum.is_some_and(|m| m < COMMAND_STACK) {
        return false;
    }
    let raised = Rlimit {
        current: Some(COMMAND_STACK),
        maximum: limit.maximum,
    };
    setrlimit(Resource::Stack, raised).is_ok()
}

/// Runs the command on a thread with a [`COMMAND_STACK`] stack, for when the main thread's may
/// not grow that far.
fn run_on_big_stack(args: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let size = usize::try_from(COMMAND_STACK).unwrap_or(usize::MAX);
    std::thread::Builder::new()
        .name("rflake".into())
        .stack_size(size)
        .spawn(move || run(args))
        .map_err(|e| anyhow!("starting the command thread: {e}"))?
        .join()
        .unwrap_or_else(|_| Err(anyhow!("rflake crashed (a bug: please report it)")))
}

/// Parses `argv`, loads the settings and runs the command.
pub fn run(argv: Vec<OsString>) -> anyhow::Result<ExitCode> {
    // The binary doubles as the helper that runs a builder for a chroot store.
    if argv
        .get(1)
        .is_some_and(|a| a == crate::build::chroot::HELPER_ARG)
    {
        return Ok(crate::build::chroot::helper_main(&argv[2..]));
    }
    let cmd = Cli::command();
    // Each subcommand's options are built when it is the one being run (`defer`), so the names
    // clap reserves take the whole tree: built only when a setting flag or a help request needs
    // them (most command lines have neither, and building every subcommand's options was a
    // fifth of a short command's start-up).
    let help = argv.iter().any(|a| a == "--help" || a == "help");
    let reserved: Vec<String> = if help || settings::flags::mentions_setting(&argv) {
        clap_long_names(&cmd)
    } else {
        Vec::new()
    };
    let reserved: Vec<&str> = reserved.iter().map(String::as_str).collect();
    let (argv, setting_flags) = settings::flags::extract(argv, &reserved)?;
    // Only `--help` and `help` show the settings section; other runs skip building it.
    let cmd = if help {
        settings_help::decorate(cmd, &reserved)
    } else {
        cmd
    };
    // The headings of the global options, which a command's help lists after its own.
    let global_headings: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(|a| a.get_help_heading().map(str::to_owned))
        .collect();
    let matches = match cmd.try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            let headings: Vec<&str> = global_headings.iter().map(String::as_str).collect();
            let text = help_order::globals_last(&e.render().ansi().to_string(), &headings);
            // As clap prints it: styled on a terminal, unless the environment says otherwise.
            let _ = std::io::Write::write_all(&mut anstream::stdout(), text.as_bytes());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) if e.use_stderr() => {
            // Again, for the error with the generic usage line (see `usage`).
            let cmd = usage::generic(Cli::command());
            return Ok(clap_exit(cmd.try_get_matches_from(argv).err().unwrap_or(e)));
        }
        Err(e) => return Ok(clap_exit(e)),
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| anyhow!("{e}"))?;
    let g = &cli.global;
    if g.version {
        Printer::new(output::INFO)
            .out_line(concat!("rflake (rflake) ", env!("CARGO_PKG_VERSION")))?;
        return Ok(ExitCode::SUCCESS);
    }
    let level = if g.debug {
        output::DEBUG
    } else {
        output::INFO + i32::from(g.verbose) - i32::from(g.quiet)
    };
    let format = g
        .log_format
        .as_deref()
        .and_then(log_json::LogFormat::parse)
        .unwrap_or_default();
    let printer = Printer::for_format(level, format);
    let Some(command) = cli.command else {
        let mut cmd = Cli::command();
        printer.err_line(&cmd.render_usage().to_string());
        return Err(anyhow!("no subcommand specified; try 'rflake --help'"));
    };
    let mut overrides = Vec::new();
    for (name, value) in args::pairs(&g.option) {
        overrides.push((name.to_owned(), value.to_owned()));
    }
    overrides.extend(setting_flags);
    if let Some(store) = &g.store {
        overrides.push(("store".into(), store.clone()));
    }
    let dirs = env::Dirs::from_env();
    let loaded = env::load_settings(&dirs, overrides)?;
    for w in &loaded.warnings {
        printer.warn(w);
    }
    let http = Arc::new(HttpClient::new(HttpConfig {
        connect_timeout: loaded.settings.connect_timeout,
        ssl_cert_file: loaded.settings.ssl_cert_file.clone(),
    }));
    let ctx = Context {
        printer,
        settings: loaded.settings,
        cwd: env::current_dir()?,
        http,
        dirs,
        global: cli.global,
    };
    match command {
        Command::Build(c) => build::run(c, &ctx),
        Command::Eval(c) => eval::run(c, &ctx),
        Command::Flake(c) => flake::run(c, &ctx),
        Command::Registry(c) => registry::run(c, &ctx),
        Command::Profile(c) => profile::run(c, &ctx),
        Command::Completions(c) => completions::run(&c, &ctx),
        Command::Complete(c) => completions::complete(&c, &ctx),
    }
}

/// Prints clap's help, version or usage error; usage errors (and a missing subcommand) exit
/// with 1, as in Nix.
fn clap_exit(e: clap::Error) -> ExitCode {
    let _ = e.print();
    match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            ExitCode::SUCCESS
        }
        _ => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// Every (sub)command's one-line help as listed by its parent, before its deferred
    /// options are built, and as its own help shows it, after.
    fn abouts(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for sub in cmd.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            out.push((name.clone(), about));
            abouts(sub, &name, out);
        }
    }

    #[test]
    fn deferred_commands_list_the_help_they_show() {
        let mut listed = Vec::new();
        abouts(&super::Cli::command(), "rflake", &mut listed);
        let mut built = super::Cli::command();
        built.build();
        let mut shown = Vec::new();
        abouts(&built, "rflake", &mut shown);
        // `build` adds the `help` subcommands; every listed command keeps its help.
        for (name, about) in &listed {
            let after = shown.iter().find(|(n, _)| n == name).map(|(_, a)| a);
            assert_eq!(after, Some(about), "{name}");
            assert!(!about.is_empty(), "{name} has no help");
        }
        assert!(listed.len() >= 17, "{listed:?}");
    }
}
