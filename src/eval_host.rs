//! The evaluator's world ([`crate::eval::io::Io`]) on this machine: files read from the file
//! system, paths and texts added to the local store (opened on first use, so an evaluation
//! that adds nothing never opens a store), the environment as the command line saw it.

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

use crate::eval::io::{FileType, Io};
use crate::hash::{Algo, Hash};
use crate::store::ca::{ContentAddress, Method};
use crate::store::local::LocalStore;
use crate::store::path::{StoreDir, StorePath};
use crate::store::path_info::PathInfo;

/// Opens the local store when it is first needed.
pub type Opener = Box<dyn Fn() -> anyhow::Result<LocalStore>>;

/// The world of an evaluation.
pub struct Host {
    store_dir: StoreDir,
    opener: Opener,
    store: OnceCell<Result<LocalStore, String>>,
    env: HashMap<String, String>,
    now: i64,
    sink: Box<dyn Fn(&str)>,
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
        }
    }

    fn store(&self) -> Result<&LocalStore, String> {
        self.store
            .get_or_init(|| (self.opener)().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn type_of(m: &std::fs::Metadata) -> FileType {
    let t = m.file_type();
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
        std::fs::read(path).map_err(|e| io_msg("opening file", path, &e))
    }

    fn file_type(&self, path: &str) -> Result<Option<FileType>, String> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(type_of(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_msg("getting status of", path, &e)),
        }
    }

    fn lstat_type(&self, path: &str) -> Result<Option<FileType>, String> {
        match std::fs::symlink_metadata(path) {
            Ok(m) => Ok(Some(type_of(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_msg("getting status of", path, &e)),
        }
    }

    fn read_dir(&self, path: &str) -> Result<Vec<(String, FileType)>, String> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(path).map_err(|e| io_msg("opening directory", path, &e))?;
        for entry in rd {
            let entry = entry.map_err(|e| io_msg("reading directory", path, &e))?;
            let t = entry
                .file_type()
                .map(|t| {
                    if t.is_file() {
                        FileType::Regular
                    } else if t.is_dir() {
                        FileType::Directory
                    } else if t.is_symlink() {
                        FileType::Symlink
                    } else {
                        FileType::Unknown
                    }
                })
                .unwrap_or(FileType::Unknown);
            out.push((entry.file_name().to_string_lossy().into_owned(), t));
        }
        Ok(out)
    }

    fn add_path(&self, path: &str, name: &str, dry: bool) -> Result<String, String> {
        if dry {
            let (hash, _) =
                crate::store::nar::hash_path(Path::new(path)).map_err(|e| format!("{e}"))?;
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
            .add_tree(name, Path::new(path))
            .map_err(|e| format!("{e}"))?;
        Ok(self.store_dir.print(&p))
    }

    fn add_text(
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

    fn get_env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn home(&self) -> Option<String> {
        self.env.get("HOME").cloned()
    }

    fn now(&self) -> i64 {
        self.now
    }

    fn message(&self, line: &str) {
        (self.sink)(line)
    }
}
