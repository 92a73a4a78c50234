//! From the "Common flake-related options" to a locking request: the lock flags, the flag
//! registry (`--override-flake`) and the `--inputs-from` flakes that `flake archive` and
//! `flake metadata` lock with (the locking itself is `flake::session`'s).

use std::collections::BTreeSet;

use super::Context;
use super::args::{EvalArgs, FlakeArgs, pairs};
use crate::flake::lock::Flags;
use crate::flake::session::{LockRequest, Session};
use crate::flake::{InputPath, parse_path};
use crate::flakeref::{FlakeRef, ParseOptions};
use crate::report::Reporter as _;
use crate::util::fs::RealFs;

/// Builds the lock flags, warning about deprecated flags as Nix does.
pub fn flags(ctx: &Context, args: &FlakeArgs) -> anyhow::Result<Flags> {
    let s = &ctx.settings;
    if args.recreate_lock_file {
        ctx.printer.warn(
            "'--recreate-lock-file' is deprecated and will be removed in a future version; use 'nix flake update' instead.",
        );
    }
    let mut updates = BTreeSet::new();
    for u in &args.update_input {
        ctx.printer.warn(
            "'--update-input' is a deprecated alias for 'flake update' and will be removed in a future version.",
        );
        if u.is_empty() {
            anyhow::bail!(
                "--update-input was passed a zero-length input path, which would refer to the flake itself, not an input"
            );
        }
        updates.insert(parse_path(u).map_err(anyhow::Error::msg)?);
    }
    let mut overrides: Vec<(InputPath, FlakeRef)> = Vec::new();
    let opts = ParseOptions {
        base: Some((&ctx.cwd, &RealFs)),
        allow_missing: true,
        ..ParseOptions::default()
    };
    for (path, r) in pairs(&args.override_input) {
        if path.is_empty() {
            anyhow::bail!(
                "--override-input was passed a zero-length input path, which would refer to the flake itself, not an input"
            );
        }
        let path = parse_path(path).map_err(anyhow::Error::msg)?;
        let r = crate::flakeref::parse(r, &opts, &ctx.printer)?;
        overrides.retain(|(p, _)| *p != path);
        overrides.push((path, r));
    }
    Ok(Flags {
        recreate_lock_file: args.recreate_lock_file,
        update_lock_file: !args.no_update_lock_file,
        write_lock_file: !args.no_write_lock_file && overrides.is_empty(),
        commit_lock_file: args.commit_lock_file,
        commit_lock_file_summary: s.commit_lock_file_summary.clone(),
        reference_lock_file: args.reference_lock_file.as_ref().map(|p| ctx.cwd.join(p)),
        output_lock_file: args.output_lock_file.as_ref().map(|p| ctx.cwd.join(p)),
        input_overrides: overrides,
        input_updates: updates,
        fail_on_unlocked: false,
        allow_dirty: s.allow_dirty,
        allow_dirty_locks: s.allow_dirty_locks,
        warn_dirty: s.warn_dirty,
        trust_tarballs_from_git_forges: s.trust_tarballs_from_git_forges,
        frozen: false,
    })
}

/// Builds the locking request of a flake command: the flake, the lock flags, the
/// `--override-flake` entries and the `--inputs-from` flakes; and its session, with
/// `--no-registries` applied (warning that it is deprecated, as Nix does).
pub fn request<'c>(
    ctx: &'c Context,
    flake_url: &str,
    eval: &EvalArgs,
    args: &FlakeArgs,
) -> anyhow::Result<(Session<'c>, LockRequest)> {
    let top = crate::flakeref::parse(flake_url, &ctx.cwd_parse_options(), &ctx.printer)?;
    let flags = flags(ctx, args)?;
    if args.no_registries {
        ctx.printer
            .warn("'--no-registries' is deprecated; use '--no-use-registries'");
    }
    let session = ctx.session(ctx.settings.use_registries && !args.no_registries);
    let flag_registry = ctx.flag_registry(&eval.override_flake)?;
    let inputs_from = args
        .inputs_from
        .iter()
        .map(|from| crate::flakeref::parse(from, &ctx.cwd_parse_options(), &ctx.printer))
        .collect::<Result<_, _>>()?;
    Ok((
        session,
        LockRequest {
            top,
            flags,
            flag_registry,
            inputs_from,
        },
    ))
}
