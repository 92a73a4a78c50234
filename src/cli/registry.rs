//! `rflake registry add|list|pin|remove|resolve` (Nix's `src/nix/registry.cc`, spec §6.8).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Context;
use super::args::EvalArgs;
use super::registry_explain as explain;
use crate::flakeref::{self, FlakeRef, ParseOptions};
use crate::registry::{Entry, Registry, edit, layers};
use crate::report::Reporter as _;

/// Long help of `rflake registry`.
pub const ABOUT: &str = "\
Manage the flake registries.

Flake registries let you refer to flakes by symbolic identifiers such as `nixpkgs` instead of \
full URLs such as `github:NixOS/nixpkgs`, on the command line and in `flake.nix` inputs (where \
the resolved URL is recorded in `flake.lock`). A registry can also redirect any flake reference, \
e.g. `github:NixOS/patchelf` to a local fork.

There are several registries, from lowest to highest precedence:

* the global registry, downloaded from the `flake-registry` setting and cached for \
`tarball-ttl` seconds;
* the system registry, `$NIX_CONF_DIR/registry.json` (default `/etc/nix/registry.json`);
* the user registry, `$XDG_CONFIG_HOME/nix/registry.json` (default \
`~/.config/nix/registry.json`);
* overrides given on the command line with `--override-flake`.

The system and user registries are not used to resolve inputs in `flake.nix`.";

/// The `registry` subcommands.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum RegistryCommand {
    /// Add/replace flake in user flake registry
    Add(AddArgs),
    /// List available Nix flakes
    List(ListArgs),
    /// Pin a flake to its current version or to the current version of a flake URL
    Pin(PinArgs),
    /// Remove flake from user flake registry
    Remove(RemoveArgs),
    /// Resolve flake references through the registries
    Resolve(ResolveArgs),
}

/// `--registry FILE`.
#[derive(Args, Debug, Clone)]
pub struct RegistryFileArg {
    /// The registry file to edit instead of the user registry
    #[arg(long = "registry", value_name = "REGISTRY")]
    pub registry: Option<PathBuf>,
}

/// Arguments of `registry add`.
#[derive(Args, Debug)]
#[command(
    about = "Add/replace flake in user flake registry",
    long_about = "Add/replace flake in user flake registry.\n\n\
        Adds an entry mapping FROM-URL to TO-URL to the user registry (or to the file given \
        with `--registry`), replacing any entry for the same FROM-URL. Both references must be \
        absolute: relative paths are rejected.\n\nExample: `rflake registry add nixpkgs \
        github:NixOS/nixpkgs/nixos-24.05`"
)]
pub struct AddArgs {
    /// The flake reference to redirect (e.g. `nixpkgs`)
    #[arg(value_name = "FROM-URL")]
    from: String,
    /// The flake reference it is redirected to
    #[arg(value_name = "TO-URL")]
    to: String,
    #[command(flatten)]
    file: RegistryFileArg,
    #[command(flatten)]
    eval: EvalArgs,
}

/// Arguments of `registry list`.
#[derive(Args, Debug)]
#[command(
    about = "List available Nix flakes",
    long_about = "List available Nix flakes.\n\n\
        Prints every entry of every registry, one per line, as `TYPE FROM TO`, where TYPE is \
        `flags` (`--override-flake`), `user`, `system` or `global`, in order of precedence."
)]
pub struct ListArgs {
    /// Print the entries as one JSON document: each entry's layer, `from`, `to` and `exact`
    /// (rflake addition)
    #[arg(long)]
    json: bool,
    /// List only the entries of this registry file (rflake addition)
    #[arg(long = "registry", value_name = "REGISTRY")]
    registry: Option<PathBuf>,
}

/// Arguments of `registry pin`.
#[derive(Args, Debug)]
#[command(
    about = "Pin a flake to its current version or to the current version of a flake URL",
    long_about = "Pin a flake to its current version or to the current version of a \
        flake URL.\n\nResolves URL (or LOCKED-URL) through the registries, fetches it, and writes \
        an entry mapping URL to the locked reference into the user registry (or `--registry`)."
)]
pub struct PinArgs {
    /// The flake reference to pin
    #[arg(value_name = "URL")]
    url: String,
    /// The flake reference to pin it to (default: URL itself)
    #[arg(value_name = "LOCKED-URL")]
    locked: Option<String>,
    /// Show the entry the pin replaces and the one it would write (with dates), warning when
    /// the new pin is older; write nothing (rflake addition)
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    file: RegistryFileArg,
    #[command(flatten)]
    eval: EvalArgs,
}

/// Arguments of `registry remove`.
#[derive(Args, Debug)]
#[command(
    about = "Remove flake from user flake registry",
    long_about = "Remove flake from user flake registry.\n\n\
        Removes every entry whose FROM is exactly URL from the user registry (or the file given \
        with `--registry`). The file is written even if nothing was removed."
)]
pub struct RemoveArgs {
    /// The flake reference whose entries are removed
    #[arg(value_name = "URL")]
    url: String,
    #[command(flatten)]
    file: RegistryFileArg,
}

/// Arguments of `registry resolve`.
#[derive(Args, Debug)]
#[command(
    about = "Resolve flake references through the registries",
    long_about = "Resolve flake references through the registries.\n\n\
        Prints, for each reference, what it resolves to through the flag, user, system and \
        global registries. Nothing is fetched."
)]
pub struct ResolveArgs {
    /// The flake references to resolve
    #[arg(value_name = "URL", required = true)]
    urls: Vec<String>,
    /// Show the chain of registry entries that resolved each reference: layer and file, the
    /// entry matched, and the ref/rev/dir carried over (rflake addition)
    #[arg(long)]
    explain: bool,
    /// With --explain: print the chains as one JSON array (rflake addition)
    #[arg(long, requires = "explain")]
    json: bool,
    #[command(flatten)]
    eval: EvalArgs,
}

/// Runs a `registry` subcommand.
pub fn run(cmd: RegistryCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match cmd {
        RegistryCommand::Add(a) => add(&a, ctx),
        RegistryCommand::List(a) => list(&a, ctx),
        RegistryCommand::Pin(a) => pin(&a, ctx),
        RegistryCommand::Remove(a) => remove(&a, ctx),
        RegistryCommand::Resolve(a) => resolve_refs(&a, ctx),
    }
}

/// Parses a registry command argument: no base directory, so relative paths are rejected.
fn parse_arg(s: &str, ctx: &Context) -> anyhow::Result<FlakeRef> {
    Ok(flakeref::parse(s, &ParseOptions::default(), &ctx.printer)?)
}

/// The file to edit: `--registry FILE` (relative to the working directory) or the user registry.
fn target_file(arg: &RegistryFileArg, ctx: &Context) -> PathBuf {
    match &arg.registry {
        Some(p) => ctx.cwd.join(p),
        None => ctx.dirs.user_registry(),
    }
}

fn add(a: &AddArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let from = parse_arg(&a.from, ctx)?;
    let to = parse_arg(&a.to, ctx)?;
    let entry = Entry {
        from: from.input,
        to: to.input,
        dir: to.subdir,
        exact: false,
    };
    edit::add(&target_file(&a.file, ctx), entry, &ctx.printer)?;
    Ok(ExitCode::SUCCESS)
}

/// `registry pin URL [LOCKED-URL]`: see [`crate::flake::pin`].
fn pin(a: &PinArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let url = parse_arg(&a.url, ctx)?;
    let locked = match &a.locked {
        Some(l) => parse_arg(l, ctx)?,
        None => url.clone(),
    };
    let flags = ctx.flag_registry(&a.eval.override_flake)?;
    let session = ctx.session(ctx.settings.use_registries);
    if a.dry_run {
        let pin = crate::flake::pin::dry_run(
            &session,
            &target_file(&a.file, ctx),
            url,
            &locked,
            flags,
            ctx.settings.trust_tarballs_from_git_forges,
        )?;
        return show_pin(&pin, ctx);
    }
    crate::flake::pin::run(
        &session,
        &target_file(&a.file, ctx),
        url,
        &locked,
        flags,
        ctx.settings.trust_tarballs_from_git_forges,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Prints what `registry pin --dry-run` would write: `FROM`, then `- OLD (date)` and
/// `+ NEW (date)` lines; warns about a downgrade.
fn show_pin(pin: &crate::flake::pin::Pin, ctx: &Context) -> anyhow::Result<ExitCode> {
    let shown = |e: &Entry| -> anyhow::Result<String> {
        let to = FlakeRef {
            input: e.to.without_final(),
            subdir: e.dir.clone(),
        };
        let date =
            e.to.get_int("lastModified")
                .map(|t| format!(" ({})", crate::util::time::date_time(t)))
                .unwrap_or_default();
        Ok(format!("{}{date}", to.to_url_string()?))
    };
    let mut text = format!(
        "{}
",
        pin.new.from.to_url_string()?
    );
    match &pin.old {
        Some(old) => text.push_str(&format!(
            "- {}
",
            shown(old)?
        )),
        None => text.push_str(
            "- (no entry)
",
        ),
    }
    text.push_str(&format!(
        "+ {}
",
        shown(&pin.new)?
    ));
    ctx.printer.out(&text)?;
    if pin.is_downgrade() {
        ctx.printer.warn(&format!(
            "the new pin of '{}' is older than the entry it replaces (a downgrade)",
            pin.new.from.to_url_string()?
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(a: &RemoveArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let url = parse_arg(&a.url, ctx)?;
    edit::remove(&target_file(&a.file, ctx), &url.input, &ctx.printer)?;
    Ok(ExitCode::SUCCESS)
}

/// `registry list [--registry FILE] [--json]`: every layer's entries, or one file's.
fn list(a: &ListArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let entries: Vec<(&str, Entry)> = match &a.registry {
        Some(file) => layers::read_lenient(&ctx.cwd.join(file), &ctx.printer)?
            .entries
            .into_iter()
            .map(|e| (FILE_LABEL, e))
            .collect(),
        None => {
            let session = ctx.session(ctx.settings.use_registries);
            let listed = session.registries(Registry::default()).list()?;
            listed.into_iter().map(|(l, e)| (l.label(), e)).collect()
        }
    };
    if a.json {
        let listing = entries
            .iter()
            .map(|(label, e)| e.listing_json(label.trim_end()))
            .collect();
        let doc = serde_json::json!({ "entries": serde_json::Value::Array(listing) });
        ctx.printer.out_line(&serde_json::to_string(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (label, entry) in entries {
        let to = FlakeRef {
            input: entry.to,
            subdir: entry.dir,
        };
        let line = format!(
            "{label} {} {}",
            entry.from.to_url_string()?,
            to.to_url_string()?
        );
        ctx.printer.out_line(&line)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The layer label of the entries of a `--registry FILE` listing.
const FILE_LABEL: &str = "file  ";

fn resolve_refs(a: &ResolveArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let flags = ctx.flag_registry(&a.eval.override_flake)?;
    let session = ctx.session(ctx.settings.use_registries);
    let mut regs = session.registries(flags);
    if a.explain {
        return explain_refs(a, &mut regs, ctx);
    }
    for url in &a.urls {
        let r = parse_arg(url, ctx)?;
        let resolved = regs.resolve(&r)?;
        ctx.printer.out_line(&resolved.to_url_string()?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `registry resolve --explain [--json]`: each reference, the rewrites that resolved it, the
/// final reference.
fn explain_refs(
    a: &ResolveArgs,
    regs: &mut crate::registry::layers::Registries<'_>,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let mut docs = Vec::new();
    for url in &a.urls {
        let r = parse_arg(url, ctx)?;
        let trace = regs.explain(&r)?;
        if a.json {
            docs.push(explain::to_json(&r, &trace)?);
        } else {
            ctx.printer.out(&explain::to_text(&r, &trace)?)?;
        }
    }
    if a.json {
        let doc = serde_json::Value::Array(docs);
        ctx.printer.out_line(&serde_json::to_string(&doc)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
