//! What an evaluation of a file read from the world, and a cache of file installables built
//! on it (beyond Nix: Nix's evaluation cache serves locked flakes only, so `nix build -f`
//! evaluates the file every time).
//!
//! While a [`Trace`] is on, the host records every observation the evaluator makes through
//! it: a file's contents (by SHA-256), a path's type, a symlink's target, a directory's
//! entries, and the store path a source was added as. An evaluation that did anything else
//! the world can change or see (read the environment or the clock, print a trace or a
//! warning, fetch, add a filtered path, build during evaluation, fail to read) is *tainted*
//! and never cached. An untainted evaluation is a pure function of its key (the command's
//! expression, file, attribute path, arguments, options, directory and rflake's version) and
//! of what it observed; when every observation still holds and the cached `.drv` is still
//! valid, the next `rflake build -f` of the same key reuses the `.drv` without evaluating.
//!
//! The cache is one JSON file per key in `~/.cache/nix/rflake-file-eval-cache-v1/`; a missing
//! or damaged file is a miss, writing it is best effort, and `eval-cache = false` turns it off.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::eval::io::{FileType, Io};
use crate::hash::{Algo, Hash};

/// Bumped whenever what is recorded or how the key is made changes.
const VERSION: u32 = 1;

/// One observation, keyed (in [`Trace`]) by its kind and path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    /// A file's contents, as SHA-256 in Nix32.
    File(String),
    /// A path's type following symlinks, or none.
    Type(Option<String>),
    /// A path's own type, or none.
    Lstat(Option<String>),
    /// A symlink's target.
    Link(String),
    /// A directory's entries and their types, sorted.
    Dir(Vec<(String, String)>),
    /// The store path the file or tree was added as, under a name.
    Added(String, String),
}

/// The observations of one evaluation, in the order first made.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// `(kind, path)` → what was seen.
    pub seen: BTreeMap<(u8, String), Seen>,
    /// Something was done that a replay could not reproduce.
    pub tainted: bool,
}

fn kind(s: &Seen) -> u8 {
    match s {
        Seen::File(_) => 0,
        Seen::Type(_) => 1,
        Seen::Lstat(_) => 2,
        Seen::Link(_) => 3,
        Seen::Dir(_) => 4,
        Seen::Added(..) => 5,
    }
}

/// The name recorded for a file type.
pub fn type_name(t: Option<FileType>) -> Option<String> {
    t.map(|t| t.name().to_owned())
}

impl Trace {
    /// Records `seen` at `path` (the first observation of a kind and path is kept: the
    /// world does not change during one evaluation as far as a replay can tell).
    pub fn record(&mut self, path: &str, seen: Seen) {
        self.seen
            .entry((kind(&seen), path.to_owned()))
            .or_insert(seen);
    }

    /// Whether every observation still holds, asked of `io` (which must not be tracing).
    pub fn holds(&self, io: &dyn Io) -> bool {
        self.seen.iter().all(|((_, path), seen)| match seen {
            Seen::File(h) => io
                .read_file(path)
                .is_ok_and(|b| Hash::digest(Algo::Sha256, &b).to_nix32() == *h),
            Seen::Type(t) => io.file_type(path).is_ok_and(|x| type_name(x) == *t),
            Seen::Lstat(t) => io.lstat_type(path).is_ok_and(|x| type_name(x) == *t),
            Seen::Link(t) => io.read_link(path).is_ok_and(|x| x == *t),
            Seen::Dir(d) => io.read_dir(path).is_ok_and(|x| dir_entries(x) == *d),
            Seen::Added(name, p) => io.add_path(path, name, true).is_ok_and(|x| x == *p),
        })
    }
}

/// A directory's entries as recorded: sorted, with their type names.
pub fn dir_entries(entries: Vec<(String, FileType)>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = entries
        .into_iter()
        .map(|(n, t)| (n, t.name().to_owned()))
        .collect();
    v.sort();
    v
}

/// What a file installable evaluated to, and what its evaluation observed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The derivation's `.drv` path, as printed.
    pub drv: String,
    /// The output the installable wants.
    pub output: String,
    /// The observations, as `(kind, path, seen)`.
    pub seen: Vec<(u8, String, Seen)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    key: String,
    entry: Entry,
}

/// Where the entry of `key` lives under `cache_home`.
fn file_of(cache_home: &Path, key: &str) -> PathBuf {
    crate::util::fs::cache_file(
        cache_home,
        &format!("rflake-file-eval-cache-v{VERSION}"),
        &format!("{VERSION}\0{key}"),
    )
}

/// The cached entry of `key`, if there is a readable one.
pub fn get(cache_home: &Path, key: &str) -> Option<Entry> {
    let bytes = std::fs::read(file_of(cache_home, key)).ok()?;
    let f: File = serde_json::from_slice(&bytes).ok()?;
    (f.version == VERSION && f.key == key).then_some(f.entry)
}

/// The observations of an entry as a trace.
pub fn trace_of(entry: &Entry) -> Trace {
    Trace {
        seen: entry
            .seen
            .iter()
            .map(|(k, p, s)| ((*k, p.clone()), s.clone()))
            .collect(),
        tainted: false,
    }
}

/// Caches what `key` evaluated to after observing `trace` (nothing for a tainted trace;
/// atomically; errors are ignored).
pub fn put(cache_home: &Path, key: &str, drv: &str, output: &str, trace: &Trace) {
    if trace.tainted {
        return;
    }
    let entry = Entry {
        drv: drv.to_owned(),
        output: output.to_owned(),
        seen: trace
            .seen
            .iter()
            .map(|((k, p), s)| (*k, p.clone(), s.clone()))
            .collect(),
    };
    let f = File {
        version: VERSION,
        key: key.to_owned(),
        entry,
    };
    let path = file_of(cache_home, key);
    if let (Some(dir), Ok(text)) = (path.parent(), serde_json::to_vec(&f)) {
        let _ = std::fs::create_dir_all(dir);
        let _ = crate::util::fs::write_atomic(&path, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::io::FileType;

    /// A world of files in a map.
    struct Files(std::cell::RefCell<BTreeMap<String, Vec<u8>>>);

    impl Io for Files {
        fn store_dir(&self) -> &str {
            "/nix/store"
        }
        fn read_file(&self, path: &str) -> Result<Vec<u8>, String> {
            self.0
                .borrow()
                .get(path)
                .cloned()
                .ok_or_else(|| "no".into())
        }
        fn file_type(&self, path: &str) -> Result<Option<FileType>, String> {
            Ok(self.0.borrow().get(path).map(|_| FileType::Regular))
        }
        fn lstat_type(&self, path: &str) -> Result<Option<FileType>, String> {
            self.file_type(path)
        }
        fn read_dir(&self, _: &str) -> Result<Vec<(String, FileType)>, String> {
            Ok(self
                .0
                .borrow()
                .keys()
                .map(|k| (k.clone(), FileType::Regular))
                .collect())
        }
        fn add_path(&self, path: &str, name: &str, _: bool) -> Result<String, String> {
            let b = self.read_file(path)?;
            Ok(format!("/nix/store/{}-{name}", b.len()))
        }
        fn add_text(&self, _: &str, _: &[u8], _: &[String], _: bool) -> Result<String, String> {
            Err("no".into())
        }
        fn get_env(&self, _: &str) -> Option<String> {
            None
        }
        fn home(&self) -> Option<String> {
            None
        }
        fn now(&self) -> i64 {
            0
        }
        fn message(&self, _: &str) {}
    }

    fn sha(b: &[u8]) -> String {
        Hash::digest(Algo::Sha256, b).to_nix32()
    }

    #[test]
    fn observations_hold_until_the_world_changes() {
        let io = Files(Default::default());
        io.0.borrow_mut().insert("/a.nix".into(), b"1".to_vec());
        let mut t = Trace::default();
        t.record("/a.nix", Seen::File(sha(b"1")));
        t.record("/a.nix", Seen::File(sha(b"ignored: the first is kept")));
        t.record("/b.nix", Seen::Type(None));
        t.record("/", Seen::Dir(vec![("/a.nix".into(), "regular".into())]));
        t.record("/a.nix", Seen::Added("a".into(), "/nix/store/1-a".into()));
        assert!(t.holds(&io));
        // Another file appears where none was.
        io.0.borrow_mut().insert("/b.nix".into(), b"2".to_vec());
        assert!(!t.holds(&io));
        io.0.borrow_mut().remove("/b.nix");
        assert!(t.holds(&io));
        // The file changes.
        io.0.borrow_mut().insert("/a.nix".into(), b"3".to_vec());
        assert!(!t.holds(&io));
    }

    #[test]
    fn entries_survive_a_save_and_tainted_or_damaged_ones_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Trace::default();
        t.record("/a.nix", Seen::File(sha(b"1")));
        put(dir.path(), "k", "/nix/store/x-a.drv", "out", &t);
        let e = get(dir.path(), "k").unwrap();
        assert_eq!(
            (e.drv.as_str(), e.output.as_str()),
            ("/nix/store/x-a.drv", "out")
        );
        assert_eq!(trace_of(&e).seen, t.seen);
        assert!(get(dir.path(), "other").is_none());
        t.tainted = true;
        put(dir.path(), "k2", "/nix/store/x-a.drv", "out", &t);
        assert!(get(dir.path(), "k2").is_none());
        std::fs::write(file_of(dir.path(), "k"), b"{ not json").unwrap();
        assert!(get(dir.path(), "k").is_none());
    }
}
