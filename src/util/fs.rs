//! File system wrappers whose errors name the path, and atomic file replacement.
//!
//! Every write of a user-visible file (registry, lock file) goes through [`write_atomic`]:
//! the new contents are written to a temporary file in the same directory and renamed over the
//! target, so a crash leaves either the old or the new file, never half of one.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// Returns the OS error text without Rust's " (os error N)" suffix, as `strerror` prints it.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// An I/O error together with the path and what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{action} \"{path}\": {msg}", msg = strerror(io))]
pub struct Error {
    /// What was being done, e.g. `reading file`.
    pub action: &'static str,
    /// The path concerned.
    pub path: PathBuf,
    /// The underlying error (its text is part of the message, so it is not a `source`).
    pub io: io::Error,
}

impl Error {
    fn new(action: &'static str, path: &Path, source: io::Error) -> Error {
        Error {
            action,
            path: path.to_owned(),
            io: source,
        }
    }

    /// Returns whether the underlying error is "not found".
    pub fn is_not_found(&self) -> bool {
        self.io.kind() == io::ErrorKind::NotFound
    }
}

/// Reads a whole file as bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::new("reading file", path, e))
}

/// Reads a whole file as bytes; `Ok(None)` if it does not exist.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new("reading file", path, e)),
    }
}

/// The file of a best-effort JSON cache entry: `<cache_home>/<dir>/<nix32 of SHA-256 of
/// key>.json` (the evaluation caches keep one file per key this way).
pub fn cache_file(cache_home: &Path, dir: &str, key: &str) -> PathBuf {
    use crate::hash::{Algo, Hash};
    let name = Hash::digest(Algo::Sha256, key.as_bytes()).to_nix32();
    cache_home.join(dir).join(format!("{name}.json"))
}

/// Creates a directory and its parents.
pub fn create_dir_all(path: &Path) -> Result<(), Error> {
    fs::create_dir_all(path).map_err(|e| Error::new("creating directory", path, e))
}

/// Replaces the file at `path` atomically with `contents`, creating parent directories.
///
/// A symlink at `path` is followed, so the link's target is replaced and the link is kept
/// (Nix writes through symlinked registry files).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let target = resolve_final_symlink(path);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dir_all(&dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.tmp-");
    reclaim_files_of_dead_processes(&dir, |n| {
        n.strip_prefix(&prefix)
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse().ok())
    });
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        // Locked while written, so that no other process reclaims it (see below).
        f.lock()?;
        f.write_all(contents)?;
        f.sync_all()?;
        if let Ok(meta) = fs::metadata(&target) {
            fs::set_permissions(&tmp, meta.permissions())?;
        }
        fs::rename(&tmp, &target)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::new("writing file", &target, e)
    })
}

/// Removes the temporary files in `dir` that processes which no longer exist left behind
/// (killed between creating and renaming them): those whose name `pid_of` maps to a pid. Used
/// for [`write_atomic`]'s `.<name>.tmp-<pid>` and binary caches' spool files. As with the
/// store's temporary directories (`store::local`'s `reclaim`), a file goes only if its process
/// does not exist (`kill(pid, 0)`; a reused pid keeps it for a while) and it can be locked
/// without waiting (its writer holds the lock, also from another pid namespace). Failures are
/// ignored.
pub fn reclaim_files_of_dead_processes(dir: &Path, pid_of: impl Fn(&str) -> Option<u32>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(&pid_of) else {
            continue;
        };
        if pid == me || super::process::exists(pid) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(f) = fs::File::open(&path) else {
            continue;
        };
        if f.try_lock().is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Removes the file, symlink or directory tree at `path`, making read-only directories (store
/// objects) writable first; a missing path is not an error.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    if meta.mode() & 0o700 != 0o700 {
        fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() | 0o700))?;
    }
    // Another thread may be deleting the same tree (the signal thread, see
    // `util::interrupt`): what is gone already is not an error.
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        match entry {
            Ok(entry) => remove_tree(&entry.path())?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    match fs::remove_dir(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Follows symlinks at `path` itself (not in its parents) to the file that should be replaced.
fn resolve_final_symlink(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::read_link(&p) {
            Ok(t) if t.is_absolute() => p = t,
            Ok(t) => p = p.parent().map(|d| d.join(&t)).unwrap_or(t),
            Err(_) => break,
        }
    }
    p
}

/// What resolving a path-like flake reference needs to know about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Whether it is a symbolic link.
    pub is_symlink: bool,
    /// The device it is on.
    pub dev: u64,
}

/// Read-only file system queries used to resolve path-like flake references
/// (`flakeref::local`), implemented by [`RealFs`] and faked by tests.
pub trait FsProbe {
    /// `lstat(2)`: information about `path` itself, not following a final symlink.
    fn lstat(&self, path: &Path) -> io::Result<Stat>;
    /// `readlink(2)`.
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    /// Whether `path` exists (without following a final symlink).
    fn exists(&self, path: &Path) -> bool {
        self.lstat(path).is_ok()
    }
}

/// The real file system, for resolving path-like flake references.
pub struct RealFs;

impl FsProbe for RealFs {
    fn lstat(&self, path: &Path) -> io::Result<Stat> {
        let m = fs::symlink_metadata(path)?;
        Ok(Stat {
            is_dir: m.is_dir(),
            is_symlink: m.file_type().is_symlink(),
            dev: m.dev(),
        })
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        fs::read_link(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_follows_symlink_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 2);
    }

    #[test]
    fn atomic_write_reclaims_the_temporaries_of_dead_writers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("registry.json");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let stale = dir.path().join(format!(".registry.json.tmp-{dead}"));
        let of_live = dir.path().join(format!(".registry.json.tmp-{}", live.id()));
        let other = dir.path().join(format!(".other.json.tmp-{dead}"));
        let odd = dir.path().join(format!(".registry.json.tmp-{dead}x"));
        for p in [&stale, &of_live, &other, &odd] {
            fs::write(p, b"half").unwrap();
        }
        write_atomic(&target, b"{}").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        assert!(!stale.exists());
        for kept in [&of_live, &other, &odd] {
            assert!(kept.exists(), "{}", kept.display());
        }
        live.kill().unwrap();
        live.wait().unwrap();
    }

    #[test]
    fn atomic_write_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.json");
        write_atomic(&p, b"x").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"x");
    }

    #[test]
    fn errors_name_the_path() {
        let e = read(Path::new("/nonexistent/x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "reading file \"/nonexistent/x\": No such file or directory"
        );
    }
}
