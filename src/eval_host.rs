//! The evaluator's world ([`crate::eval::io::Io`]) on this machine: files read from the file
//! system, paths and texts added to the local store (opened on first use, so an evaluation
//! that adds nothing never opens a store), the environment as the command line saw it, and
//! (with [`Flakes`]) trees and flakes fetched through a [`Session`].
//!
//! In pure evaluation, only allowed paths can be read (Nix's allow-listed store accessor):
//! the trees this host fetched, the root flake's tree and what the evaluation added to the
//! store.
//!
//! # Deviations
//!
//! - In pure evaluation Nix sees only the store; rflake also reads allowed paths that are not
//!   in it (none are allowed today).

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::io::Read;

use crate::eval::io::{AddPath, FetchedTree, FileType, Io, PathFilter, UrlFetch};
use crate::eval::value::Value;
use crate::eval_trace::{Seen, Trace, dir_entries, type_name};
use crate::flake::session::Session;
use crate::flakeref::Input;
use crate::hash::{Algo, Hash};
use crate::registry::Registry;
use crate::store::ca::{ContentAddress, Method};
use crate::store::local::LocalStore;
use crate::store::path::{StoreDir, StorePath};
use crate::store::path_info::PathInfo;

/// Opens the local store when it is first needed.
pub type Opener = Box<dyn Fn() -> anyhow::Result<LocalStore>>;

/// Builds wanted outputs in a store for import from derivation (the command line prints the
/// progress); the error is the message to show.
pub type Realiser = Box<dyn Fn(&LocalStore, &[crate::build::goal::Wanted]) -> Result<(), String>>;

/// The world of an evaluation.
pub struct Host {
    store_dir: StoreDir,
    opener: Opener,
    store: OnceCell<Result<LocalStore, String>>,
    env: HashMap<String, String>,
    now: i64,
    sink: Box<dyn Fn(&str)>,
    flakes: Option<Flakes>,
    /// The directory a chroot store (`--store DIR`) keeps its store directory under.
    store_root: Option<std::path::PathBuf>,
    /// Pure evaluation: only the paths in `allowed` (and below them) can be read.
    pure: bool,
    allowed: RefCell<Vec<String>>,
    /// `allow-import-from-derivation`, and how to build (none: building is refused).
    ifd: (bool, Option<Realiser>),
    /// The observations being recorded, when tracing ([`crate::eval_trace`]).
    trace: RefCell<Option<Trace>>,
}

/// What a host needs to fetch trees and flakes.
pub struct Flakes {
    /// The session fetchers and locking use (it owns its reporter).
    pub session: Session<'static>,
    /// The `--override-flake` entries.
    pub flag_registry: Registry,
}

impl Host {
    /// A host over the store `opener` opens, with the environment `env` and the time `now`.
    /// Messages (`trace`) go to `sink`.
    pub fn new(
        store_dir: &str,
        opener: Opener,
        env: HashMap<String, String>,
        now: i64,
        sink: Box<dyn Fn(&str)>,
    ) -> Host {
        Host {
            store_dir: StoreDir::new(store_dir),
            opener,
            store: OnceCell::new(),
            env,
            now,
            sink,
            flakes: None,
            store_root: None,
            pure: false,
            allowed: RefCell::new(Vec::new()),
            ifd: (true, None),
            trace: RefCell::new(None),
        }
    }

    /// The host, building what an evaluation reads with `realiser` when `allow` (the setting
    /// `allow-import-from-derivation`; Nix's message when it is off).
    pub fn with_import_from_derivation(mut self, allow: bool, realiser: Realiser) -> Host {
        self.ifd = (allow, Some(realiser));
        self
    }

    /// The host, able to fetch trees and flakes through `flakes`.
    pub fn with_flakes(mut self, flakes: Flakes) -> Host {
        self.flakes = Some(flakes);
        self
    }

    /// The host, reading store paths under `root` (a chroot store's directory).
    pub fn with_store_root(mut self, root: Option<std::path::PathBuf>) -> Host {
        self.store_root = root;
        self
    }

    /// Where a path's file is on this machine: a store path of a chroot store under its root.
    fn real(&self, path: &str) -> std::path::PathBuf {
        match &self.store_root {
            Some(root) if path.starts_with(self.store_dir.as_str()) => {
                root.join(path.trim_start_matches('/'))
            }
            _ => std::path::PathBuf::from(path),
        }
    }

    /// The host, restricting reads to allowed paths when `pure`.
    pub fn with_purity(mut self, pure: bool) -> Host {
        self.pure = pure;
        self
    }

    /// Allows reading `path` and everything below it in pure evaluation.
    pub fn allow(&self, path: &str) {
        self.allowed
            .borrow_mut()
            .push(path.trim_end_matches('/').to_owned());
    }

    /// The session, when this host fetches.
    pub fn flakes(&self) -> Option<&Flakes> {
        self.flakes.as_ref()
    }

    /// Refuses a path outside the allowed ones in pure evaluation.
    fn check(&self, path: &str) -> Result<(), String> {
        if !self.pure {
            return Ok(());
        }
        let ok = self.allowed.borrow().iter().any(|a| {
            path == a
                || (path.starts_with(a.as_str()) && path.as_bytes().get(a.len()) == Some(&b'/'))
        });
        if ok {
            Ok(())
        } else {
            Err(format!(
                "access to absolute path '{path}' is forbidden in pure evaluation mode (use '--impure' to override)"
            ))
        }
    }

    fn flakes_or_err(&self) -> Result<&Flakes, String> {
        self.flakes
            .as_ref()
            .ok_or_else(|| "fetching is not available in this evaluation".to_owned())
    }

    fn store(&self) -> Result<&LocalStore, String> {
        self.store
            .get_or_init(|| (self.opener)().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Starts recording what the evaluation observes (anew).
    pub fn start_trace(&self) {
        *self.trace.borrow_mut() = Some(Trace::default());
    }

    /// Stops recording: what was observed, if tracing.
    pub fn take_trace(&self) -> Option<Trace> {
        self.trace.borrow_mut().take()
    }

    /// Goes on recording into `trace`.
    pub fn resume_trace(&self, trace: Trace) {
        *self.trace.borrow_mut() = Some(trace);
    }

    /// Records what `seen` gives at `path` when tracing (it is not called otherwise), or
    /// taints the trace when it gives `None`.
    fn note(&self, path: &str, seen: impl FnOnce() -> Option<Seen>) {
        if let Some(t) = self.trace.borrow_mut().as_mut() {
            match seen() {
                Some(s) => t.record(path, s),
                None => t.tainted = true,
            }
        }
    }

    /// Taints the trace (the evaluation did what a replay cannot reproduce).
    fn taint(&self) {
        self.note("", || None);
    }

    /// Whether the printed store path is valid in the evaluation's store.
    pub fn is_valid(&self, printed: &str) -> bool {
        let Ok(store) = self.store() else {
            return false;
        };
        self.store_dir
            .parse(printed)
            .is_ok_and(|p| store.is_valid_path(&p).unwrap_or(false))
    }

    /// The store the evaluation opened, if it opened one (so a command that goes on to build
    /// does not open it a second time).
    pub fn into_store(self) -> Option<LocalStore> {
        self.store.into_inner().and_then(Result::ok)
    }
}

fn type_of(m: &std::fs::Metadata) -> FileType {
    kind_of(m.file_type())
}

fn kind_of(t: std::fs::FileType) -> FileType {
    if t.is_file() {
        FileType::Regular
    } else if t.is_dir() {
        FileType::Directory
    } else if t.is_symlink() {
        FileType::Symlink
    } else {
        FileType::Unknown
    }
}

fn io_msg(what: &str, path: &str, e: &std::io::Error) -> String {
    format!("{what} '{path}': {}", crate::util::fs::strerror(e))
}

/// The NAR of one regular file holding `bytes`.
pub fn flat_nar(bytes: &[u8]) -> Vec<u8> {
    fn s(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        out.extend_from_slice(b);
        out.resize(out.len() + (8 - b.len() % 8) % 8, 0);
    }
    let mut out = Vec::with_capacity(bytes.len() + 128);
    for t in [
        &b"nix-archive-1"[..],
        b"(",
        b"type",
        b"regular",
        b"contents",
    ] {
        s(&mut out, t);
    }
    s(&mut out, bytes);
    s(&mut out, b")");
    out
}

impl Io for Host {
    fn store_dir(&self) -> &str {
        self.store_dir.as_str()
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, String> {
        self.check(path)?;
        let r = std::fs::read(self.real(path)).map_err(|e| io_msg("opening file", path, &e));
        self.note(path, || {
            let b = r.as_ref().ok()?;
            Some(Seen::File(Hash::digest(Algo::Sha256, b).to_nix32()))
        });
        r
    }

    fn file_type(&self, path: &str) -> Result<Option<FileType>, String> {
        self.check(path)?;
        let r = match std::fs::metadata(self.real(path)) {
            Ok(m) => Ok(Some(type_of(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_msg("getting status of", path, &e)),
        };
        self.note(path, || r.as_ref().ok().map(|t| Seen::Type(type_name(*t))));
        r
    }

    fn lstat_type(&self, path: &str) -> Result<Option<FileType>, String> {
        self.check(path)?;
        let r = match std::fs::symlink_metadata(self.real(path)) {
            Ok(m) => Ok(Some(type_of(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_msg("getting status of", path, &e)),
        };
        self.note(path, || r.as_ref().ok().map(|t| Seen::Lstat(type_name(*t))));
        r
    }

    fn read_link(&self, path: &str) -> Result<String, String> {
        self.check(path)?;
        let r = std::fs::read_link(self.real(path))
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(|e| io_msg("reading symbolic link", path, &e));
        self.note(path, || r.as_ref().ok().map(|t| Seen::Link(t.clone())));
        r
    }

    fn read_dir(&self, path: &str) -> Result<Vec<(String, FileType)>, String> {
        self.check(path)?;
        let r = self.read_dir_untraced(path);
        self.note(path, || {
            r.as_ref().ok().map(|d| Seen::Dir(dir_entries(d.clone())))
        });
        r
    }

    fn add_path(&self, path: &str, name: &str, dry: bool) -> Result<String, String> {
        self.check(path)?;
        let added = self.add_path_unchecked(path, name, dry);
        self.note(path, || {
            let p = added.as_ref().ok()?;
            Some(Seen::Added(name.to_owned(), p.clone()))
        });
        let added = added?;
        self.allow(&added);
        Ok(added)
    }

    fn add_text(
        &self,
        name: &str,
        text: &[u8],
        refs: &[String],
        dry: bool,
    ) -> Result<String, String> {
        let added = self.add_text_unchecked(name, text, refs, dry)?;
        self.allow(&added);
        Ok(added)
    }

    fn add_path_filtered(
        &self,
        req: &AddPath<'_>,
        filter: Option<PathFilter<'_>>,
    ) -> Result<String, String> {
        self.check(req.path)?;
        self.taint();
        let added = self.add_filtered_unchecked(req, filter)?;
        self.allow(&added);
        Ok(added)
    }

    fn get_env(&self, name: &str) -> Option<String> {
        self.taint();
        self.env.get(name).cloned()
    }

    fn home(&self) -> Option<String> {
        self.taint();
        self.env.get("HOME").cloned()
    }

    fn now(&self) -> i64 {
        self.taint();
        self.now
    }

    fn message(&self, line: &str) {
        self.taint();
        (self.sink)(line)
    }

    fn realise(&self, outputs: &[(String, String)]) -> Result<(), String> {
        use crate::build::goal::{Outputs, Wanted};
        let Some((first, _)) = outputs.first() else {
            return Ok(());
        };
        self.taint();
        if !self.ifd.0 {
            return Err(format!(
                "cannot build '{first}' during evaluation because the option 'allow-import-from-derivation' is disabled"
            ));
        }
        let Some(realiser) = &self.ifd.1 else {
            return Err(format!(
                "cannot build '{first}' during evaluation: building is not available here"
            ));
        };
        let mut by_drv: std::collections::BTreeMap<StorePath, BTreeSet<String>> =
            std::collections::BTreeMap::new();
        for (drv, output) in outputs {
            let p = self.store_dir.parse(drv).map_err(|e| format!("{e}"))?;
            by_drv.entry(p).or_default().insert(output.clone());
        }
        let store = self.store()?;
        let mut readable = Vec::new();
        for (drv, names) in &by_drv {
            let d = crate::build::goal::read_derivation(store, drv).map_err(|e| e.to_string())?;
            for n in names {
                if let Some(p) = d.outputs.get(n).and_then(|o| o.path()) {
                    readable.push(self.store_dir.print(p));
                }
            }
        }
        let wanted: Vec<Wanted> = by_drv
            .into_iter()
            .map(|(drv, names)| Wanted {
                drv,
                outputs: Outputs::Names(names),
            })
            .collect();
        realiser(store, &wanted)?;
        // What was built may be read in pure evaluation (Nix allows the realised paths).
        for p in readable {
            self.allow(&p);
        }
        Ok(())
    }

    fn fetch_tree(&self, input: &Input, is_final: bool) -> Result<FetchedTree, String> {
        self.taint();
        let flakes = self.flakes_or_err()?;
        let tree = crate::flake::builtins::fetch_tree(
            &flakes.session,
            &flakes.flag_registry,
            input,
            is_final,
            self.pure,
        )
        .map_err(|e| e.root_cause().to_string())?;
        self.allow(&tree.path);
        Ok(tree)
    }

    fn fetch_url(&self, req: &UrlFetch<'_>) -> Result<String, String> {
        self.taint();
        let flakes = self.flakes_or_err()?;
        let path = crate::flake::builtins::fetch_url(&flakes.session, req)
            .map_err(|e| e.root_cause().to_string())?;
        self.allow(&path);
        Ok(path)
    }

    fn get_flake(&self, flake_ref: &str, is_path: bool) -> Result<Value, String> {
        self.taint();
        let flakes = self.flakes_or_err()?;
        let (value, root) = crate::flake::builtins::get_flake(
            &flakes.session,
            &flakes.flag_registry,
            flake_ref,
            is_path,
        )
        .map_err(|e| format!("{e:#}"))?;
        self.allow(&root);
        Ok(value)
    }
}

impl Host {
    fn read_dir_untraced(&self, path: &str) -> Result<Vec<(String, FileType)>, String> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(self.real(path))
            .map_err(|e| io_msg("opening directory", path, &e))?;
        for entry in rd {
            let entry = entry.map_err(|e| io_msg("reading directory", path, &e))?;
            let t = entry.file_type().map_or(FileType::Unknown, kind_of);
            out.push((entry.file_name().to_string_lossy().into_owned(), t));
        }
        Ok(out)
    }

    fn add_path_unchecked(&self, path: &str, name: &str, dry: bool) -> Result<String, String> {
        if dry {
            let (hash, _) =
                crate::store::nar::hash_path(&self.real(path)).map_err(|e| format!("{e}"))?;
            let p = self
                .store_dir
                .make_source_path(
                    &hash,
                    name,
                    &crate::store::path::References {
                        others: Vec::new(),
                        self_ref: false,
                    },
                )
                .map_err(|e| format!("{e}"))?;
            return Ok(self.store_dir.print(&p));
        }
        let store = self.store()?;
        let (p, _) = store
            .add_tree(name, &self.real(path))
            .map_err(|e| format!("{e}"))?;
        Ok(self.store_dir.print(&p))
    }

    fn add_filtered_unchecked(
        &self,
        req: &AddPath<'_>,
        mut filter: Option<PathFilter<'_>>,
    ) -> Result<String, String> {
        use crate::store::nar::{FilterError, Kind, dump_filtered};
        let fixed_path = |hash: &Hash| {
            self.store_dir
                .make_fixed_output_path(req.recursive, hash, req.name, &Default::default())
                .map_err(|e| format!("{e}"))
        };
        let expected = req.expected.map(fixed_path).transpose()?;
        if let Some(p) = &expected
            && !req.dry
            && self.store()?.is_valid_path(p).map_err(|e| format!("{e}"))?
        {
            return Ok(self.store_dir.print(p));
        }
        // The path with its symlinks resolved is what is read.
        let real = self.real(req.path);
        let real = std::fs::canonicalize(&real).unwrap_or(real);
        let (nar, hash) = if req.recursive {
            let mut nar = Vec::new();
            let mut keep = |p: &std::path::Path, k: Kind| -> Result<bool, String> {
                let Some(f) = filter.as_mut() else {
                    return Ok(true);
                };
                let below = p.strip_prefix(&real).unwrap_or(p);
                let shown = format!("{}/{}", req.path.trim_end_matches('/'), below.display());
                let t = match k {
                    Kind::Regular => FileType::Regular,
                    Kind::Directory => FileType::Directory,
                    Kind::Symlink => FileType::Symlink,
                    Kind::Unknown => FileType::Unknown,
                };
                f(&shown, t)
            };
            dump_filtered(&real, &mut keep, &mut nar).map_err(|e| match e {
                FilterError::Dump(e) => e.to_string(),
                FilterError::Filter(e) => e,
            })?;
            let hash = Hash::digest(Algo::Sha256, &nar);
            (nar, hash)
        } else {
            let data = match std::fs::symlink_metadata(&real) {
                Ok(m) if m.is_file() => {
                    std::fs::read(&real).map_err(|e| io_msg("opening file", req.path, &e))?
                }
                Ok(_) => return Err(format!("file '{}' has an unsupported type", req.path)),
                Err(e) => return Err(io_msg("getting status of", req.path, &e)),
            };
            (flat_nar(&data), Hash::digest(Algo::Sha256, &data))
        };
        let path = fixed_path(&hash)?;
        if expected.as_ref().is_some_and(|e| *e != path) {
            return Err(format!(
                "store path mismatch in (possibly filtered) path added from '{}'",
                req.path
            ));
        }
        let printed = self.store_dir.print(&path);
        if req.dry {
            return Ok(printed);
        }
        let store = self.store()?;
        if store.is_valid_path(&path).map_err(|e| format!("{e}"))? {
            return Ok(printed);
        }
        let info = PathInfo {
            path: path.clone(),
            nar_hash: Hash::digest(Algo::Sha256, &nar),
            nar_size: nar.len() as u64,
            references: BTreeSet::new(),
            deriver: None,
            registration_time: 0,
            ultimate: true,
            sigs: BTreeSet::new(),
            ca: Some(ContentAddress {
                method: if req.recursive {
                    Method::Recursive
                } else {
                    Method::Flat
                },
                hash,
            }),
        };
        let mut reader: &[u8] = &nar;
        let r: &mut dyn Read = &mut reader;
        store
            .add_nars(vec![(info, r)], crate::store::CheckSigs::NoCheck)
            .map_err(|e| format!("{e}"))?;
        Ok(printed)
    }

    fn add_text_unchecked(
        &self,
        name: &str,
        text: &[u8],
        refs: &[String],
        dry: bool,
    ) -> Result<String, String> {
        let mut parsed: Vec<StorePath> = Vec::new();
        for r in refs {
            parsed.push(self.store_dir.parse(r).map_err(|e| format!("{e}"))?);
        }
        let hash = Hash::digest(Algo::Sha256, text);
        let ref_list: Vec<&StorePath> = parsed.iter().collect();
        let path = self
            .store_dir
            .make_text_path(&hash, name, &ref_list)
            .map_err(|e| format!("{e}"))?;
        let printed = self.store_dir.print(&path);
        if dry {
            return Ok(printed);
        }
        let store = self.store()?;
        if store.is_valid_path(&path).map_err(|e| format!("{e}"))? {
            return Ok(printed);
        }
        let nar = flat_nar(text);
        let info = PathInfo {
            path: path.clone(),
            nar_hash: Hash::digest(Algo::Sha256, &nar),
            nar_size: nar.len() as u64,
            references: parsed.into_iter().collect::<BTreeSet<_>>(),
            deriver: None,
            registration_time: 0,
            ultimate: true,
            sigs: BTreeSet::new(),
            ca: Some(ContentAddress {
                method: Method::Text,
                hash,
            }),
        };
        let mut reader: &[u8] = &nar;
        let r: &mut dyn Read = &mut reader;
        store
            .add_nars(vec![(info, r)], crate::store::CheckSigs::NoCheck)
            .map_err(|e| format!("{e}"))?;
        Ok(printed)
    }
}
