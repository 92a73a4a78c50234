//! From the "Common flake-related options" to a locking session: the lock flags, the flag
//! registry (`--override-flake`, `--inputs-from`), the store, the fetcher cache and the
//! [`Loader`] that `flake archive` and `flake metadata` lock with.

use std::collections::BTreeSet;

use super::Context;
use super::args::{EvalArgs, FlakeArgs, pairs};
use crate::flake::load::Loader;
use crate::flake::lock::{self, Flags};
use crate::flake::lockfile::Edge;
use crate::flake::{InputPath, parse_path};
use crate::flakeref::{Attr, Attrs, FlakeRef, Input, ParseOptions};
use crate::registry::Entry;
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
    })
}

/// Runs `f` with a loader for this command's settings and flags: the local store, the
/// fetcher cache and the registries, with `--override-flake` and `--inputs-from` entries in
/// the flag layer.
pub fn with_loader<T>(
    ctx: &Context,
    eval: &EvalArgs,
    args: &FlakeArgs,
    f: impl FnOnce(&Loader<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if args.no_registries {
        ctx.printer
            .warn("'--no-registries' is deprecated; use '--no-use-registries'");
    }
    let use_registries = ctx.settings.use_registries && !args.no_registries;
    let store = ctx.local_store()?;
    let cache = crate::fetch::cache::Cache::open(&ctx.dirs.cache_home)?;
    let env = ctx.fetch_env(&store, &cache);
    let downloader = ctx.downloader();
    let jobs = usize::try_from(ctx.settings.http_connections)
        .unwrap_or(usize::MAX)
        .clamp(1, 64);
    let mut flag_reg = ctx.flag_registry(&eval.override_flake)?;
    for from in &args.inputs_from {
        let entries = {
            let mut regs = crate::registry::layers::Registries::new(
                ctx.registry_locations(),
                flag_reg.clone(),
                &downloader,
                &ctx.printer,
            );
            let loader = Loader::new(&env, &mut regs, use_registries, jobs);
            let r = crate::flakeref::parse(from, &ctx.cwd_parse_options(), &ctx.printer)?;
            let flags = Flags {
                write_lock_file: false,
                ..Flags::default()
            };
            let locked = lock::lock_flake(&loader, &r, &flags)?;
            inputs_from_entries(&locked.lock_file)?
        };
        flag_reg.entries.extend(entries);
    }
    let mut regs = crate::registry::layers::Registries::new(
        ctx.registry_locations(),
        flag_reg,
        &downloader,
        &ctx.printer,
    );
    let loader = Loader::new(&env, &mut regs, use_registries, jobs);
    f(&loader)
}

/// The flag-registry entries `--inputs-from` adds: each top-level input of the lock file
/// (after following `follows`) as `indirect:<name>` → its locked reference.
fn inputs_from_entries(file: &crate::flake::lockfile::LockFile) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (name, edge) in &file.nodes[file.root].inputs {
        let id = match edge {
            Edge::Node(n) => Some(*n),
            Edge::Follows(p) => file.resolve(p)?,
        };
        let Some(locked) = id.and_then(|n| file.nodes[n].locked.as_ref()) else {
            continue;
        };
        let mut from = Attrs::new();
        from.insert("type".into(), Attr::Str("indirect".into()));
        from.insert("id".into(), Attr::Str(name.clone()));
        out.push(Entry {
            from: Input::from_attrs(from, &crate::report::Silent)?,
            to: locked.locked.input.clone(),
            dir: locked.locked.subdir.clone(),
            exact: false,
        });
    }
    Ok(out)
}
