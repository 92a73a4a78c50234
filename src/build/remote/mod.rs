//! Remote builders (Nix's build hook, `src/build-remote/build-remote.cc`, and the
//! `builders` setting of [`machines`]): a derivation goes to a machine whose systems include
//! its `system` and whose features cover its `requiredSystemFeatures` (mandatory features
//! required), the least loaded for its speed factor; the closure of its inputs is copied there
//! (`builders-use-substitutes` lets an `ssh-ng://` machine substitute them first), it is built
//! with `buildDerivation` (the daemon protocol over `nix-daemon --stdio` for `ssh-ng://`, the
//! serve protocol's `BuildDerivation` over `nix-store --serve` for `ssh://`), and its outputs
//! are copied back, their NAR hashes checked as they are added, and registered here.
//!
//! A derivation builds locally instead when it prefers to (`preferLocalBuild`) and can, when no
//! machine is configured, or when none fits and it can build here; when none fits and it
//! cannot, Nix's `Failed to find a machine for remote build!` is printed; when every fitting
//! machine is busy, it waits. `max-jobs = 0` sends everything away.
//!
//! # Deviations
//!
//! - Machine slots are counted within the process; Nix also counts other processes' builds
//!   through lock files under `<state>/current-load`.
//! - A failed remote build is one error, `build of '…' on '…' failed: <the remote error>`;
//!   Nix prints that and then the hook's own `builder for '…' failed with exit code 1`.
//! - The build log of an `ssh://` machine is not shown with `-L` (an `ssh-ng://` machine's
//!   is, as its daemon sends it).

pub mod machines;

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex};

use super::goal::Realiser;
use super::{Error, Events};
use crate::store::daemon::build_ops::BuildResult;
use crate::store::daemon::{BuildMode, DaemonStore};
use crate::store::derivation::Derivation;
use crate::store::local::LocalStore;
use crate::store::serve::ServeStore;
use crate::store::serve::build::BuildSettings;
use crate::store::{CheckSigs, Store, StorePath};
pub use machines::Machine;

/// A machine's store, opened.
pub enum Remote {
    /// `ssh-ng://` (or a daemon).
    Daemon(DaemonStore),
    /// `ssh://`.
    Serve(ServeStore),
}

impl Remote {
    fn store(&self) -> &dyn Store {
        match self {
            Remote::Daemon(d) => d,
            Remote::Serve(s) => s,
        }
    }

    /// Connects (the stores connect on first use).
    fn connect(&self) -> anyhow::Result<()> {
        match self {
            Remote::Daemon(d) => d.protocol_version().map(drop),
            Remote::Serve(s) => s.query_valid_paths(&BTreeSet::new()).map(drop),
        }
    }

    fn build(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        inputs: &BTreeSet<StorePath>,
        settings: BuildSettings,
    ) -> anyhow::Result<BuildResult> {
        match self {
            Remote::Daemon(d) => d.with_connection(|c, rep| {
                Ok(c.build_derivation(drv_path, drv, inputs, BuildMode::Normal, rep)?)
            }),
            Remote::Serve(s) => s.build_derivation(drv_path, drv, inputs, settings),
        }
    }
}

/// Opens a machine's store.
pub type Opener = dyn Fn(&Machine) -> anyhow::Result<Remote> + Sync;

/// What remote building needs to know about this machine and the settings.
pub struct Config {
    /// The machines (`builders`).
    pub machines: Vec<Machine>,
    /// `builders-use-substitutes`.
    pub use_substitutes: bool,
    /// `system`.
    pub this_system: String,
    /// `extra-platforms`.
    pub extra_platforms: Vec<String>,
    /// `system-features`.
    pub system_features: BTreeSet<String>,
    /// `max-jobs`: 0 forbids local builds.
    pub max_jobs: u64,
    /// What `ssh://` machines are sent.
    pub serve_settings: BuildSettings,
}

#[derive(Default)]
struct Slots {
    /// Builds running on each machine.
    busy: Vec<u64>,
    /// Machines that could not be reached.
    disabled: Vec<bool>,
    /// Local builds running.
    local: u64,
}

/// Realises goals on remote machines, or locally through `local`.
pub struct RemoteRealiser<'a> {
    cfg: Config,
    store: &'a LocalStore,
    local: &'a dyn Realiser,
    open: &'a Opener,
    slots: Mutex<Slots>,
    freed: Condvar,
}

/// What to do with a derivation.
enum Choice {
    Remote(usize),
    Local,
}

impl<'a> RemoteRealiser<'a> {
    /// A realiser sending builds to `cfg.machines`, opened with `open`, and building the rest
    /// with `local` in `store`.
    pub fn new(
        cfg: Config,
        store: &'a LocalStore,
        local: &'a dyn Realiser,
        open: &'a Opener,
    ) -> RemoteRealiser<'a> {
        let n = cfg.machines.len();
        RemoteRealiser {
            cfg,
            store,
            local,
            open,
            slots: Mutex::new(Slots {
                busy: vec![0; n],
                disabled: vec![false; n],
                local: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `drv` can be built on this machine (Nix's `canBuildLocally`).
    fn can_build_locally(&self, drv: &Derivation, features: &BTreeSet<String>) -> bool {
        let system = String::from_utf8_lossy(&drv.system);
        self.cfg.max_jobs > 0
            && (system == self.cfg.this_system
                || self.cfg.extra_platforms.iter().any(|p| *p == system)
                || drv.builder.starts_with(b"builtin:"))
            && features.is_subset(&self.cfg.system_features)
    }

    /// Picks a machine (taking a slot) or local building, waiting while every fitting machine
    /// is busy and the derivation cannot build here.
    fn choose(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        features: &BTreeSet<String>,
        events: &dyn Events,
    ) -> Result<Choice, Error> {
        let system = String::from_utf8_lossy(&drv.system).into_owned();
        let system = if drv.builder.starts_with(b"builtin:") {
            "builtin".to_owned()
        } else {
            system
        };
        let local = self.can_build_locally(drv, features);
        let prefer_local = drv.env_var("preferLocalBuild") == Some(b"1");
        if local && prefer_local || self.cfg.machines.is_empty() {
            return Ok(Choice::Local);
        }
        let mut slots = self.lock();
        loop {
            let mut right_type = false;
            let mut best: Option<usize> = None;
            for (i, m) in self.cfg.machines.iter().enumerate() {
                if slots.disabled[i] || !m.fits(&system, features) {
                    continue;
                }
                right_type = true;
                if slots.busy[i] >= m.max_jobs {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some(b) => {
                        let bm = &self.cfg.machines[b];
                        let (load, best_load) = (slots.busy[i], slots.busy[b]);
                        let (q, bq) = (load / m.speed_factor, best_load / bm.speed_factor);
                        q < bq
                            || q == bq
                                && (m.speed_factor > bm.speed_factor
                                    || m.speed_factor == bm.speed_factor && load < best_load)
                    }
                };
                if better {
                    best = Some(i);
                }
            }
            if let Some(i) = best {
                slots.busy[i] += 1;
                return Ok(Choice::Remote(i));
            }
            if right_type && !local {
                // Postponed until a machine frees a slot.
                slots = self.freed.wait(slots).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            if !local {
                events.info(&machines::no_machine_message(
                    drv_path.base_name(),
                    &system,
                    features,
                    &self.cfg.machines,
                ));
                return Err(if self.cfg.max_jobs == 0 {
                    Error::NoMachine
                } else {
                    let join =
                        |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
                    Error::Other(format!(
                        "a '{}' with features {{{}}} is required to build '{}', but I am a '{}' with features {{{}}}",
                        String::from_utf8_lossy(&drv.system),
                        join(features),
                        self.store.store_dir().print(drv_path),
                        self.cfg.this_system,
                        join(&self.cfg.system_features)
                    ))
                });
            }
            return Ok(Choice::Local);
        }
    }

    fn release(&self, machine: Option<usize>) {
        let mut slots = self.lock();
        match machine {
            Some(i) => slots.busy[i] -= 1,
            None => slots.local -= 1,
        }
        drop(slots);
        self.freed.notify_all();
    }

    fn build_local(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        inputs: &BTreeSet<StorePath>,
        events: &dyn Events,
    ) -> Result<(), Error> {
        {
            let mut slots = self.lock();
            while slots.local >= self.cfg.max_jobs.max(1) {
                slots = self.freed.wait(slots).unwrap_or_else(|p| p.into_inner());
            }
            slots.local += 1;
        }
        let res = self.local.realise(drv_path, drv, inputs, events);
        self.release(None);
        res
    }

    /// Builds on machine `i`: inputs there, `buildDerivation`, outputs back.
    fn build_remote(
        &self,
        i: usize,
        remote: &Remote,
        drv_path: &StorePath,
        drv: &Derivation,
        input_outputs: &BTreeSet<StorePath>,
    ) -> anyhow::Result<()> {
        let m = &self.cfg.machines[i];
        let dir = self.store.store_dir();
        let roots: BTreeSet<StorePath> = input_outputs
            .iter()
            .chain(&drv.input_srcs)
            .cloned()
            .collect();
        let inputs = crate::store::copy::closure(self.store, &roots)?;
        if self.cfg.use_substitutes
            && let Remote::Daemon(d) = remote
        {
            d.with_connection(|c, rep| Ok(c.query_valid_paths(&inputs, true, rep)?))?;
        }
        let opts = crate::store::copy::CopyOptions {
            check_sigs: CheckSigs::NoCheck,
            jobs: 1,
        };
        crate::store::copy::copy_paths(
            self.store,
            remote.store(),
            &inputs,
            opts,
            &crate::report::Silent,
        )?;
        // The inputs' outputs become input sources (only when there are input derivations,
        // as Nix: it would change a content-addressed derivation's output otherwise).
        let extra = if drv.input_drvs.is_empty() {
            BTreeSet::new()
        } else {
            inputs
        };
        let res = remote.build(drv_path, drv, &extra, self.cfg.serve_settings)?;
        if !res.status.success() {
            anyhow::bail!(
                "build of '{}' on '{}' failed: {}",
                dir.print(drv_path),
                m.store_uri,
                res.message()
            );
        }
        let mut missing = BTreeSet::new();
        for output in drv.outputs.values() {
            if let Some(p) = output.path()
                && !self.store.is_valid_path(p)?
            {
                missing.insert(p.clone());
            }
        }
        crate::store::copy::copy_paths(
            remote.store(),
            self.store,
            &missing,
            opts,
            &crate::report::Silent,
        )?;
        Ok(())
    }
}

impl Realiser for RemoteRealiser<'_> {
    fn realise(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        input_outputs: &BTreeSet<StorePath>,
        events: &dyn Events,
    ) -> Result<(), Error> {
        let features: BTreeSet<String> = drv
            .env_var("requiredSystemFeatures")
            .map(|v| {
                String::from_utf8_lossy(v)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        loop {
            let i = match self.choose(drv_path, drv, &features, events)? {
                Choice::Local => return self.build_local(drv_path, drv, input_outputs, events),
                Choice::Remote(i) => i,
            };
            let m = &self.cfg.machines[i];
            let remote = match (self.open)(m).and_then(|r| r.connect().map(|()| r)) {
                Ok(r) => r,
                Err(e) => {
                    events.error(&format!("cannot build on '{}': {e:#}", m.store_uri));
                    let mut slots = self.lock();
                    slots.disabled[i] = true;
                    slots.busy[i] -= 1;
                    drop(slots);
                    self.freed.notify_all();
                    continue;
                }
            };
            let printed = self.store.store_dir().print(drv_path);
            events.info(&format!("building '{printed}' on '{}'...", m.store_uri));
            let res = self.build_remote(i, &remote, drv_path, drv, input_outputs);
            self.release(Some(i));
            return res.map_err(|e| match e.downcast::<Error>() {
                Ok(e) => e,
                Err(e) => Error::Other(format!("{e:#}")),
            });
        }
    }

    fn slots(&self, local: u64) -> u64 {
        local + self.cfg.machines.iter().map(|m| m.max_jobs).sum::<u64>()
    }
}
