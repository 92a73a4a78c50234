//! Copying store paths and closures between any two stores (Nix's `copyPaths`,
//! `copyClosure` in the Nix source's `src/libstore/store-api.cc`).
//!
//! Paths the destination already has are skipped. The rest are copied references first; paths
//! whose references are all in place are copied in parallel (up to `jobs` at a time), each as
//! a NAR streamed through a pipe from the source's `nar_from_path` into the destination's
//! `add_nar`. A destination that takes many paths in one request (a Nix daemon's
//! `addMultipleToStore`) gets them all in one stream instead, references first.
//!
//! # Deviations
//!
//! Nix copies one path at a time to a binary cache; rflake uploads up to `jobs` at once. The
//! result is the same.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;

use super::meter::Meter;
use super::{CheckSigs, PathInfo, Store, StorePath};
use crate::report::{Activity, ActivityId, ActivityType, Field, Reporter, Verbosity};

/// How to copy.
#[derive(Clone, Copy, Debug)]
pub struct CopyOptions {
    /// Whether the destination checks signatures (`--no-check-sigs` turns it off).
    pub check_sigs: CheckSigs,
    /// How many paths may be copied at once.
    pub jobs: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            check_sigs: CheckSigs::Check,
            jobs: 4,
        }
    }
}

/// Returns `paths` and everything they refer to, directly or not, in `store`.
pub fn closure(
    store: &dyn Store,
    paths: &BTreeSet<StorePath>,
) -> anyhow::Result<BTreeSet<StorePath>> {
    Ok(closure_infos(store, paths)?.into_keys().collect())
}

/// Returns the path info of every path of the closure of `paths` in `store`.
fn closure_infos(
    store: &dyn Store,
    paths: &BTreeSet<StorePath>,
) -> anyhow::Result<BTreeMap<StorePath, PathInfo>> {
    let mut seen = BTreeMap::new();
    let mut todo: Vec<StorePath> = paths.iter().cloned().collect();
    while let Some(p) = todo.pop() {
        if seen.contains_key(&p) {
            continue;
        }
        let info = query(store, &p)?;
        todo.extend(
            info.references
                .iter()
                .filter(|r| !seen.contains_key(*r))
                .cloned(),
        );
        seen.insert(p, info);
    }
    Ok(seen)
}

fn query(store: &dyn Store, p: &StorePath) -> anyhow::Result<PathInfo> {
    store.query_path_info(p)?.with_context(|| {
        format!(
            "path '{}' is not valid in '{}'",
            store.store_dir().print(p),
            store.uri()
        )
    })
}

/// Copies the closure of `paths` from `src` to `dst`.
pub fn copy_closure(
    src: &dyn Store,
    dst: &dyn Store,
    paths: &BTreeSet<StorePath>,
    opts: CopyOptions,
    reporter: &dyn Reporter,
) -> anyhow::Result<BTreeSet<StorePath>> {
    // The infos read while walking the closure are the ones copied: each is queried once.
    let infos = closure_infos(src, paths)?;
    let all = infos.keys().cloned().collect();
    copy_known(src, dst, &all, infos, opts, reporter)
}

/// Copies `paths` (not their closure) from `src` to `dst`, skipping those `dst` has, and
/// returns the paths that were copied. References of a copied path must be in `paths` or
/// already valid in `dst`.
pub fn copy_paths(
    src: &dyn Store,
    dst: &dyn Store,
    paths: &BTreeSet<StorePath>,
    opts: CopyOptions,
    reporter: &dyn Reporter,
) -> anyhow::Result<BTreeSet<StorePath>> {
    copy_known(src, dst, paths, BTreeMap::new(), opts, reporter)
}

/// [`copy_paths`], with the source's infos of some paths known already.
fn copy_known(
    src: &dyn Store,
    dst: &dyn Store,
    paths: &BTreeSet<StorePath>,
    mut known: BTreeMap<StorePath, PathInfo>,
    opts: CopyOptions,
    reporter: &dyn Reporter,
) -> anyhow::Result<BTreeSet<StorePath>> {
    let valid = dst.query_valid_paths(paths)?;
    let missing: BTreeSet<StorePath> = paths.difference(&valid).cloned().collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let n = missing.len();
    // Nix's `actCopyPaths` (its text says "paths" even for one).
    let act = Activity::start(
        reporter,
        Verbosity::Info,
        ActivityType::CopyPaths,
        &format!("copying {n} path{}", if n == 1 { "" } else { "s" }),
        &[],
    );
    let parent = act.id();
    let mut infos = BTreeMap::new();
    for p in &missing {
        let info = match known.remove(p) {
            Some(info) => info,
            None => query(src, p)?,
        };
        infos.insert(p.clone(), info);
    }
    if copy_batched(src, dst, &infos, opts, reporter, parent)? {
        return Ok(missing);
    }
    let bytes = infos.values().map(|i| i.nar_size).sum();
    let meter = Meter::new(LABEL, bytes, reporter);
    for level in levels(&infos) {
        let next = Mutex::new(level.iter());
        let errors = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..opts.jobs.clamp(1, level.len()) {
                s.spawn(|| {
                    loop {
                        let Some(p) = next.lock().ok().and_then(|mut it| it.next()) else {
                            return;
                        };
                        let copied = crate::util::interrupt::check()
                            .map_err(anyhow::Error::from)
                            .and_then(|()| {
                                copy_one(src, dst, &infos[p], opts.check_sigs, &meter, parent)
                            });
                        if let Err(e) = copied {
                            if let Ok(mut errs) = errors.lock() {
                                errs.push(e);
                            }
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = errors
            .into_inner()
            .ok()
            .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
        {
            reporter.progress_done(LABEL);
            return Err(e);
        }
    }
    reporter.progress_done(LABEL);
    Ok(missing)
}

/// The fewest paths worth a request of their own when a batch is split over connections.
const MIN_PER_REQUEST: usize = 8;

/// Copies `infos` in batched requests if `dst` takes those (see [`Store::add_multiple`]);
/// `false` when it does not, nothing copied. Each level of references is split over up to
/// [`Store::parallel_requests`] requests at once (several daemon processes import in
/// parallel), levels one after another.
fn copy_batched(
    src: &dyn Store,
    dst: &dyn Store,
    infos: &BTreeMap<StorePath, PathInfo>,
    opts: CopyOptions,
    reporter: &dyn Reporter,
    parent: ActivityId,
) -> anyhow::Result<bool> {
    let levels: Vec<Vec<PathInfo>> = levels(infos)
        .into_iter()
        .map(|level| level.iter().filter_map(|p| infos.get(p).cloned()).collect())
        .collect();
    let total = infos.len() as u64;
    let done = AtomicU64::new(0);
    let streams = dst.parallel_requests().min(opts.jobs).max(1);
    let send = |batch: &[PathInfo]| -> anyhow::Result<bool> {
        dst.add_multiple(
            batch,
            &mut |info, w| {
                let printed = src.store_dir().print(&info.path);
                let _act = copy_path_activity(reporter, src, dst, &printed, parent);
                src.nar_from_path(&info.path, w)
                    .with_context(|| format!("reading path '{printed}' from '{}'", src.uri()))?;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                reporter.progress(LABEL_PATHS, n, Some(total));
                Ok(())
            },
            opts.check_sigs,
        )
    };
    // Levels too small to split are sent together, references first, in one request.
    let mut requests: Vec<Vec<Vec<PathInfo>>> = Vec::new();
    let mut serial: Vec<PathInfo> = Vec::new();
    for level in levels {
        let n = streams.min(level.len().div_ceil(MIN_PER_REQUEST)).max(1);
        if n == 1 {
            serial.extend(level);
            continue;
        }
        if !serial.is_empty() {
            requests.push(vec![std::mem::take(&mut serial)]);
        }
        // Interleaved, so that each request gets a share of the big and the small.
        requests.push(
            (0..n)
                .map(|i| level.iter().skip(i).step_by(n).cloned().collect())
                .collect(),
        );
    }
    if !serial.is_empty() {
        requests.push(vec![serial]);
    }
    let mut batched = Ok(true);
    for parts in &requests {
        let result = match parts.as_slice() {
            [one] => send(one),
            parts => std::thread::scope(|s| {
                let handles: Vec<_> = parts.iter().map(|p| s.spawn(|| send(p))).collect();
                let results: Vec<anyhow::Result<bool>> = handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow::anyhow!("a copy thread panicked")))
                    })
                    .collect();
                // All requests go to the same store: they are all supported or none is.
                results
                    .into_iter()
                    .try_fold(true, |all, r| r.map(|ok| all && ok))
            }),
        };
        match result {
            Ok(true) => {}
            other => {
                batched = other;
                break;
            }
        }
    }
    if done.load(Ordering::Relaxed) > 0 {
        reporter.progress_done(LABEL_PATHS);
    }
    batched.with_context(|| {
        format!(
            "copying {total} path{} to '{}'",
            if total == 1 { "" } else { "s" },
            dst.uri()
        )
    })
}

/// The progress label of batched copies: the paths sent.
const LABEL_PATHS: &str = "copying paths";

/// Groups the paths so that each group refers only to earlier groups (or outside the set).
fn levels(infos: &BTreeMap<StorePath, PathInfo>) -> Vec<Vec<StorePath>> {
    let mut level: BTreeMap<&StorePath, usize> = BTreeMap::new();
    fn depth<'a>(
        p: &'a StorePath,
        infos: &'a BTreeMap<StorePath, PathInfo>,
        level: &mut BTreeMap<&'a StorePath, usize>,
        stack: &mut BTreeSet<&'a StorePath>,
    ) -> usize {
        if let Some(&l) = level.get(p) {
            return l;
        }
        // A reference cycle (only possible with corrupt metadata) is cut here.
        if !stack.insert(p) {
            return 0;
        }
        let l = infos[p]
            .references
            .iter()
            .filter(|r| *r != p)
            .filter_map(|r| infos.get_key_value(r).map(|(k, _)| k))
            .map(|r| depth(r, infos, level, stack) + 1)
            .max()
            .unwrap_or(0);
        stack.remove(p);
        level.insert(p, l);
        l
    }
    let mut stack = BTreeSet::new();
    for p in infos.keys() {
        depth(p, infos, &mut level, &mut stack);
    }
    let mut out: Vec<Vec<StorePath>> = Vec::new();
    for (p, l) in level {
        if out.len() <= l {
            out.resize(l + 1, Vec::new());
        }
        out[l].push(p.clone());
    }
    out
}

/// Returns how Nix names a copy: from a local store only the destination is named, into one
/// only the source.
fn copy_message(src: &dyn Store, dst: &dyn Store, path: &str) -> String {
    let is_local = |uri: &str| uri == "local" || uri == "daemon" || uri.starts_with("local?");
    let (s, d) = (src.uri(), dst.uri());
    if is_local(&s) {
        format!("copying path '{path}' to '{d}'")
    } else if is_local(&d) {
        format!("copying path '{path}' from '{s}'")
    } else {
        format!("copying path '{path}' from '{s}' to '{d}'")
    }
}

/// A reader that reports the bytes read through it as the progress of an activity.
struct Counted<'a, 'r, R> {
    inner: R,
    act: &'a Activity<'r>,
    done: u64,
    reported: u64,
    expected: u64,
}

impl<R: Read> Read for Counted<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        // Every 64 KiB and at the end: NAR readers take many small reads.
        if self.done > self.reported
            && (self.done - self.reported >= 1 << 16 || self.done >= self.expected)
        {
            self.reported = self.done;
            self.act.progress(self.done, self.expected);
        }
        Ok(n)
    }
}

/// The progress label of copies: the bytes of all paths, with the rate.
const LABEL: &str = "copying paths";

/// Nix's `actCopyPath` for the path printed as `printed`: the path and both stores as fields;
/// the NAR bytes are its progress.
fn copy_path_activity<'r>(
    reporter: &'r dyn Reporter,
    src: &dyn Store,
    dst: &dyn Store,
    printed: &str,
    parent: ActivityId,
) -> Activity<'r> {
    Activity::child(
        reporter,
        Verbosity::Info,
        ActivityType::CopyPath,
        &copy_message(src, dst, printed),
        &[
            Field::from(printed),
            Field::from(src.uri()),
            Field::from(dst.uri()),
        ],
        parent,
    )
}

fn copy_one(
    src: &dyn Store,
    dst: &dyn Store,
    info: &PathInfo,
    check: CheckSigs,
    meter: &Meter<'_>,
    parent: ActivityId,
) -> anyhow::Result<()> {
    let reporter = meter.reporter();
    let printed = src.store_dir().print(&info.path);
    let act = copy_path_activity(reporter, src, dst, &printed, parent);
    let _pushed = act.push();
    let (mut reader, mut writer) = std::io::pipe().context("creating a pipe")?;
    std::thread::scope(|s| {
        let producer = s.spawn(move || -> anyhow::Result<()> {
            src.nar_from_path(&info.path, &mut writer)?;
            writer.flush()?;
            Ok(())
        });
        let mut buffered = Counted {
            inner: std::io::BufReader::with_capacity(1 << 16, meter.reader(&mut reader)),
            act: &act,
            done: 0,
            reported: 0,
            expected: info.nar_size,
        };
        let added = dst.add_nar(info, &mut buffered as &mut dyn Read, check);
        // Unblock the producer if the consumer stopped early.
        drop(buffered);
        drop(reader);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the NAR producer panicked")));
        match (added, produced) {
            (Err(e), _) => Err(e),
            // The destination may stop reading early (it already had the path).
            (Ok(()), Err(e)) if is_broken_pipe(&e) => Ok(()),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => Ok(()),
        }
    })
    .with_context(|| format!("copying path '{printed}' to '{}'", dst.uri()))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Algo, Hash};
    use crate::report::Collect;
    use crate::store::StoreDir;

    /// A store in memory, for testing the copy logic; with `batches`, it takes many paths in
    /// one request and records each request's paths.
    struct Memory {
        uri: String,
        dir: StoreDir,
        paths: Mutex<BTreeMap<StorePath, (PathInfo, Vec<u8>)>>,
        batches: Option<Mutex<Vec<Vec<StorePath>>>>,
        /// What [`Store::parallel_requests`] answers.
        parallel: usize,
    }

    impl Memory {
        fn new(uri: &str) -> Memory {
            Memory {
                uri: uri.to_owned(),
                dir: StoreDir::default(),
                paths: Mutex::new(BTreeMap::new()),
                batches: None,
                parallel: 1,
            }
        }

        fn add_text(&self, name: &str, text: &str, refs: &[&StorePath]) -> StorePath {
            let p = self
                .dir
                .make_text_path(&Hash::digest(Algo::Sha256, text.as_bytes()), name, refs)
                .unwrap();
            let nar = text.as_bytes().to_vec();
            let mut info = PathInfo::source(
                p.clone(),
                Hash::digest(Algo::Sha256, &nar),
                nar.len() as u64,
            );
            info.ca = None;
            info.references = refs.iter().map(|r| (*r).clone()).collect();
            self.paths.lock().unwrap().insert(p.clone(), (info, nar));
            p
        }
    }

    impl Store for Memory {
        fn uri(&self) -> String {
            self.uri.clone()
        }
        fn store_dir(&self) -> &StoreDir {
            &self.dir
        }
        fn query_path_info(&self, path: &StorePath) -> anyhow::Result<Option<PathInfo>> {
            Ok(self.paths.lock().unwrap().get(path).map(|(i, _)| i.clone()))
        }
        fn nar_from_path(&self, path: &StorePath, sink: &mut dyn Write) -> anyhow::Result<()> {
            let nar = self.paths.lock().unwrap()[path].1.clone();
            sink.write_all(&nar)?;
            Ok(())
        }
        fn add_nar(&self, info: &PathInfo, nar: &mut dyn Read, _: CheckSigs) -> anyhow::Result<()> {
            let mut buf = Vec::new();
            nar.read_to_end(&mut buf)?;
            anyhow::ensure!(
                Hash::digest(Algo::Sha256, &buf) == info.nar_hash,
                "hash mismatch"
            );
            let mut paths = self.paths.lock().unwrap();
            for r in &info.references {
                anyhow::ensure!(
                    r == &info.path || paths.contains_key(r),
                    "reference {r} missing"
                );
            }
            paths.insert(info.path.clone(), (info.clone(), buf));
            Ok(())
        }
        fn add_multiple(
            &self,
            infos: &[PathInfo],
            write_nar: &mut dyn FnMut(&PathInfo, &mut dyn Write) -> anyhow::Result<()>,
            check: CheckSigs,
        ) -> anyhow::Result<bool> {
            let Some(batches) = &self.batches else {
                return Ok(false);
            };
            for info in infos {
                let mut nar = Vec::new();
                write_nar(info, &mut nar)?;
                self.add_nar(info, &mut &nar[..], check)?;
            }
            let paths = infos.iter().map(|i| i.path.clone()).collect();
            batches.lock().unwrap().push(paths);
            Ok(true)
        }
        fn parallel_requests(&self) -> usize {
            self.parallel
        }
    }

    #[test]
    fn copies_closures_references_first_and_skips_present_paths() {
        let src = Memory::new("local");
        let a = src.add_text("a", "x", &[]);
        let b = src.add_text("b", "refers to a", &[&a]);
        let c = src.add_text("c", "refers to a and b", &[&a, &b]);
        let d = src.add_text("d", "alone", &[]);
        let dst = Memory::new("file:///cache");
        let log = Collect::default();
        let roots = BTreeSet::from([c.clone(), d.clone()]);
        let copied = copy_closure(&src, &dst, &roots, CopyOptions::default(), &log).unwrap();
        assert_eq!(
            copied,
            BTreeSet::from([a.clone(), b.clone(), c.clone(), d.clone()])
        );
        let lines = log.lines();
        assert_eq!(lines[0], "copying 4 paths...");
        let pos = |p: &StorePath| {
            let needle = format!("copying path '/nix/store/{p}' to 'file:///cache'...");
            lines.iter().position(|l| *l == needle).unwrap()
        };
        assert!(pos(&a) < pos(&b) && pos(&b) < pos(&c));
        assert_eq!(dst.paths.lock().unwrap().len(), 4);

        // Everything is there now: nothing is copied or printed.
        let log = Collect::default();
        let copied = copy_closure(&src, &dst, &roots, CopyOptions::default(), &log).unwrap();
        assert!(copied.is_empty());
        assert!(log.lines().is_empty());
    }

    /// Records the byte progress of copies.
    #[derive(Default)]
    struct Bytes(Mutex<Vec<(u64, Option<u64>)>>);

    impl Reporter for Bytes {
        fn warn(&self, _: &str) {}
        fn notice(&self, _: &str) {}
        fn debug(&self, _: &str) {}
        fn progress_bytes(&self, _: &str, done: u64, total: Option<u64>) {
            self.0.lock().unwrap().push((done, total));
        }
    }

    #[test]
    fn reports_the_bytes_copied() {
        let src = Memory::new("local");
        let a = src.add_text("a", &"x".repeat(100_000), &[]);
        let b = src.add_text("b", "small", &[&a]);
        let dst = Memory::new("file:///cache");
        let bytes = Bytes::default();
        let roots = BTreeSet::from([b]);
        copy_closure(&src, &dst, &roots, CopyOptions::default(), &bytes).unwrap();
        let calls = bytes.0.lock().unwrap().clone();
        assert_eq!(calls.last(), Some(&(100_005, Some(100_005))), "{calls:?}");
        assert!(calls.len() > 1, "progress while copying: {calls:?}");
    }

    #[test]
    fn reports_a_failed_copy_and_names_the_path() {
        let src = Memory::new("file:///src");
        let a = src.add_text("a", "x", &[]);
        src.paths.lock().unwrap().get_mut(&a).unwrap().1 = b"tampered".to_vec();
        let dst = Memory::new("local");
        let log = Collect::default();
        let err = copy_paths(
            &src,
            &dst,
            &BTreeSet::from([a.clone()]),
            CopyOptions::default(),
            &log,
        )
        .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            format!("copying path '/nix/store/{a}' to 'local': hash mismatch")
        );
        assert_eq!(
            log.lines()[1],
            format!("copying path '/nix/store/{a}' from 'file:///src'...")
        );
        assert!(dst.paths.lock().unwrap().is_empty());
    }

    #[test]
    fn a_batching_destination_gets_one_request_references_first() {
        let src = Memory::new("local");
        let a = src.add_text("a", "x", &[]);
        let b = src.add_text("b", "refers to a", &[&a]);
        let c = src.add_text("c", "refers to b", &[&b]);
        let mut dst = Memory::new("daemon");
        dst.batches = Some(Mutex::new(Vec::new()));
        dst.add_text("a", "x", &[]);
        let log = Collect::default();
        let roots = BTreeSet::from([c.clone()]);
        let copied = copy_closure(&src, &dst, &roots, CopyOptions::default(), &log).unwrap();
        assert_eq!(copied, BTreeSet::from([b.clone(), c.clone()]));
        let batches = dst.batches.as_ref().unwrap().lock().unwrap().clone();
        assert_eq!(batches, [vec![b.clone(), c.clone()]]);
        assert_eq!(
            log.lines(),
            [
                "copying 2 paths...".to_owned(),
                format!("copying path '/nix/store/{b}' to 'daemon'..."),
                format!("copying path '/nix/store/{c}' to 'daemon'..."),
            ]
        );
    }

    #[test]
    fn a_big_level_is_split_over_parallel_requests() {
        let src = Memory::new("local");
        let base = src.add_text("base", "b", &[]);
        let many: Vec<StorePath> = (0..20)
            .map(|i| src.add_text(&format!("p{i}"), &format!("refers to base {i}"), &[&base]))
            .collect();
        let mut dst = Memory::new("daemon");
        dst.batches = Some(Mutex::new(Vec::new()));
        dst.parallel = 3;
        let roots: BTreeSet<StorePath> = many.iter().cloned().collect();
        let copied = copy_closure(
            &src,
            &dst,
            &roots,
            CopyOptions::default(),
            &Collect::default(),
        )
        .unwrap();
        assert_eq!(copied.len(), 21);
        let mut batches = dst.batches.as_ref().unwrap().lock().unwrap().clone();
        // The lone reference first, in a request of its own; then 20 paths over 3 requests.
        assert_eq!(batches.remove(0), [base]);
        let mut sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [6, 7, 7]);
        let sent: BTreeSet<StorePath> = batches.into_iter().flatten().collect();
        assert_eq!(sent, roots);

        // With `jobs` 1 the level stays one request.
        let mut dst = Memory::new("daemon");
        dst.batches = Some(Mutex::new(Vec::new()));
        dst.parallel = 3;
        let opts = CopyOptions {
            jobs: 1,
            ..CopyOptions::default()
        };
        copy_closure(&src, &dst, &roots, opts, &Collect::default()).unwrap();
        assert_eq!(dst.batches.as_ref().unwrap().lock().unwrap().len(), 1);
    }
}
