//! The goal graph (Nix's `Worker`, `DerivationGoal`): from wanted derivation outputs, the
//! derivations that must be built — those with a wanted output that is not valid, and, for
//! them, their inputs' wanted outputs — then building them inputs first, up to `max-jobs` at
//! once. A failed build fails what depends on it (`N dependencies of derivation '…' failed to
//! build`); without `keep-going` no new build starts after a failure.
//!
//! Each goal is realised by a [`Realiser`]: [`LocalRealiser`] builds locally; substitution,
//! the daemon and remote builders are other realisers (or come before it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};

use super::{Error, Events, Settings};
use crate::store::derivation::Derivation;
use crate::store::local::LocalStore;
use crate::store::{Store as _, StorePath};

/// Which outputs of a derivation are wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outputs {
    /// Every output.
    All,
    /// These outputs.
    Names(BTreeSet<String>),
}

/// Wanted outputs of a derivation (Nix's `DerivedPath::Built`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The derivation's store path.
    pub drv: StorePath,
    /// Its wanted outputs.
    pub outputs: Outputs,
}

/// Realises one derivation goal whose inputs are valid.
pub trait Realiser: Sync {
    /// Makes the outputs of `drv` valid; `input_outputs` are the (valid) outputs of its input
    /// derivations.
    fn realise(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        input_outputs: &BTreeSet<StorePath>,
        events: &dyn Events,
    ) -> Result<(), Error>;

    /// How many builds may run at once when `local` may run locally (remote builders add
    /// theirs).
    fn slots(&self, local: u64) -> u64 {
        local
    }
}

/// Builds locally ([`super::builder`]).
pub struct LocalRealiser<'a> {
    /// The store.
    pub store: &'a LocalStore,
    /// The build settings.
    pub settings: &'a Settings,
}

impl Realiser for LocalRealiser<'_> {
    fn realise(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        input_outputs: &BTreeSet<StorePath>,
        events: &dyn Events,
    ) -> Result<(), Error> {
        super::builder::build(
            self.store,
            drv_path,
            drv,
            input_outputs,
            self.settings,
            events,
        )
    }
}

/// One derivation of the graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// The derivation.
    pub drv: Derivation,
    /// Its wanted outputs.
    pub wanted: BTreeSet<String>,
    /// Whether it must be built (a wanted output is not valid).
    pub build: bool,
}

/// The derivations a realisation involves.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Every derivation visited, by path.
    pub nodes: BTreeMap<StorePath, Node>,
    /// The store directory, for messages.
    pub store_dir: crate::store::StoreDir,
}

/// Reads the derivation stored at `path`.
pub fn read_derivation(store: &LocalStore, path: &StorePath) -> Result<Derivation, Error> {
    let dir = store.store_dir();
    if !store.is_valid_path(path).map_err(Error::other)? {
        return Err(Error::Other(format!(
            "path '{}' is required, but there is no substituter that can build it",
            dir.print(path)
        )));
    }
    let text = crate::util::fs::read(&store.real_path(path)).map_err(Error::other)?;
    let name = crate::store::derivation::name_of_drv_path(path)
        .ok_or_else(|| Error::Other(format!("'{}' is not a derivation", dir.print(path))))?;
    Derivation::parse(dir, &text, name).map_err(|e| {
        Error::Other(format!(
            "error parsing derivation '{}': {e}",
            dir.print(path)
        ))
    })
}

fn names(drv: &Derivation, outputs: &Outputs) -> BTreeSet<String> {
    match outputs {
        Outputs::All => drv.outputs.keys().cloned().collect(),
        Outputs::Names(n) => n.clone(),
    }
}

/// Finds the derivations to build for `wanted`.
pub fn plan(store: &LocalStore, wanted: &[Wanted]) -> Result<Plan, Error> {
    plan_inner(store, wanted, &BTreeSet::new())
}

/// Finds the derivations to build for `wanted`, the derivations in `check` built whatever
/// their outputs' validity (`--rebuild`; their inputs as [`plan`] would).
pub fn plan_checking(
    store: &LocalStore,
    wanted: &[Wanted],
    check: &BTreeSet<StorePath>,
) -> Result<Plan, Error> {
    plan_inner(store, wanted, check)
}

fn plan_inner(
    store: &LocalStore,
    wanted: &[Wanted],
    check: &BTreeSet<StorePath>,
) -> Result<Plan, Error> {
    let dir = store.store_dir();
    let mut plan = Plan {
        store_dir: dir.clone(),
        ..Plan::default()
    };
    let mut queue: Vec<(StorePath, Outputs)> = wanted
        .iter()
        .map(|w| (w.drv.clone(), w.outputs.clone()))
        .collect();
    while let Some((path, outputs)) = queue.pop() {
        if !plan.nodes.contains_key(&path) {
            let drv = read_derivation(store, &path)?;
            plan.nodes.insert(
                path.clone(),
                Node {
                    drv,
                    wanted: BTreeSet::new(),
                    build: false,
                },
            );
        }
        let node = plan.nodes.get_mut(&path).expect("inserted above");
        let new = names(&node.drv, &outputs);
        let unknown: Vec<&String> = new
            .iter()
            .filter(|n| !node.drv.outputs.contains_key(*n))
            .collect();
        if let Some(n) = unknown.first() {
            return Err(Error::Other(format!(
                "derivation '{}' does not have wanted outputs '{n}'",
                dir.print(&path)
            )));
        }
        let before = node.wanted.len();
        node.wanted.extend(new);
        if node.build || node.wanted.len() == before && before > 0 {
            continue;
        }
        let mut missing = check.contains(&path);
        for name in &node.wanted {
            match node.drv.outputs[name].path() {
                Some(p) if store.is_valid_path(p).map_err(Error::other)? => {}
                _ => missing = true,
            }
        }
        if !missing {
            continue;
        }
        node.build = true;
        for src in &node.drv.input_srcs {
            if !store.is_valid_path(src).map_err(Error::other)? {
                return Err(Error::Other(format!(
                    "path '{}' is required, but there is no substituter that can build it",
                    dir.print(src)
                )));
            }
        }
        for (input, outs) in &node.drv.input_drvs {
            queue.push((input.clone(), Outputs::Names(outs.clone())));
        }
    }
    Ok(plan)
}

impl Plan {
    /// The derivations to build, in the order Nix lists them (`printMissing`: inputs
    /// first, a depth-first walk over the paths in order).
    pub fn to_build(&self) -> Vec<StorePath> {
        let set: BTreeSet<&StorePath> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.build)
            .map(|(p, _)| p)
            .collect();
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        fn visit<'a>(
            p: &'a StorePath,
            plan: &'a Plan,
            set: &BTreeSet<&'a StorePath>,
            seen: &mut BTreeSet<&'a StorePath>,
            out: &mut Vec<StorePath>,
        ) {
            if !seen.insert(p) {
                return;
            }
            let node = &plan.nodes[p];
            for r in node.drv.references() {
                if r != p && set.contains(r) {
                    visit(r, plan, set, seen, out);
                }
            }
            out.push(p.clone());
        }
        for p in &set {
            visit(p, self, &set, &mut seen, &mut out);
        }
        out
    }

    /// The output paths of the inputs of `drv` that it uses.
    fn input_outputs(&self, drv: &Derivation) -> BTreeSet<StorePath> {
        let mut out = BTreeSet::new();
        for (input, outs) in &drv.input_drvs {
            if let Some(node) = self.nodes.get(input) {
                for o in outs {
                    if let Some(p) = node.drv.outputs.get(o).and_then(|x| x.path()) {
                        out.insert(p.clone());
                    }
                }
            }
        }
        out
    }
}

/// The scheduler's shared state.
struct State {
    /// Derivations not started, with how many of their inputs are not built yet.
    waiting: BTreeMap<StorePath, usize>,
    ready: Vec<StorePath>,
    running: usize,
    done: BTreeSet<StorePath>,
    failed: BTreeMap<StorePath, Error>,
    stop: bool,
}

/// Builds what `plan` says must be built, with `realiser`, up to `settings.max_jobs` at once.
/// Returns the errors of the failed derivations (reported through `events` when another goal
/// depended on them, as Nix logs them).
pub fn run(
    plan: &Plan,
    realiser: &dyn Realiser,
    settings: &Settings,
    events: &dyn Events,
) -> BTreeMap<StorePath, Error> {
    let order = plan.to_build();
    if order.is_empty() {
        return BTreeMap::new();
    }
    let dir_of: BTreeSet<&StorePath> = order.iter().collect();
    // Dependents among the derivations to build.
    let mut dependents: BTreeMap<&StorePath, Vec<&StorePath>> = BTreeMap::new();
    let mut waiting = BTreeMap::new();
    for p in &order {
        let deps: Vec<&StorePath> = plan.nodes[p]
            .drv
            .input_drvs
            .keys()
            .filter(|d| dir_of.contains(d))
            .collect();
        for d in &deps {
            dependents.entry(*d).or_default().push(p);
        }
        waiting.insert(p.clone(), deps.len());
    }
    let slots = realiser.slots(settings.max_jobs);
    if slots == 0 {
        let mut failed = BTreeMap::new();
        for p in &order {
            failed.insert(p.clone(), Error::NoJobs);
        }
        return failed;
    }
    let mut ready: Vec<StorePath> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(p, _)| p.clone())
        .collect();
    // Started in the listed order: pop from the end.
    ready.reverse();
    for p in &ready {
        waiting.remove(p);
    }
    let state = Mutex::new(State {
        waiting,
        ready,
        running: 0,
        done: BTreeSet::new(),
        failed: BTreeMap::new(),
        stop: false,
    });
    let wake = Condvar::new();
    let workers = usize::try_from(slots)
        .unwrap_or(usize::MAX)
        .min(order.len());
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = {
                        let mut st = lock();
                        loop {
                            if !st.stop
                                && !crate::util::interrupt::is_interrupted()
                                && let Some(p) = st.ready.pop()
                            {
                                st.running += 1;
                                break Some(p);
                            }
                            if st.running == 0 {
                                break None;
                            }
                            st = wake.wait(st).unwrap_or_else(|p| p.into_inner());
                        }
                    };
                    let Some(path) = next else {
                        wake.notify_all();
                        return;
                    };
                    let node = &plan.nodes[&path];
                    let inputs = plan.input_outputs(&node.drv);
                    let result = realiser.realise(&path, &node.drv, &inputs, events);
                    events.finished(&plan.store_dir.print(&path), result.is_ok());
                    let mut st = lock();
                    st.running -= 1;
                    match result {
                        Ok(()) => {
                            for d in dependents.get(&path).into_iter().flatten() {
                                if let Some(n) = st.waiting.get_mut(*d) {
                                    *n -= 1;
                                    if *n == 0 {
                                        st.waiting.remove(*d);
                                        st.ready.push((*d).clone());
                                    }
                                }
                            }
                            st.done.insert(path);
                        }
                        Err(e) => {
                            fail(&mut st, plan, &dependents, &path, e, events, settings);
                        }
                    }
                    drop(st);
                    wake.notify_all();
                }
            });
        }
    });
    let st = state.into_inner().unwrap_or_else(|p| p.into_inner());
    st.failed
}

/// Records the failure of `path` and fails its dependents.
fn fail(
    st: &mut State,
    plan: &Plan,
    dependents: &BTreeMap<&StorePath, Vec<&StorePath>>,
    path: &StorePath,
    e: Error,
    events: &dyn Events,
    settings: &Settings,
) {
    let deps = dependents.get(path).cloned().unwrap_or_default();
    // An error that stops the whole realisation is the dependents' error too, reported once.
    let fatal = matches!(e, Error::NoMachine).then(|| e.clone());
    if !deps.is_empty() && fatal.is_none() {
        events.error(&e.to_string());
    }
    st.failed.insert(path.clone(), e);
    if !settings.keep_going {
        st.stop = true;
    }
    for d in deps {
        if st.failed.contains_key(d) {
            continue;
        }
        st.waiting.remove(d);
        let dir_count = plan.nodes[d]
            .drv
            .input_drvs
            .keys()
            .filter(|i| st.failed.contains_key(*i))
            .count();
        let err = fatal.clone().unwrap_or_else(|| Error::DependencyFailed {
            count: dir_count,
            drv: plan.store_dir.print(d),
        });
        fail(st, plan, dependents, d, err, events, settings);
    }
}
