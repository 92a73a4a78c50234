//! Substitution for `build` and `profile upgrade`: the `substituters` opened from the settings
//! (none with `--offline` or `substitute = false`), the goal plan made with them, `--dry-run`'s
//! listing of what would be fetched (Nix's `printMissing`), and the fetching, with `--fallback`
//! re-planning as builds the derivations whose substitution failed ([`crate::build::substitute`]).

use std::collections::BTreeSet;

use super::Context;
use crate::build::Error as BuildError;
use crate::build::goal::{self, Plan, Wanted};
use crate::build::substitute::{self, Substituters};
use crate::report::Reporter as _;
use crate::store::local::LocalStore;
use crate::store::{Store as _, StorePath};

/// Opens the substituters this run may use.
pub(super) fn open<'a>(ctx: &'a Context, store: &'a LocalStore) -> Substituters<'a> {
    let s = &ctx.settings;
    let d = &s.daemon;
    let get = |name: &str| {
        d.overrides
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let settings = substitute::Settings {
        jobs: get("max-substitution-jobs")
            .and_then(|v| v.parse().ok())
            .unwrap_or(16),
        query_jobs: usize::try_from(s.http_connections)
            .unwrap_or(usize::MAX)
            .clamp(1, 64),
        fallback: d.fallback,
        always_allow: get("always-allow-substitutes").is_some_and(|v| v == "true"),
    };
    let uris: &[String] = if ctx.global.offline || !d.substitute {
        &[]
    } else {
        &s.substituters
    };
    let opts = crate::store::binary_cache::OpenOptions {
        store_dir: store.store_dir().clone(),
        http_client: Some(ctx.http.clone()),
        temp_dir: None,
    };
    Substituters::open(uris, store, &opts, settings, &ctx.printer)
}

/// Plans `wanted`, substituting what the caches have.
pub(super) fn plan(
    store: &LocalStore,
    wanted: &[Wanted],
    check: &BTreeSet<StorePath>,
    subs: &Substituters<'_>,
) -> anyhow::Result<Plan> {
    let plan = goal::plan_with(store, wanted, check, subs)?;
    if let Some(e) = subs.take_error() {
        return Err(BuildError::Other(e).into());
    }
    Ok(plan)
}

/// The paths a plan (and the plain paths `opaque`) substitute.
fn roots(plan: &Plan, opaque: &BTreeSet<StorePath>) -> BTreeSet<StorePath> {
    plan.substitute
        .values()
        .flatten()
        .chain(&plan.fetch)
        .chain(opaque)
        .cloned()
        .collect()
}

/// Prints what `plan` would build and fetch, as Nix 2.8's `printMissing` does.
pub(super) fn print_missing(
    ctx: &Context,
    plan: &Plan,
    subs: &Substituters<'_>,
    opaque: &BTreeSet<StorePath>,
) {
    let dir = &plan.store_dir;
    let todo = plan.to_build();
    match todo.len() {
        0 => {}
        1 => ctx.printer.notice("this derivation will be built:"),
        n => ctx
            .printer
            .notice(&format!("these {n} derivations will be built:")),
    }
    for p in &todo {
        ctx.printer.notice(&format!("  {}", dir.print(p)));
    }
    let (fetch, download, unpacked) = subs.missing(&roots(plan, opaque));
    let mib = |n: u64| n as f64 / (1024.0 * 1024.0);
    let sizes = format!(
        "({:.2} MiB download, {:.2} MiB unpacked):",
        mib(download),
        mib(unpacked)
    );
    match fetch.len() {
        0 => {}
        1 => ctx
            .printer
            .notice(&format!("this path will be fetched {sizes}")),
        n => ctx
            .printer
            .notice(&format!("these {n} paths will be fetched {sizes}")),
    }
    for p in &fetch {
        ctx.printer.notice(&format!("  {}", dir.print(p)));
    }
}

/// Checks that the plain paths `opaque` are valid or can be substituted.
pub(super) fn check_opaque(
    store: &LocalStore,
    subs: &Substituters<'_>,
    opaque: &BTreeSet<StorePath>,
) -> anyhow::Result<()> {
    for p in opaque {
        if !store.is_valid_path(p)? && subs.closure([p.clone()]).is_none() {
            if let Some(e) = subs.take_error() {
                return Err(BuildError::Other(e).into());
            }
            return Err(no_substituter(store, p).into());
        }
    }
    Ok(())
}

fn no_substituter(store: &LocalStore, p: &StorePath) -> BuildError {
    BuildError::Other(format!(
        "path '{}' is required, but there is no substituter that can build it",
        store.store_dir().print(p)
    ))
}

/// Fetches what `plan` and `opaque` substitute. A derivation whose substitution failed is
/// an error unless `fallback` is on (or its NARs were merely gone), when it is planned again
/// as a build; the plan returned has everything it substitutes valid.
pub(super) fn fetch(
    store: &LocalStore,
    wanted: &[Wanted],
    check: &BTreeSet<StorePath>,
    subs: &Substituters<'_>,
    mut plan: Plan,
    opaque: &BTreeSet<StorePath>,
) -> anyhow::Result<Plan> {
    let mut opaque_left = opaque.clone();
    loop {
        let roots = roots(&plan, &opaque_left);
        if roots.is_empty() {
            return Ok(plan);
        }
        let outcome = subs.fetch(&roots);
        crate::util::interrupt::check()?;
        if outcome.failed.is_empty() {
            return Ok(plan);
        }
        for p in &opaque_left {
            if !store.is_valid_path(p)? {
                return Err(no_substituter(store, p).into());
            }
        }
        opaque_left.clear();
        for p in &plan.fetch {
            if !store.is_valid_path(p)? {
                return Err(no_substituter(store, p).into());
            }
        }
        let mut again = false;
        for (drv, outputs) in &plan.substitute {
            let mut valid = true;
            for o in outputs {
                valid &= store.is_valid_path(o)?;
            }
            if valid {
                continue;
            }
            let closure = subs.closure(outputs.iter().cloned());
            let failed_for_real = match &closure {
                Some(c) => outcome.really_failed(c.keys()),
                None => outcome.really_failed(outputs),
            };
            if failed_for_real && !subs.settings().fallback {
                return Err(BuildError::Other(format!(
                    "some substitutes for the outputs of derivation '{}' failed (usually happens due to networking issues); try '--fallback' to build derivation from source ",
                    store.store_dir().print(drv)
                ))
                .into());
            }
            subs.skip(drv);
            again = true;
        }
        if !again {
            return Ok(plan);
        }
        plan = self::plan(store, wanted, check, subs)?;
    }
}
