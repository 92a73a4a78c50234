//! `rflake completions SHELL`: completion scripts (clap_complete), extended so that flake
//! reference arguments complete registry ids and flake-ref schemes.
//!
//! The extension calls the hidden `rflake __complete flakeref PREFIX`, which reads only local
//! files (the user and system registries, a global registry file or the cached download):
//! completing never touches the network.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, ValueEnum};
use clap_complete::Shell;

use super::{Cli, Context};
use crate::registry::Registry;
use crate::registry::layers;

/// Arguments of `completions`.
#[derive(Args, Debug)]
#[command(about = "Print a shell completion script", long_about = None)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for
    #[arg(value_enum)]
    shell: ShellArg,
}

/// Shells with completion scripts.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// Arguments of the hidden `__complete`.
#[derive(Args, Debug)]
#[command(about = "List completion candidates (used by the completion scripts)", long_about = None)]
pub struct CompleteArgs {
    /// What to complete (`flakeref`)
    kind: String,
    /// The word typed so far
    #[arg(allow_hyphen_values = true)]
    prefix: Option<String>,
}

/// Subcommands and options whose arguments are flake references.
const REF_WORDS: &str = "add remove pin resolve archive metadata prefetch";

const BASH_HOOK: &str = r#"
_rflake_with_refs() {
    _rflake "$@"
    local cur="${COMP_WORDS[COMP_CWORD]}"
    case "$cur" in
        --*) COMPREPLY+=( $(compgen -W "__SETTINGS__" -- "$cur") ); return 0 ;;
        -*) return 0 ;;
    esac
    local w
    for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
        if [ "$w" = upgrade ]; then
            local IFS=$'\n'
            COMPREPLY+=( $(compgen -W "$(rflake __complete profile-element -- "$cur" 2>/dev/null)" -- "$cur") )
            return 0
        fi
        case " __WORDS__ " in *" $w "*)
            local IFS=$'\n'
            COMPREPLY+=( $(compgen -W "$(rflake __complete flakeref -- "$cur" 2>/dev/null)" -- "$cur") )
            return 0 ;;
        esac
    done
}
complete -F _rflake_with_refs -o nosort -o bashdefault -o default rflake
"#;

const FISH_HOOK: &str = r#"
complete -c rflake -n '__fish_seen_subcommand_from __WORDS__' -f -a '(rflake __complete flakeref -- (commandline -ct) 2>/dev/null)'
complete -c rflake -n '__fish_seen_subcommand_from upgrade' -f -a '(rflake __complete profile-element -- (commandline -ct) 2>/dev/null)'
"#;

/// Prints the completion script.
pub fn run(args: &CompletionsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let shell = match args.shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Elvish => Shell::Elvish,
        ShellArg::Powershell => Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rflake", &mut script);
    let hook = match shell {
        Shell::Bash => BASH_HOOK,
        Shell::Fish => FISH_HOOK,
        _ => "",
    };
    // Every subcommand's (deferred) options, for the option lists below.
    let mut cli = Cli::command();
    cli.build();
    let reserved = super::clap_long_names(&cli);
    let reserved: Vec<&str> = reserved.iter().map(String::as_str).collect();
    let flags = super::settings_help::flags(&reserved);
    let names: Vec<String> = flags.iter().map(|f| format!("--{}", f.name)).collect();
    if shell == Shell::Zsh {
        let mut value_opts = value_options(&cli);
        value_opts.extend(
            flags
                .iter()
                .filter(|f| f.takes_value)
                .map(|f| format!("--{}", f.name)),
        );
        let text = String::from_utf8_lossy(&script);
        let text = super::completions_zsh::finish(&text, REF_WORDS, &names, &value_opts);
        ctx.printer.out(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let hook = hook
        .replace("__WORDS__", REF_WORDS)
        .replace("__SETTINGS__", &names.join(" "));
    write!(script, "{hook}")?;
    if shell == Shell::Fish {
        for f in &flags {
            let r = if f.takes_value { " -r" } else { "" };
            writeln!(
                script,
                "complete -c rflake -l {}{r} -d '{}'",
                f.name, f.help
            )?;
        }
    }
    ctx.printer.out(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// The long options (with `--`) of `cmd` and its subcommands that take a value.
fn value_options(cmd: &clap::Command) -> Vec<String> {
    let mut out: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    for sub in cmd.get_subcommands() {
        out.extend(value_options(sub));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Flake-ref schemes offered when completing a reference.
const SCHEMES: &[&str] = &[
    "flake:",
    "path:",
    "git+file://",
    "git+https://",
    "git+ssh://",
    "git+http://",
    "github:",
    "gitlab:",
    "sourcehut:",
    "tarball+https://",
    "file+https://",
    "https://",
    "http://",
    "hg+https://",
];

/// Prints completion candidates for a partially typed word: flake references (`flakeref`) or
/// the element names of the default profile (`profile-element`, as Nix 2.35 completes
/// `profile upgrade`), from local files only.
pub fn complete(args: &CompleteArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let prefix = args.prefix.as_deref().unwrap_or("");
    if args.kind == "profile-element" {
        return complete_elements(prefix, ctx);
    }
    if args.kind != "flakeref" {
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = BTreeSet::new();
    for reg in local_registries(ctx) {
        for e in &reg.entries {
            if let Some(id) = e.from.get_str("id") {
                out.insert(id.to_owned());
            }
        }
    }
    out.extend(SCHEMES.iter().map(|s| (*s).to_owned()));
    let mut text = String::new();
    for c in out.iter().filter(|c| c.starts_with(prefix)) {
        text.push_str(c);
        text.push('\n');
    }
    ctx.printer.out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the names of the default profile's elements that start with `prefix`; nothing when
/// the manifest cannot be read.
fn complete_elements(prefix: &str, ctx: &Context) -> anyhow::Result<ExitCode> {
    let profile = super::profile::profile_path(&super::profile::ProfileArg::default(), ctx);
    let (dir, fs) = super::profile::store_fs(ctx);
    let report = crate::report::Silent;
    let Ok(manifest) = crate::profile::read::read_manifest(&profile, &fs, &dir, &report) else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut text = String::new();
    for name in manifest.elements.keys().filter(|n| n.starts_with(prefix)) {
        text.push_str(name);
        text.push('\n');
    }
    ctx.printer.out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The user, system and global registries, from local files only.
fn local_registries(ctx: &Context) -> Vec<Registry> {
    layers::read_offline(&ctx.registry_locations(), &ctx.downloader())
}
