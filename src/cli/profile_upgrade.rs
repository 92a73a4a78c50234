//! `profile upgrade` (Nix's `CmdProfileUpgrade`, spec U1–U8): the element matchers and their
//! checks, then for each flake element its flake re-resolved and locked (with `tarball-ttl =
//! 0`), exactly its attribute path evaluated ([`super::profile_upgrade_eval`]), the changed
//! elements built, and a new generation made, all under the profile lock. Any failure leaves
//! the profile as it was; `--dry-run` stops after the `upgrading …` lines.

use std::collections::BTreeSet;
use std::process::ExitCode;

use super::profile::{UpgradeArgs, profile_path, store_fs};
use super::profile_upgrade_eval::{Derived, Evaluator};
use super::{Context, Settings, not_implemented};
use crate::build::goal::{self, Wanted};
use crate::flakeref::FlakeRef;
use crate::profile::generations::{self, Roots};
use crate::profile::{matchers, object, read};
use crate::report::Reporter as _;
use crate::store::Store as _;

/// An element to upgrade: its name, new locked reference and derivation outputs.
struct Change {
    name: String,
    locked: FlakeRef,
    derived: Derived,
}

/// Runs `profile upgrade`.
pub fn run(a: &UpgradeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if a.json {
        return not_implemented("profile upgrade --json");
    }
    if a.skip_failed {
        return not_implemented("profile upgrade --skip-failed");
    }
    // Since Nix 2.35 an upgrade always re-checks branches, tarballs and registries.
    let ctx = &Context {
        printer: ctx.printer.clone(),
        settings: Settings {
            tarball_ttl: 0,
            ..ctx.settings.clone()
        },
        cwd: ctx.cwd.clone(),
        dirs: ctx.dirs.clone(),
        global: ctx.global.clone(),
        http: ctx.http.clone(),
    };
    let profile = profile_path(&a.profile, ctx);
    let (dir, fs) = store_fs(ctx);
    // Indices are refused while the arguments are read, before the manifest is.
    let ms = match matchers::parse(&a.elements, &a.regex, a.all, &dir) {
        Ok(ms) => ms,
        Err(e) => return usage_or_error(e, ctx),
    };
    // The lock is held from reading the manifest to the switch, so that no generation
    // another rflake made meanwhile is lost. A dry run changes nothing and takes none; nor is
    // it taken where the profile's directory is missing (the profile is empty then).
    let dir_exists = profile.parent().is_some_and(std::path::Path::is_dir);
    let lock = match !a.dry_run && dir_exists {
        true => Some(generations::lock(&profile)?),
        false => None,
    };
    let mut manifest = read::read_manifest(&profile, &fs, &dir, &ctx.printer)?;
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
    let mut evaluator: Option<Evaluator> = None;
    let mut candidates = 0usize;
    let mut changes = Vec::new();
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
        candidates += 1;
        if !a.eval.arg.is_empty()
            || !a.eval.argstr.is_empty()
            || !a.eval.arg_from_file.is_empty()
            || !a.eval.arg_from_stdin.is_empty()
        {
            anyhow::bail!("'--arg' and '--argstr' are incompatible with flakes");
        }
        let ev = match &mut evaluator {
            Some(ev) => ev,
            None => evaluator.insert(Evaluator::new(ctx, a)?),
        };
        let (locked, derived) = match ev.element(ctx, a, source)? {
            Ok(found) => found,
            Err(e) => {
                ctx.printer.error(&ev.render(&e), &e.msg, None);
                return Ok(ExitCode::FAILURE);
            }
        };
        if locked.input.is_locked(trust) && &locked == source.locked() {
            continue;
        }
        ctx.printer.notice(&format!(
            "upgrading '{}' from flake '{}' to '{}'",
            source.attr_path,
            source.locked_url(),
            locked.to_url_string()?
        ));
        changes.push(Change {
            name: name.clone(),
            locked,
            derived,
        });
    }
    // The evaluator (and the store it opened) is done with.
    drop(evaluator);
    if candidates == 0 {
        ctx.printer
            .warn("Found some packages but none of them could be upgraded.");
        return Ok(ExitCode::SUCCESS);
    }
    if a.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let uri = ctx.store_uri(None);
    let cfg = crate::store::open::OpenConfig::new(&ctx.store_settings(), ctx.http.clone())?;
    let store = crate::store::open::open_local(&uri, &cfg)?;
    let sdir = store.store_dir().clone();
    let mut wanted = Vec::new();
    for c in &changes {
        wanted.push(Wanted {
            drv: sdir.parse(&c.derived.drv)?,
            outputs: c.derived.outputs.clone(),
        });
    }
    // Everything is built before anything is switched.
    let subs = super::build_subst::open(ctx, &store);
    let plan = super::build_subst::plan(&store, &wanted, &subs)?;
    let plan = super::build_subst::fetch(&store, &wanted, &subs, plan, &BTreeSet::new())?;
    let settings = super::build::build_settings(ctx, None)?;
    super::build::realise(ctx, &store, &plan, &wanted, &settings)?;
    for (c, w) in changes.into_iter().zip(&wanted) {
        let node = &plan.nodes[&w.drv];
        let names: Vec<&String> = match &w.outputs {
            goal::Outputs::Names(n) => n.iter().collect(),
            goal::Outputs::All => node.drv.outputs.keys().collect(),
        };
        let mut paths = BTreeSet::new();
        for o in names {
            let path = node
                .drv
                .outputs
                .get(o)
                .and_then(|out| out.path())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "derivation '{}' does not have an output named '{o}'",
                        c.derived.drv
                    )
                })?;
            paths.insert(path.clone());
        }
        let Some(element) = manifest.elements.get_mut(&c.name) else {
            continue;
        };
        if let Some(source) = &mut element.source {
            source.set_locked(c.locked)?;
        }
        element.store_paths = paths;
    }
    let out = object::build(&manifest, &store, &fs, &ctx.printer)?;
    match &lock {
        Some(lock) => generations::update_held(&profile, &out, &Roots::of(&store), lock)?,
        None => generations::update(&profile, &out, &Roots::of(&store))?,
    };
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
