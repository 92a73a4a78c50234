//! The closure walk of substitution planning (what Nix's `queryMissing` and its substitution
//! goals do path by path): starting from the missing roots, each path's `.narinfo` is looked
//! up and its references not yet seen and not valid locally are queued, with up to
//! `http-connections` lookups in flight over the whole closure at once. The walk does not wait
//! for one level of references to finish before starting the next, and its worker threads
//! live for the whole walk (a thread per lookup batch made every level pay for fresh threads
//! and their fresh heap pages).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::Scope;

use super::{Found, Lookup, lock};
use crate::store::StorePath;

/// The walk's shared state.
struct State {
    /// Paths to look up, with their discovery number.
    queue: VecDeque<(usize, StorePath)>,
    /// Every path queued so far.
    seen: BTreeSet<StorePath>,
    /// The next discovery number.
    next: usize,
    /// Lookups in flight.
    busy: usize,
    /// Worker threads started.
    workers: usize,
    /// What the caches provide.
    found: BTreeMap<StorePath, Found>,
    /// The first path (by discovery) that no cache provides, with why: the walk stops.
    stop: Option<(usize, Lookup)>,
}

struct Shared<L, V> {
    state: Mutex<State>,
    wake: Condvar,
    max_workers: usize,
    lookup: L,
    valid: V,
}

/// Walks the closure of `roots` (missing paths, without duplicates): `Ok` with what the caches
/// provide for every missing path of it, or `Err` with the error of the first path no cache
/// provides (`None` when it is merely absent).
pub(super) fn walk<L, V>(
    roots: Vec<StorePath>,
    max_workers: usize,
    lookup: L,
    valid: V,
) -> Result<BTreeMap<StorePath, Found>, Option<String>>
where
    L: Fn(&StorePath) -> Lookup + Sync,
    V: Fn(&StorePath) -> bool + Sync,
{
    let max_workers = max_workers.max(1);
    let mut state = State {
        queue: VecDeque::new(),
        seen: BTreeSet::new(),
        next: 0,
        busy: 0,
        workers: 0,
        found: BTreeMap::new(),
        stop: None,
    };
    for r in roots {
        if state.seen.insert(r.clone()) {
            state.queue.push_back((state.next, r));
            state.next += 1;
        }
    }
    let initial = state.queue.len().clamp(1, max_workers);
    state.workers = initial;
    let shared = Shared {
        state: Mutex::new(state),
        wake: Condvar::new(),
        max_workers,
        lookup,
        valid,
    };
    std::thread::scope(|s| {
        for _ in 0..initial {
            s.spawn(|| work(s, &shared));
        }
    });
    let state = shared.state.into_inner().unwrap_or_else(|p| p.into_inner());
    match state.stop {
        None => Ok(state.found),
        Some((_, Lookup::Failed(e))) => Err(Some(e)),
        Some(_) => Err(None),
    }
}

fn wait<'m>(wake: &Condvar, guard: MutexGuard<'m, State>) -> MutexGuard<'m, State> {
    wake.wait(guard).unwrap_or_else(|p| p.into_inner())
}

/// One worker: takes paths from the queue until it is empty with nothing in flight, or the
/// walk stopped.
fn work<'scope, 'env, L, V>(s: &'scope Scope<'scope, 'env>, sh: &'env Shared<L, V>)
where
    L: Fn(&StorePath) -> Lookup + Sync,
    V: Fn(&StorePath) -> bool + Sync,
{
    loop {
        let (number, path) = {
            let mut st = lock(&sh.state);
            loop {
                if st.stop.is_some() {
                    return;
                }
                if let Some(next) = st.queue.pop_front() {
                    st.busy += 1;
                    break next;
                }
                if st.busy == 0 {
                    return;
                }
                st = wait(&sh.wake, st);
            }
        };
        let found = match (sh.lookup)(&path) {
            Lookup::Found(f) => f,
            other => {
                let mut st = lock(&sh.state);
                st.busy -= 1;
                if st.stop.as_ref().is_none_or(|(n, _)| number < *n) {
                    st.stop = Some((number, other));
                }
                sh.wake.notify_all();
                return;
            }
        };
        let fresh: Vec<StorePath> = {
            let mut st = lock(&sh.state);
            found
                .info
                .info
                .references
                .iter()
                .filter(|r| **r != path && st.seen.insert((*r).clone()))
                .cloned()
                .collect()
        };
        // Validity is asked outside the lock (a database query each).
        let missing: Vec<StorePath> = fresh.into_iter().filter(|r| !(sh.valid)(r)).collect();
        let mut st = lock(&sh.state);
        st.found.insert(path, *found);
        for r in missing {
            let n = st.next;
            st.queue.push_back((n, r));
            st.next += 1;
        }
        st.busy -= 1;
        let more = st.queue.len().min(sh.max_workers - st.workers);
        st.workers += more;
        drop(st);
        for _ in 0..more {
            s.spawn(|| work(s, sh));
        }
        sh.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreDir;
    use crate::store::narinfo::NarInfo;

    fn path(name: &str) -> StorePath {
        let hash = format!("{name:0>32}");
        StoreDir::default()
            .parse(&format!("/nix/store/{hash}-{name}"))
            .unwrap()
    }

    /// A chain `p0 → p1 → … → p{n-1}` plus a fan: `p0` also refers to `q0..q{n-1}`.
    fn graph(n: usize) -> BTreeMap<String, Vec<String>> {
        let mut g = BTreeMap::new();
        for i in 0..n {
            let mut refs = Vec::new();
            if i + 1 < n {
                refs.push(format!("p{}", i + 1));
            }
            if i == 0 {
                refs.extend((0..n).map(|j| format!("q{j}")));
            }
            g.insert(format!("p{i}"), refs);
            g.insert(format!("q{i}"), vec![format!("q{i}")]);
        }
        g
    }

    fn lookup_in<'g>(
        g: &'g BTreeMap<String, Vec<String>>,
        absent: &'g [&'g str],
    ) -> impl Fn(&StorePath) -> Lookup + Sync + 'g {
        move |p: &StorePath| {
            let name = p.name().to_owned();
            if absent.contains(&name.as_str()) {
                return Lookup::Failed(format!("no {name}"));
            }
            let Some(refs) = g.get(&name) else {
                return Lookup::Absent;
            };
            let text = format!(
                "StorePath: /nix/store/{name:0>32}-{name}\nURL: nar/x.nar\nCompression: none\nNarHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nNarSize: 8\nReferences: {}\n",
                refs.iter()
                    .map(|r| path(r).to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let info = NarInfo::parse(&StoreDir::default(), &text, "test").unwrap();
            Lookup::Found(Box::new(Found { cache: 0, info }))
        }
    }

    #[test]
    fn walks_the_whole_closure_once() {
        let g = graph(40);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let inner = lookup_in(&g, &[]);
        let lookup = |p: &StorePath| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            inner(p)
        };
        let found = walk(vec![path("p0")], 7, lookup, |_| false).unwrap();
        assert_eq!(found.len(), 80);
        assert_eq!(calls.into_inner(), 80);
    }

    #[test]
    fn valid_paths_are_not_looked_up_nor_walked() {
        let g = graph(10);
        let found = walk(vec![path("p0")], 3, lookup_in(&g, &[]), |p: &StorePath| {
            p.name() == "p5" || p.name().starts_with('q')
        })
        .unwrap();
        let names: Vec<&str> = found.keys().map(|p| p.name()).collect();
        assert_eq!(names, ["p0", "p1", "p2", "p3", "p4"]);
    }

    #[test]
    fn a_missing_path_stops_the_walk_with_its_error() {
        let g = graph(10);
        let stopped = walk(vec![path("p0")], 4, lookup_in(&g, &["p3"]), |_| false);
        assert!(
            matches!(stopped, Err(Some(ref e)) if e == "no p3"),
            "{stopped:?}"
        );
        let mut g = graph(3);
        g.remove("q1");
        let stopped = walk(vec![path("p0")], 4, lookup_in(&g, &[]), |_| false);
        assert!(matches!(stopped, Err(None)), "{stopped:?}");
    }
}
