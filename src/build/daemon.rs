//! Realising through a Nix daemon (`--store daemon`, `unix://…`, `ssh-ng://…`): the daemon
//! builds or substitutes, rflake asks and shows what it says (Nix's `RemoteStore::buildPaths`
//! and `buildPathsWithResults`, `src/libstore/remote-store.cc`).
//!
//! The evaluator writes derivations to the staging store (see
//! [`crate::flake::session::staging_uri`]); [`upload_derivations`] first makes the `.drv`
//! closure of the wanted derivations valid in the daemon's store as Nix's client writes it:
//! sources (content-addressed trees and `builtins.toFile` texts) copied as they are, each
//! `.drv` file added as a text object with its references (`addToStore` with `text:sha256`,
//! `addTextToStore` before protocol 1.25), inputs first. Then [`build`] sends one
//! `buildPathsWithResults` (protocol 1.34 on) for every wanted output; an older daemon gets
//! `buildPaths`, whose failure is the daemon's error, and the results are made up from the
//! derivations' output paths as Nix does.
//!
//! # Deviations
//!
//! Nix writes each derivation to the daemon while it evaluates; rflake writes them to its
//! staging store and copies the closure before building (the same paths and contents).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;

use super::goal::{Outputs, Wanted};
use crate::report::Reporter;
use crate::store::ca::Method;
use crate::store::daemon::build_ops::{BuildResult, Status};
use crate::store::daemon::{BuildMode, DaemonStore, DerivedPath, Version};
use crate::store::local::LocalStore;
use crate::store::{Store, StorePath};

/// Makes the closure of `drvs` (valid in `staging`) valid in `daemon`: sources copied as they
/// are, `.drv` files added as text objects, references first. Returns how many paths were
/// added.
pub fn upload_derivations(
    staging: &LocalStore,
    daemon: &DaemonStore,
    drvs: &BTreeSet<StorePath>,
) -> anyhow::Result<usize> {
    let dir = staging.store_dir().clone();
    let closure = crate::store::copy::closure(staging, drvs)?;
    let valid = daemon.query_valid_paths(&closure)?;
    let missing: BTreeSet<StorePath> = closure.difference(&valid).cloned().collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut texts = BTreeMap::new();
    let mut others = BTreeSet::new();
    for p in &missing {
        let info = staging
            .query_path_info(p)?
            .with_context(|| format!("path '{}' is not valid", dir.print(p)))?;
        match &info.ca {
            Some(ca) if ca.method == Method::Text && p.name().ends_with(".drv") => {
                texts.insert(p.clone(), info);
            }
            _ => {
                others.insert(p.clone());
            }
        }
    }
    // Sources never refer to derivations: they go first, in one copy.
    crate::store::copy::copy_paths(
        staging,
        daemon,
        &others,
        crate::store::copy::CopyOptions::default(),
        &crate::report::Silent,
    )?;
    // Then the `.drv` files, each after the derivations it refers to.
    let mut done: BTreeSet<StorePath> = BTreeSet::new();
    while done.len() < texts.len() {
        let before = done.len();
        for (p, info) in &texts {
            if done.contains(p)
                || info
                    .references
                    .iter()
                    .any(|r| r != p && texts.contains_key(r) && !done.contains(r))
            {
                continue;
            }
            let contents = crate::util::fs::read(&staging.real_path(p))?;
            let added = daemon.with_connection(|c, rep| {
                c.add_text_to_store(p.name(), &contents, &info.references, rep)
            })?;
            if &added != p {
                anyhow::bail!(
                    "the Nix daemon added '{}' as '{}'",
                    dir.print(p),
                    dir.print(&added)
                );
            }
            done.insert(p.clone());
        }
        if done.len() == before {
            anyhow::bail!("the derivations to copy refer to each other in a cycle");
        }
    }
    Ok(others.len() + texts.len())
}

/// The derived path of a wanted derivation.
fn derived(w: &Wanted) -> DerivedPath {
    DerivedPath::Built {
        drv: w.drv.clone(),
        outputs: match &w.outputs {
            Outputs::All => BTreeSet::new(),
            Outputs::Names(n) => n.clone(),
        },
    }
}

/// Has the daemon build `wanted` (whose `.drv` closures it has) and returns one result per
/// wanted derivation, in order. `outputs_of` gives a derivation's statically known output
/// paths, for a daemon older than protocol 1.34.
pub fn build(
    daemon: &DaemonStore,
    wanted: &[Wanted],
    outputs_of: &dyn Fn(&Wanted) -> anyhow::Result<BTreeMap<String, StorePath>>,
) -> anyhow::Result<Vec<BuildResult>> {
    let targets: Vec<DerivedPath> = wanted.iter().map(derived).collect();
    let with_results = daemon.protocol_version()? >= Version::v1(34);
    if with_results {
        return daemon.with_connection(|c, rep: &dyn Reporter| {
            Ok(c.build_paths_with_results(&targets, BuildMode::Normal, rep)?)
        });
    }
    daemon.build_paths(&targets, BuildMode::Normal)?;
    let dir = daemon.store_dir().clone();
    wanted
        .iter()
        .zip(&targets)
        .map(|(w, t)| {
            let path = match t {
                DerivedPath::Built { drv, outputs } if outputs.is_empty() => {
                    format!("{}!*", dir.print(drv))
                }
                DerivedPath::Built { drv, outputs } => {
                    let o: Vec<&str> = outputs.iter().map(String::as_str).collect();
                    format!("{}!{}", dir.print(drv), o.join(","))
                }
                DerivedPath::Opaque(p) => dir.print(p),
            };
            Ok(BuildResult {
                path,
                status: Status::Built,
                error_msg: String::new(),
                times_built: 0,
                non_deterministic: false,
                start_time: 0,
                stop_time: 0,
                built_outputs: outputs_of(w)?,
            })
        })
        .collect()
}
