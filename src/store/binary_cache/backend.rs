//! What a binary cache store needs from where its files live: get, test, put by relative key
//! (Nix's `BinaryCacheStore::getFile`/`fileExists`/`upsertFile`), plus spools for NAR files
//! whose name is known only once they are written.

use std::fs::{self, File};
use std::io::{self, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::util::fs::Error as FsError;

/// The files of a binary cache, addressed by keys relative to the cache (`nix-cache-info`,
/// `<hash>.narinfo`, `nar/<hash>.nar.xz`).
pub trait Backend: Send + Sync {
    /// Returns the cache's URI without parameters, as Nix prints it.
    fn uri(&self) -> String;

    /// Prepares the cache when it is opened (a directory cache creates its subdirectories).
    fn init(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Returns whether `key` exists.
    fn exists(&self, key: &str) -> anyhow::Result<bool>;

    /// Returns a reader of `key`'s contents, or `None` if it does not exist.
    fn get(&self, key: &str) -> anyhow::Result<Option<Box<dyn Read + '_>>>;

    /// Returns `nix-cache-info`, or `None` if it does not exist.
    fn get_cache_info(&self) -> anyhow::Result<Option<Vec<u8>>> {
        read_all(self.get(super::CACHE_INFO)?).map_err(Into::into)
    }

    /// Creates or replaces `key` with `data` atomically.
    fn put(&self, key: &str, data: &[u8], content_type: &str) -> anyhow::Result<()>;

    /// Returns an empty spool to write a file into before its key is known.
    fn spool(&self) -> anyhow::Result<Spool>;

    /// Creates or replaces `key` with the contents of `spool` atomically.
    fn put_spool(&self, key: &str, spool: Spool, content_type: &str) -> anyhow::Result<()>;
}

/// Reads an optional reader to the end.
pub(super) fn read_all(r: Option<Box<dyn Read + '_>>) -> io::Result<Option<Vec<u8>>> {
    let Some(mut r) = r else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)?;
    Ok(Some(buf))
}

/// Returns a process-unique suffix `<pid>.<counter>` for temporary files (Nix's
/// `<file>.tmp.<pid>.<counter>`).
pub(super) fn tmp_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{}.{n}", std::process::id())
}

/// A file being written: in memory or in a temporary file that is removed unless it is
/// persisted.
pub struct Spool {
    inner: SpoolInner,
    len: u64,
    // A spool file is listed for the signal thread until the spool is dropped.
    _listed: Option<crate::util::interrupt::TempGuard>,
}

enum SpoolInner {
    Memory(Vec<u8>),
    File {
        file: Option<BufWriter<File>>,
        path: PathBuf,
    },
}

impl Spool {
    /// Returns a spool that keeps the data in memory.
    pub fn memory() -> Spool {
        Spool {
            inner: SpoolInner::Memory(Vec::new()),
            len: 0,
            _listed: None,
        }
    }

    /// Returns a spool backed by a new file `path` (which must not exist).
    pub fn file(path: PathBuf) -> Result<Spool, FsError> {
        let file = File::options()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&path)
            .map_err(|io| FsError {
                action: "creating file",
                path: path.clone(),
                io,
            })?;
        // Locked while it lives, so that no other process reclaims it.
        file.lock().map_err(|io| FsError {
            action: "acquiring lock",
            path: path.clone(),
            io,
        })?;
        let listed = Some(crate::util::interrupt::TempGuard::new(&path));
        Ok(Spool {
            inner: SpoolInner::File {
                file: Some(BufWriter::new(file)),
                path,
            },
            len: 0,
            _listed: listed,
        })
    }

    /// Returns the number of bytes written.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Returns whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Moves the spooled file to `dest` (same file system), or writes the memory contents
    /// there through a temporary file; either way atomically.
    pub fn persist(mut self, dest: &Path) -> Result<(), FsError> {
        fn err<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> FsError + 'p {
            move |io| FsError {
                action,
                path: path.to_owned(),
                io,
            }
        }
        match &mut self.inner {
            SpoolInner::Memory(data) => write_atomic(dest, data),
            SpoolInner::File { file, path } => {
                if let Some(f) = file.take() {
                    let f = f.into_inner().map_err(|e| e.into_error());
                    f.and_then(|f| f.sync_all())
                        .map_err(err("writing file", path))?;
                }
                fs::rename(&*path, dest).map_err(err("renaming file to", dest))?;
                // Renamed: nothing left to remove on drop.
                path.clear();
                Ok(())
            }
        }
    }

    /// Returns a reader of the spooled bytes from the start.
    pub fn into_reader(mut self) -> io::Result<Box<dyn Read + Send>> {
        match &mut self.inner {
            SpoolInner::Memory(data) => Ok(Box::new(Cursor::new(std::mem::take(data)))),
            SpoolInner::File { file, path } => {
                if let Some(f) = file.take() {
                    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                }
                // Opened anew; the file is removed when `self` drops, which Unix allows while
                // it is open.
                Ok(Box::new(File::open(&*path)?))
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            SpoolInner::Memory(data) => {
                data.extend_from_slice(buf);
                buf.len()
            }
            SpoolInner::File { file: Some(f), .. } => f.write(buf)?,
            SpoolInner::File { file: None, .. } => {
                return Err(io::Error::other("spool already finished"));
            }
        };
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            SpoolInner::File { file: Some(f), .. } => f.flush(),
            _ => Ok(()),
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let SpoolInner::File { path, .. } = &self.inner
            && !path.as_os_str().is_empty()
        {
            let _ = fs::remove_file(path);
        }
    }
}

/// Writes `data` to `<dest>.tmp.<pid>.<counter>` and renames it to `dest`, creating parent
/// directories (Nix's `LocalBinaryCacheStore::upsertFile`).
pub(super) fn write_atomic(dest: &Path, data: &[u8]) -> Result<(), FsError> {
    if let Some(parent) = dest.parent() {
        crate::util::fs::create_dir_all(parent)?;
    }
    let mut tmp = dest.as_os_str().to_owned();
    tmp.push(format!(".tmp.{}", tmp_suffix()));
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()
    })();
    if let Err(io) = result {
        let _ = fs::remove_file(&tmp);
        return Err(FsError {
            action: "writing file",
            path: tmp,
            io,
        });
    }
    fs::rename(&tmp, dest).map_err(|io| {
        let _ = fs::remove_file(&tmp);
        FsError {
            action: "renaming file to",
            path: dest.to_owned(),
            io,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_spool_persists_or_vanishes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::file(dir.path().join("s1")).unwrap();
        s.write_all(b"abc").unwrap();
        assert_eq!(s.len(), 3);
        s.persist(&dir.path().join("final")).unwrap();
        assert_eq!(fs::read(dir.path().join("final")).unwrap(), b"abc");

        let mut s = Spool::file(dir.path().join("s2")).unwrap();
        s.write_all(b"xyz").unwrap();
        let mut r = s.into_reader().unwrap();
        let mut back = String::new();
        r.read_to_string(&mut back).unwrap();
        assert_eq!(back, "xyz");

        drop(Spool::file(dir.path().join("s3")).unwrap());
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["final"]);
    }

    #[test]
    fn memory_spool() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::memory();
        s.write_all(b"mem").unwrap();
        s.persist(&dir.path().join("a/b")).unwrap();
        assert_eq!(fs::read(dir.path().join("a/b")).unwrap(), b"mem");
    }
}
