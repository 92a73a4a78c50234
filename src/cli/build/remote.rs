//! `rflake build` against another process's store (`--store daemon`, `unix://…`,
//! `ssh-ng://…`): the `.drv` closures go to the daemon, which builds (Nix's `nix build` with a
//! `RemoteStore`, `Installable::build2` → `buildPathsWithResults`); its logs and activities are
//! shown as the daemon sends them, the first failed result is the error, and `result` links
//! are made here and registered with the daemon (`addIndirectRoot`) when the store is on this
//! machine (a daemon socket), as Nix's `LocalFSStore::addPermRoot`; an `ssh-ng://` store gets
//! none, as in Nix.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::{BuildCmd, Context};
use crate::build::goal::{Outputs, Wanted};
use crate::report::Reporter as _;
use crate::store::uri::StoreUri;
use crate::store::{Store as _, StorePath};

/// Builds `wanted` (derivations in the staging store) in the store `uri` names.
pub(super) fn run(
    a: &BuildCmd,
    ctx: &Context,
    uri: &StoreUri,
    wanted: &[Wanted],
) -> anyhow::Result<ExitCode> {
    let cfg = crate::store::open::OpenConfig::new(&ctx.store_settings(), ctx.http.clone())?;
    let staging_uri = crate::flake::session::staging_uri(&ctx.dirs.cache_home);
    let staging = crate::store::open::open_local(&staging_uri, &cfg)?;
    let reporter: Arc<dyn crate::report::Reporter + Send + Sync> = Arc::new(ctx.printer.clone());
    let Some(daemon) = crate::store::open::open_daemon(uri, &cfg, &*reporter)? else {
        anyhow::bail!("building in the store '{uri}' is not supported by rflake yet");
    };
    let dir = staging.store_dir().clone();
    let drvs: BTreeSet<StorePath> = wanted.iter().map(|w| w.drv.clone()).collect();
    crate::build::daemon::upload_derivations(&staging, &daemon, &drvs)
        .with_context(|| format!("copying the derivations to '{uri}'"))?;
    let outputs_of = |w: &Wanted| -> anyhow::Result<BTreeMap<String, StorePath>> {
        let drv = crate::build::goal::read_derivation(&staging, &w.drv)?;
        let names: Vec<&String> = match &w.outputs {
            Outputs::All => drv.outputs.keys().collect(),
            Outputs::Names(n) => n.iter().collect(),
        };
        let mut out = BTreeMap::new();
        for name in names {
            let path = drv
                .outputs
                .get(name)
                .and_then(|o| o.path())
                .ok_or_else(|| anyhow::anyhow!("output '{name}' has no known path"))?;
            out.insert(name.clone(), path.clone());
        }
        Ok(out)
    };
    if a.dry_run {
        let targets: Vec<crate::store::daemon::DerivedPath> = wanted
            .iter()
            .map(|w| crate::store::daemon::DerivedPath::Built {
                drv: w.drv.clone(),
                outputs: match &w.outputs {
                    Outputs::All => BTreeSet::new(),
                    Outputs::Names(n) => n.clone(),
                },
            })
            .collect();
        let missing = daemon.query_missing(&targets)?;
        print_missing(ctx, &dir, &missing);
        return Ok(ExitCode::SUCCESS);
    }
    let results = crate::build::daemon::build(&daemon, wanted, &outputs_of)?;
    // As Nix: the first failed result is rethrown.
    if let Some(failed) = results.iter().find(|r| !r.status.success()) {
        return Err(crate::build::Error::Other(failed.message()).into());
    }
    let mut json = Vec::new();
    let local_fs = matches!(uri, StoreUri::Daemon { .. });
    for (i, (w, res)) in wanted.iter().zip(&results).enumerate() {
        // The daemon names the outputs it built; a valid derivation's come from its file.
        let outputs = if res.built_outputs.is_empty() {
            outputs_of(w)?
        } else {
            res.built_outputs.clone()
        };
        let mut out_json = serde_json::Map::new();
        for (name, path) in &outputs {
            if !a.no_link && local_fs {
                let mut link = a.out_link.clone().unwrap_or_else(|| "result".to_owned());
                if i > 0 {
                    link.push_str(&format!("-{i}"));
                }
                if name != "out" {
                    link.push_str(&format!("-{name}"));
                }
                let link = ctx.cwd.join(link);
                crate::store::local::replace_symlink(&dir.print(path), &link)?;
                let text = link.to_string_lossy().into_owned();
                daemon.with_connection(|c, rep| Ok(c.add_indirect_root(&text, rep)?))?;
            }
            if a.print_out_paths {
                ctx.printer.out_line(&dir.print(path))?;
            }
            out_json.insert(name.clone(), dir.print(path).into());
        }
        let mut entry = serde_json::Map::new();
        entry.insert("drvPath".to_owned(), dir.print(&w.drv).into());
        entry.insert("outputs".to_owned(), out_json.into());
        json.push(serde_json::Value::Object(entry));
    }
    if a.json {
        ctx.printer
            .out_line(&serde_json::Value::Array(json).to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what the daemon would build and fetch (Nix's `printMissing` at its first lines).
fn print_missing(
    ctx: &Context,
    dir: &crate::store::StoreDir,
    missing: &crate::store::daemon::Missing,
) {
    let list = |paths: &BTreeSet<StorePath>, one: &str, many: &str| {
        match paths.len() {
            0 => return,
            1 => ctx.printer.notice(one),
            n => ctx.printer.notice(&many.replace("{n}", &n.to_string())),
        }
        for p in paths {
            ctx.printer.notice(&format!("  {}", dir.print(p)));
        }
    };
    list(
        &missing.will_build,
        "this derivation will be built:",
        "these {n} derivations will be built:",
    );
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    list(
        &missing.will_substitute,
        &format!(
            "this path will be fetched ({:.2} MiB download, {:.2} MiB unpacked):",
            mib(missing.download_size),
            mib(missing.nar_size)
        ),
        &format!(
            "these {{n}} paths will be fetched ({:.2} MiB download, {:.2} MiB unpacked):",
            mib(missing.download_size),
            mib(missing.nar_size)
        ),
    );
}
