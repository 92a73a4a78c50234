//! `file://DIR` binary caches: the cache is a directory (Nix's
//! `src/libstore/local-binary-cache-store.cc`).
//!
//! Opening creates `nar/`, `log/` and `build-trace-v2/`. Files are written to
//! `<file>.tmp.<pid>.<counter>` and renamed into place; NAR files are compressed straight into
//! a spool file in `nar/` and renamed once their hash (hence their name) is known. The first
//! write of a process removes the temporaries that killed processes left (see
//! `util::fs::reclaim_files_of_dead_processes`).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::Error;
use super::backend::{self, Backend, Spool};
use crate::util::fs::{self as ufs, Error as FsError};

/// A binary cache in a local directory.
#[derive(Debug)]
pub struct FileBackend {
    root: PathBuf,
    /// Whether the spool files of dead processes were reclaimed (at the first spool).
    reclaimed: std::sync::Once,
}

impl FileBackend {
    /// Returns the cache in `root` (nothing is touched until [`Backend::init`]).
    pub fn new(root: impl Into<PathBuf>) -> FileBackend {
        FileBackend {
            root: root.into(),
            reclaimed: std::sync::Once::new(),
        }
    }

    /// Returns the cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes, once per process at its first write, the temporaries killed processes left:
    /// `<file>.tmp.<pid>.<n>` in the cache (a `.narinfo` being written) and in `nar/` (a NAR
    /// being spooled, `spool.tmp.<pid>.<n>`).
    fn reclaim(&self) {
        self.reclaimed.call_once(|| {
            for dir in [self.root.clone(), self.root.join("nar")] {
                ufs::reclaim_files_of_dead_processes(&dir, tmp_pid);
            }
        });
    }

    /// Resolves `key` inside the cache, refusing keys that could leave it (a `.narinfo`'s
    /// `URL` is read from the cache itself): Nix's `checkBinaryCachePath`.
    fn resolve(&self, key: &str) -> Result<PathBuf, Error> {
        let bad = |reason| Error::BadKey {
            key: key.to_owned(),
            reason,
        };
        if key.is_empty() {
            return Err(bad("must not be empty"));
        }
        if key.contains('\0') {
            return Err(bad("must not contain NUL"));
        }
        let p = Path::new(key);
        if p.is_absolute() {
            return Err(bad("must not be absolute"));
        }
        if key.split('/').any(|seg| seg == "." || seg == "..")
            || p.components().any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(bad("must not contain '..' or '.' segments"));
        }
        Ok(self.root.join(p))
    }
}

/// Returns the pid of a temporary's name `<file>.tmp.<pid>.<n>` (both decimal numbers).
fn tmp_pid(name: &str) -> Option<u32> {
    let (rest, n) = name.rsplit_once('.')?;
    let (rest, pid) = rest.rsplit_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (rest.ends_with(".tmp") && digits(pid) && digits(n)).then(|| pid.parse().ok())?
}

impl Backend for FileBackend {
    fn uri(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn init(&self) -> anyhow::Result<()> {
        for dir in ["nar", "log", "build-trace-v2"] {
            ufs::create_dir_all(&self.root.join(dir))?;
        }
        Ok(())
    }

    fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let path = self.resolve(key)?;
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(io) => Err(FsError {
                action: "getting status of",
                path,
                io,
            }
            .into()),
        }
    }

    fn get(&self, key: &str) -> anyhow::Result<Option<Box<dyn Read + '_>>> {
        let path = self.resolve(key)?;
        match File::open(&path) {
            Ok(f) => Ok(Some(Box::new(io::BufReader::new(f)))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(io) => Err(FsError {
                action: "opening file",
                path,
                io,
            }
            .into()),
        }
    }

    fn put(&self, key: &str, data: &[u8], _content_type: &str) -> anyhow::Result<()> {
        let path = self.resolve(key)?;
        self.reclaim();
        backend::write_atomic(&path, data)?;
        Ok(())
    }

    fn spool(&self) -> anyhow::Result<Spool> {
        // In `nar/`, where NAR files end up, so that persisting is a rename.
        let dir = self.root.join("nar");
        ufs::create_dir_all(&dir)?;
        self.reclaim();
        Ok(Spool::file(
            dir.join(format!("spool.tmp.{}", backend::tmp_suffix())),
        )?)
    }

    fn put_spool(&self, key: &str, spool: Spool, _content_type: &str) -> anyhow::Result<()> {
        let path = self.resolve(key)?;
        if let Some(parent) = path.parent() {
            ufs::create_dir_all(parent)?;
        }
        spool.persist(&path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_cache() {
        let b = FileBackend::new("/c");
        for ok in ["nix-cache-info", "nar/x.nar.xz", "a/b/c"] {
            assert_eq!(b.resolve(ok).unwrap(), Path::new("/c").join(ok), "{ok}");
        }
        let cases = [
            ("", "must not be empty"),
            ("/etc/passwd", "must not be absolute"),
            ("../x", "must not contain '..' or '.' segments"),
            ("nar/../../x", "must not contain '..' or '.' segments"),
            ("./x", "must not contain '..' or '.' segments"),
            ("a\0b", "must not contain NUL"),
        ];
        for (key, reason) in cases {
            let e = b.resolve(key).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("local binary cache path '{key}' {reason}"),
                "{key:?}"
            );
        }
    }

    #[test]
    fn spool_files_of_dead_processes_are_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let nar = dir.path().join("nar");
        fs::create_dir(&nar).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let stale = nar.join(format!("spool.tmp.{dead}.3"));
        let of_live = nar.join(format!("spool.tmp.{}.1", live.id()));
        let other = nar.join(format!("{dead}.nar.xz"));
        for p in [&stale, &of_live, &other] {
            fs::write(p, b"x").unwrap();
        }
        let b = FileBackend::new(dir.path());
        let spool = b.spool().unwrap();
        assert!(!stale.exists());
        assert!(of_live.exists());
        assert!(other.exists());
        drop(spool);
        live.kill().unwrap();
        live.wait().unwrap();
    }

    #[test]
    fn narinfo_temporaries_of_dead_processes_are_reclaimed_at_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!("abc.narinfo.tmp.{dead}.9"));
        let mine = dir
            .path()
            .join(format!("abc.narinfo.tmp.{}.9", std::process::id()));
        let odd = dir.path().join(format!("abc.narinfo.tmp.{dead}x.9"));
        for p in [&stale, &mine, &odd] {
            fs::write(p, b"x").unwrap();
        }
        let b = FileBackend::new(dir.path());
        b.put("nix-cache-info", b"StoreDir: /nix/store\n", "text/plain")
            .unwrap();
        assert!(!stale.exists());
        assert!(mine.exists() && odd.exists());
        assert_eq!(tmp_pid("x.narinfo.tmp.12.3"), Some(12));
        assert_eq!(tmp_pid("spool.tmp.12.3"), Some(12));
        assert_eq!(tmp_pid("x.narinfo.12.3"), None);
    }
}
