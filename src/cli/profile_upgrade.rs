//! `profile upgrade` (Nix's `CmdProfileUpgrade`, spec U1–U8): the element matchers and their
//! checks, then for each flake element its flake re-resolved and locked (with `tarball-ttl =
//! 0`, the flake's `nixConfig` applied), exactly its attribute path evaluated
//! ([`super::profile_upgrade_eval`]), the changed elements built, and a new generation made,
//! all under the profile lock. Any failure leaves the profile as it was, unless
//! `--skip-failed`, which leaves only the failed elements as they were; `--dry-run` stops
//! after the `upgrading …` lines. `--json` and `-v` add the report of
//! [`super::profile_upgrade_report`].

use std::path::Path;
use std::process::ExitCode;

use super::profile::{UpgradeArgs, profile_path, store_fs};
use super::profile_upgrade_eval::{Derived, Evaluator};
use super::profile_upgrade_report::{self as report, Report, Status};
use super::profile_upgrade_store::Target;
use super::{Context, Settings};
use crate::build::goal::Wanted;
use crate::flakeref::FlakeRef;
use crate::profile::generations;
use crate::profile::manifest::{self, Element, Manifest};
use crate::profile::store_fs::StoreFs;
use crate::profile::{drv_name, matchers, object, read};
use crate::report::{Reporter as _, Verbosity};
use crate::store::StoreDir;

/// An element to upgrade: its name, new locked reference and derivation outputs.
struct Change {
    name: String,
    locked: FlakeRef,
    derived: Derived,
}

/// Runs `profile upgrade`.
pub fn run(a: &UpgradeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    // Since Nix 2.35 an upgrade always re-checks branches, tarballs and registries.
    let ctx = &with_settings(
        ctx,
        Settings {
            tarball_ttl: 0,
            ..ctx.settings.clone()
        },
    );
    let profile = profile_path(&a.profile, ctx);
    if !a.dry_run {
        super::profile_upgrade_store::check_supported(&ctx.store_uri(None))?;
    }
    let (dir, fs) = store_fs(ctx);
    // Indices are refused while the arguments are read, before the manifest is.
    let ms = match matchers::parse(&a.elements, &a.regex, a.all, &dir) {
        Ok(ms) => ms,
        Err(e) => return usage_or_error(e, ctx),
    };
    // The lock is held from reading the manifest to the switch, so that no generation
    // another rflake made meanwhile is lost. A dry run changes nothing and takes none; nor is
    // it taken where the profile's directory is missing (the profile is empty then).
    let dir_exists = profile.parent().is_some_and(Path::is_dir);
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
    let mut rep = Report {
        dry_run: a.dry_run,
        profile: profile.display().to_string(),
        success: true,
        ..Report::default()
    };
    rep.generation.before = current_generation(&profile);
    rep.generation.after = rep.generation.before.filter(|_| !a.dry_run);
    let finish = |rep: &mut Report, code: ExitCode| -> anyhow::Result<ExitCode> {
        rep.success = code == ExitCode::SUCCESS;
        rep.emit(&ctx.printer, a.json)?;
        Ok(code)
    };
    if selected.names.is_empty() {
        ctx.printer
            .warn("No packages to upgrade. Use 'nix profile list' to see the current profile.");
        return finish(&mut rep, ExitCode::SUCCESS);
    }
    let trust = ctx.settings.trust_tarballs_from_git_forges;
    let mut evaluator: Option<Evaluator> = None;
    let mut candidates = 0usize;
    let mut failure: Option<ExitCode> = None;
    let mut changes = Vec::new();
    for name in &selected.names {
        let Some(element) = manifest.elements.get(name) else {
            continue;
        };
        let mut entry = report_element(name, element, &dir);
        let Some(source) = &element.source else {
            ctx.printer.warn(&format!(
                "Found package '{}', but it was not added from a flake, so it can't be checked for upgrades!",
                element.identifier()
            ));
            entry.status = Status::NotFromFlake;
            rep.elements.push(entry);
            continue;
        };
        if source.original().input.is_locked(trust) {
            ctx.printer.warn(&format!(
                "Found package '{}', but it was added from a locked flake reference so it can't be upgraded!",
                element.identifier()
            ));
            entry.status = Status::Locked;
            rep.elements.push(entry);
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
            None => {
                let sources = selected
                    .names
                    .iter()
                    .filter_map(|n| manifest.elements.get(n)?.source.as_ref())
                    .filter(|s| !s.original().input.is_locked(trust));
                evaluator.insert(Evaluator::new(ctx, a, sources)?)
            }
        };
        // A locking or evaluation error is printed as Nix prints it; without `--skip-failed`
        // it ends the upgrade, with the profile as it was.
        let found = match ev.element(ctx, a, source) {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(e)) => {
                ctx.printer.error(&ev.render(&e), &e.msg, None);
                Err((e.msg.clone(), ExitCode::FAILURE))
            }
            Err(e) => Err((format!("{e:#}"), super::error::report(&ctx.printer, &e))),
        };
        let (locked, derived) = match found {
            Ok(found) => found,
            Err((msg, code)) => {
                entry.status = Status::Failed;
                entry.error = Some(msg);
                rep.elements.push(entry);
                if !a.skip_failed {
                    return finish(&mut rep, code);
                }
                failure.get_or_insert(code);
                continue;
            }
        };
        entry.drv_path = Some(derived.drv.clone());
        if locked.input.is_locked(trust) && &locked == source.locked() {
            rep.elements.push(entry);
            continue;
        }
        let new_url = locked.to_url_string()?;
        ctx.printer.notice(&format!(
            "upgrading '{}' from flake '{}' to '{new_url}'",
            source.attr_path,
            source.locked_url(),
        ));
        entry.status = Status::Upgrade;
        entry.new_url = Some(new_url);
        rep.elements.push(entry);
        changes.push(Change {
            name: name.clone(),
            locked,
            derived,
        });
    }
    // The evaluator (and the store it opened) is done with; the settings the flakes' nixConfig
    // set apply from here on, as they do in Nix for the rest of the command (spec U4).
    let taken = evaluator
        .map(|mut ev| std::mem::take(&mut ev.taken))
        .unwrap_or_default();
    let ctx = &with_settings(ctx, flake_settings(&ctx.settings, &taken, &ctx.printer));
    if candidates == 0 {
        ctx.printer
            .warn("Found some packages but none of them could be upgraded.");
        return finish(&mut rep, ExitCode::SUCCESS);
    }
    let failed_code = failure.unwrap_or(ExitCode::FAILURE);
    // Nothing changed and the profile is already what this upgrade would make: Nix rebuilds
    // the same object and makes no generation; so does this, without rebuilding it.
    if changes.is_empty() && failure.is_none() && unchanged(&profile, &manifest, &fs, &dir) {
        return finish(&mut rep, ExitCode::SUCCESS);
    }
    let planning = !a.dry_run || a.json || ctx.printer.verbosity() >= Verbosity::Talkative as u8;
    if !planning {
        return finish(&mut rep, failure.unwrap_or(ExitCode::SUCCESS));
    }
    let mut target = Target::open(ctx)?;
    let sdir = target.store_dir().clone();
    let mut wanted = Vec::new();
    for c in &changes {
        wanted.push(Wanted {
            drv: sdir.parse(&c.derived.drv)?,
            outputs: c.derived.outputs.clone(),
        });
    }
    let planned = target.plan(ctx, &wanted)?;
    let mut new_paths = planned.outputs;
    for (c, paths) in changes.iter().zip(&new_paths) {
        if let Some(e) = rep.element_mut(&c.name) {
            e.new_store_paths = paths.iter().map(|p| sdir.print(p)).collect();
            e.new_version = Some(drv_name::show_versions(
                paths.iter().map(|p| drv_name::split(p.name()).1),
            ));
        }
    }
    rep.built = planned.built.iter().map(|p| sdir.print(p)).collect();
    if a.dry_run {
        return finish(&mut rep, failure.unwrap_or(ExitCode::SUCCESS));
    }
    // Everything is substituted and built before anything is switched.
    if let Err(e) = target.realise(ctx, &wanted, a.skip_failed) {
        let code = super::error::report(&ctx.printer, &e);
        let msg = format!("{e:#}");
        // The elements whose outputs are not all valid now failed to build.
        let mut kept = Vec::new();
        for (c, paths) in changes.into_iter().zip(new_paths) {
            match paths.iter().all(|p| target.is_valid(p)) {
                true => kept.push((c, paths)),
                false => {
                    if let Some(entry) = rep.element_mut(&c.name) {
                        entry.status = Status::Failed;
                        entry.error = Some(msg.clone());
                    }
                }
            }
        }
        if !a.skip_failed || kept.is_empty() {
            return finish(&mut rep, code);
        }
        failure.get_or_insert(code);
        (changes, new_paths) = kept.into_iter().unzip();
    }
    for (c, paths) in changes.into_iter().zip(new_paths) {
        let Some(element) = manifest.elements.get_mut(&c.name) else {
            continue;
        };
        if let Some(source) = &mut element.source {
            source.set_locked(c.locked)?;
        }
        element.store_paths = paths;
    }
    let out = object::build(&manifest, target.store(), &fs, &ctx.printer)?;
    target.with_roots(|roots| match &lock {
        Some(lock) => generations::update_held(&profile, &out, roots, lock),
        None => generations::update(&profile, &out, roots),
    })?;
    rep.generation.after = current_generation(&profile);
    let code = match failure {
        Some(_) => failed_code,
        None => ExitCode::SUCCESS,
    };
    finish(&mut rep, code)
}

/// `ctx` with other settings.
fn with_settings(ctx: &Context, settings: Settings) -> Context {
    Context {
        printer: ctx.printer.clone(),
        settings,
        cwd: ctx.cwd.clone(),
        dirs: ctx.dirs.clone(),
        global: ctx.global.clone(),
        http: ctx.http.clone(),
    }
}

/// `settings` with the `nixConfig` settings the flakes' configuration was allowed to set
/// (Nix's `globalConfig.set`); a value that does not parse is reported and ignored.
fn flake_settings(
    settings: &Settings,
    taken: &[(String, String)],
    printer: &super::output::Printer,
) -> Settings {
    let mut settings = settings.clone();
    for (name, value) in taken {
        match settings.set_from_flake(name, value) {
            Ok(warnings) => warnings.iter().for_each(|w| printer.warn(w)),
            Err(e) => printer.warn(&format!("ignoring flake setting '{name}': {e}")),
        }
    }
    settings
}

/// The report entry of an element before anything is done to it.
fn report_element(name: &str, element: &Element, dir: &StoreDir) -> report::Element {
    let source = element.source.as_ref();
    report::Element {
        name: name.to_owned(),
        status: Status::Unchanged,
        attr_path: source.map(|s| s.attr_path.clone()),
        original_url: source.map(|s| s.original_url().to_owned()),
        old_url: source.map(|s| s.locked_url().to_owned()),
        new_url: None,
        old_version: element.versions(),
        new_version: None,
        old_store_paths: element.store_paths.iter().map(|p| dir.print(p)).collect(),
        new_store_paths: Vec::new(),
        drv_path: None,
        error: None,
    }
}

/// Whether rebuilding the profile from `manifest` would give the object it points at: that
/// object's `manifest.json` is `manifest` as current Nix writes it (so its tree, made from
/// the same elements, is the same), and it is the last generation (Nix compares the new
/// object with the last generation, not the current one).
fn unchanged(profile: &Path, manifest: &Manifest, fs: &StoreFs, dir: &StoreDir) -> bool {
    let Ok((gens, Some(current))) = generations::find(profile) else {
        return false;
    };
    if gens.last().map(|g| g.number) != Some(current) {
        return false;
    }
    let Ok(path) = fs.real(&profile.join("manifest.json")) else {
        return false;
    };
    std::fs::read(path).is_ok_and(|bytes| bytes == manifest::to_json(manifest, dir).as_bytes())
}

/// The number of the generation `profile` points at, if any.
fn current_generation(profile: &Path) -> Option<u64> {
    generations::find(profile).ok().and_then(|(_, n)| n)
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
