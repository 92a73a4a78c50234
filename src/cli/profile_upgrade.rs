//! `profile upgrade` (Nix's `CmdProfileUpgrade`): the element matchers and the checks that
//! need no evaluation, with Nix's messages (spec U1, U8). Upgrading an element from its flake
//! needs the evaluator and the builder and is not implemented yet.

use std::process::ExitCode;

use super::profile::{UpgradeArgs, profile_path, store_fs};
use super::{Context, not_implemented};
use crate::profile::{matchers, read};
use crate::report::Reporter as _;

/// Runs `profile upgrade`.
pub fn run(a: &UpgradeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let profile = profile_path(&a.profile, ctx);
    let (dir, fs) = store_fs(ctx);
    // Indices are refused while the arguments are read, before the manifest is.
    let ms = match matchers::parse(&a.elements, &a.regex, a.all, &dir) {
        Ok(ms) => ms,
        Err(e) => return usage_or_error(e, ctx),
    };
    let manifest = read::read_manifest(&profile, &fs, &dir, &ctx.printer)?;
    let selected = match matchers::select(&manifest, &ms) {
        Ok(s) => s,
        Err(e) => return usage_or_error(e, ctx),
    };
    for w in &selected.warnings {
        ctx.printer.warn(w);
    }
    if selected.names.is_empty() {
        ctx.printer
            .warn("No packages to upgrade. Use 'nix profile list' to see the current profile.");
        return Ok(ExitCode::SUCCESS);
    }
    let trust = ctx.settings.trust_tarballs_from_git_forges;
    for name in &selected.names {
        let Some(element) = manifest.elements.get(name) else {
            continue;
        };
        let Some(source) = &element.source else {
            ctx.printer.warn(&format!(
                "Found package '{}', but it was not added from a flake, so it can't be checked for upgrades!",
                element.identifier()
            ));
            continue;
        };
        if source.original().input.is_locked(trust) {
            ctx.printer.warn(&format!(
                "Found package '{}', but it was added from a locked flake reference so it can't be upgraded!",
                element.identifier()
            ));
            continue;
        }
        return not_implemented("profile upgrade of an element added from a flake");
    }
    ctx.printer
        .warn("Found some packages but none of them could be upgraded.");
    Ok(ExitCode::SUCCESS)
}

/// Prints a matcher error; usage errors get Nix's `Try '… --help'` line.
fn usage_or_error(e: matchers::Error, ctx: &Context) -> anyhow::Result<ExitCode> {
    if !e.is_usage() {
        return Err(e.into());
    }
    let msg = format!("error: {e}");
    ctx.printer.error(&msg, &e.to_string(), None);
    ctx.printer
        .err_line("Try 'rflake --help' for more information.");
    Ok(ExitCode::FAILURE)
}
