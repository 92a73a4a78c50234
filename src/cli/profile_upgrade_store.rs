//! The store a `profile upgrade` realises its elements in and adds the profile object to:
//! this process's own (a local or chroot store: substituted and built here, as
//! [`super::build`] does), or a daemon's on this machine (`--store daemon`, `unix://…`: the
//! derivations the evaluation wrote to the staging store are copied over and the daemon
//! builds them, as Nix's `buildPathsWithResults`; the profile object is added with
//! `addToStoreNar` and its generation registered with `addIndirectRoot`, as Nix's
//! `LocalFSStore::addPermRoot` through a `RemoteStore`). Any other store has no local file
//! system for the profile's links: Nix's "'--profile' is not supported for this Nix store".

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context as _;

use super::Context;
use crate::build::goal::{self, Outputs, Wanted};
use crate::profile::generations::{Registry, Roots};
use crate::store::daemon::{DaemonStore, DerivedPath};
use crate::store::local::LocalStore;
use crate::store::uri::StoreUri;
use crate::store::{Store, StoreDir, StorePath};

/// The store of an upgrade.
pub enum Target {
    /// This process's own store, with the substitution and build plan once made.
    Local {
        /// The store.
        store: LocalStore,
        /// The plan ([`Target::plan`]).
        plan: Option<goal::Plan>,
    },
    /// A daemon's store on this machine; the derivations are in `staging`.
    Daemon {
        /// The staging store the evaluation wrote to.
        staging: LocalStore,
        /// The daemon (boxed: a daemon store is much larger than a local one).
        daemon: Box<DaemonStore>,
    },
}

/// What realising the wanted outputs would do.
pub struct Planned {
    /// The output paths each wanted derivation installs, in order.
    pub outputs: Vec<BTreeSet<StorePath>>,
    /// The derivations that would be built.
    pub built: BTreeSet<StorePath>,
}

/// Refuses a store the profile's links cannot point into (Nix refuses it when it switches,
/// after building; rflake before anything is done).
pub fn check_supported(uri: &StoreUri) -> anyhow::Result<()> {
    // Stores rflake cannot open at all keep their own error, given when one is opened.
    if matches!(
        uri,
        StoreUri::File { .. }
            | StoreUri::Http { .. }
            | StoreUri::SshNg { .. }
            | StoreUri::Ssh { .. }
    ) {
        anyhow::bail!("'--profile' is not supported for this Nix store");
    }
    Ok(())
}

impl Target {
    /// Opens the store the settings name.
    pub fn open(ctx: &Context) -> anyhow::Result<Target> {
        let uri = ctx.store_uri(None);
        let cfg = crate::store::open::OpenConfig::new(&ctx.store_settings(), ctx.http.clone())?;
        if !crate::flake::session::is_remote(&uri) {
            let store = crate::store::open::open_local(&uri, &cfg)?;
            return Ok(Target::Local { store, plan: None });
        }
        check_supported(&uri)?;
        let staging_uri = crate::flake::session::staging_uri(&ctx.dirs.cache_home);
        let staging = crate::store::open::open_local(&staging_uri, &cfg)?;
        let reporter = ctx.printer.clone();
        let Some(daemon) = crate::store::open::open_daemon(&uri, &cfg, &reporter)? else {
            anyhow::bail!("'--profile' is not supported for this Nix store");
        };
        Ok(Target::Daemon {
            staging,
            daemon: Box::new(daemon),
        })
    }

    /// The store the profile object goes to.
    pub fn store(&self) -> &dyn Store {
        match self {
            Target::Local { store, .. } => store,
            Target::Daemon { daemon, .. } => daemon.as_ref(),
        }
    }

    /// The logical store directory.
    pub fn store_dir(&self) -> &StoreDir {
        self.store().store_dir()
    }

    /// What realising `wanted` would substitute and build, and the outputs each installs.
    /// Through a daemon the derivations are copied there first (Nix's evaluator writes them
    /// there), so the daemon can say what it would build.
    pub fn plan(&mut self, ctx: &Context, wanted: &[Wanted]) -> anyhow::Result<Planned> {
        match self {
            Target::Local { store, plan } => {
                let subs = super::build_subst::open(ctx, store);
                let p = super::build_subst::plan(store, wanted, &BTreeSet::new(), &subs)?;
                let mut outputs = Vec::new();
                for w in wanted {
                    let node = &p.nodes[&w.drv];
                    outputs.push(
                        chosen(&node.drv, w, store.store_dir())?
                            .into_values()
                            .collect(),
                    );
                }
                let built = p
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.build)
                    .map(|(path, _)| path.clone())
                    .collect();
                *plan = Some(p);
                Ok(Planned { outputs, built })
            }
            Target::Daemon { staging, daemon } => {
                let drvs: BTreeSet<StorePath> = wanted.iter().map(|w| w.drv.clone()).collect();
                crate::build::daemon::upload_derivations(staging, daemon, &drvs)
                    .context("copying the derivations to the daemon")?;
                let mut outputs = Vec::new();
                for w in wanted {
                    let drv = goal::read_derivation(staging, &w.drv)?;
                    outputs.push(
                        chosen(&drv, w, staging.store_dir())?
                            .into_values()
                            .collect(),
                    );
                }
                let targets: Vec<DerivedPath> = wanted.iter().map(derived_path).collect();
                let built = daemon.query_missing(&targets)?.will_build;
                Ok(Planned { outputs, built })
            }
        }
    }

    /// Substitutes and builds what [`Target::plan`] planned.
    pub fn realise(
        &mut self,
        ctx: &Context,
        wanted: &[Wanted],
        keep_going: bool,
    ) -> anyhow::Result<()> {
        match self {
            Target::Local { store, plan } => {
                let none = BTreeSet::new();
                let subs = super::build_subst::open(ctx, store);
                let p = plan.take().context("realising before planning")?;
                let p = super::build_subst::fetch(store, wanted, &none, &subs, p, &none)?;
                let mut settings = super::build::build_settings(ctx, None)?;
                settings.keep_going |= keep_going;
                super::build::realise(ctx, store, &p, wanted, &settings)
            }
            Target::Daemon { staging, daemon } => {
                let outputs_of = |w: &Wanted| -> anyhow::Result<BTreeMap<String, StorePath>> {
                    chosen(
                        &goal::read_derivation(staging, &w.drv)?,
                        w,
                        staging.store_dir(),
                    )
                };
                let results = crate::build::daemon::build(daemon, wanted, &outputs_of)?;
                // As Nix: the first failed result is the error.
                match results.iter().find(|r| !r.status.success()) {
                    Some(failed) => Err(crate::build::Error::Other(failed.message()).into()),
                    None => Ok(()),
                }
            }
        }
    }

    /// Whether `path` is valid in the store.
    pub fn is_valid(&self, path: &StorePath) -> bool {
        match self {
            Target::Local { store, .. } => store.is_valid_path(path).unwrap_or(false),
            Target::Daemon { daemon, .. } => daemon.is_valid_path(path).unwrap_or(false),
        }
    }

    /// Runs `f` with the store's GC roots.
    pub fn with_roots<T>(&self, f: impl FnOnce(&Roots<'_>) -> T) -> T {
        match self {
            Target::Local { store, .. } => f(&Roots::of(store)),
            Target::Daemon { daemon, .. } => {
                let add = |link: &Path| -> Result<(), String> {
                    let text = link.to_string_lossy().into_owned();
                    daemon
                        .with_connection(|c, rep| Ok(c.add_indirect_root(&text, rep)?))
                        .map_err(|e| format!("{e:#}"))
                };
                f(&Roots {
                    registry: Registry::Remote(&add),
                    store_dir: daemon.store_dir(),
                })
            }
        }
    }
}

/// The output paths of `drv` that `w` wants, by name.
fn chosen(
    drv: &crate::store::derivation::Derivation,
    w: &Wanted,
    dir: &StoreDir,
) -> anyhow::Result<BTreeMap<String, StorePath>> {
    let names: Vec<&String> = match &w.outputs {
        Outputs::Names(n) => n.iter().collect(),
        Outputs::All => drv.outputs.keys().collect(),
    };
    let mut paths = BTreeMap::new();
    for name in names {
        let path = drv
            .outputs
            .get(name)
            .and_then(|o| o.path())
            .with_context(|| {
                format!(
                    "derivation '{}' does not have an output named '{name}'",
                    dir.print(&w.drv)
                )
            })?;
        paths.insert(name.clone(), path.clone());
    }
    Ok(paths)
}

/// `w` as the daemon's derived path (no output names: all of them).
fn derived_path(w: &Wanted) -> DerivedPath {
    DerivedPath::Built {
        drv: w.drv.clone(),
        outputs: match &w.outputs {
            Outputs::All => BTreeSet::new(),
            Outputs::Names(n) => n.clone(),
        },
    }
}
