//! Build directories: `<build-dir>/nix-build-<drv name>-<n>`, mode 0700, named as Nix 2.8
//! names them unsandboxed (spec E4.2 step 4), and reclaiming those of killed builds.
//!
//! Nix leaves the build directory of a killed build behind (`/tmp` is cleaned by the system).
//! rflake marks each of its build directories with a lock file beside it,
//! `nix-build-<drv name>-<n>.lock`, created exclusively before the directory and held locked
//! (`flock`) until the directory is gone; the first build of a process deletes the directories
//! whose lock nobody holds (their builder is dead), then their lock files, marked stale as the
//! store's path locks are. A directory without such a lock file (Nix's own) is never touched.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Error;
use crate::store::StorePath;

/// A build directory, whose lock file is removed (and lock released) on drop. The directory
/// itself is removed by [`BuildDir::remove`], or kept (`keep-failed`).
pub struct BuildDir {
    path: PathBuf,
    lock_path: PathBuf,
    lock: File,
}

fn lock_path_of(dir: &Path) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

fn io_error(action: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Other(format!(
        "{action} '{}': {}",
        path.display(),
        crate::util::fs::strerror(e)
    ))
}

impl BuildDir {
    /// Creates `<parent>/nix-build-<drv base name>-<n>` with the first free `n`, after
    /// reclaiming (the first time a process builds in `parent`) the build directories of dead
    /// builds there.
    pub fn create(parent: &Path, drv_path: &StorePath) -> Result<BuildDir, Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static RECLAIMED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
        {
            let mut done = RECLAIMED.lock().unwrap_or_else(|p| p.into_inner());
            if done.insert(parent.to_owned()) {
                reclaim(parent);
            }
        }
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!("nix-build-{}-{n}", drv_path.name()));
            let lock_path = lock_path_of(&path);
            let lock = match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock_path)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error("creating file", &lock_path, &e)),
            };
            // A reclaimer may have taken it between the creation and the lock: then it is
            // (or will be) gone, and another name is taken.
            if lock.try_lock().is_err() || !still_linked(&lock, &lock_path) {
                continue;
            }
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    return Ok(BuildDir {
                        path,
                        lock_path,
                        lock,
                    });
                }
                // Not ours (Nix's, or one whose lock file is gone): left alone.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let _ = std::fs::remove_file(&lock_path);
                    continue;
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&lock_path);
                    return Err(io_error("creating directory", &path, &e));
                }
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory and its contents.
    pub fn remove(&self) {
        let _ = crate::util::fs::remove_tree(&self.path);
    }
}

impl Drop for BuildDir {
    fn drop(&mut self) {
        // The lock file goes last: a directory with no lock file is never reclaimed.
        let _ = std::fs::remove_file(&self.lock_path);
        let _ = self.lock.write_all(b"d");
    }
}

/// Whether the open file `f` is still the one at `path` (not unlinked by a reclaimer).
fn still_linked(f: &File, path: &Path) -> bool {
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev() && a.len() == 0,
        _ => false,
    }
}

/// Deletes, in `parent`, every `nix-build-*` directory whose lock file nobody holds, and the
/// lock file. Returns how many lock files went. Failures are ignored (tried again next time).
pub fn reclaim(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut reclaimed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(dir_name) = name
            .to_str()
            .filter(|n| n.starts_with("nix-build-"))
            .and_then(|n| n.strip_suffix(".lock"))
        else {
            continue;
        };
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let lock_path = entry.path();
        let Ok(mut lock) = OpenOptions::new().append(true).open(&lock_path) else {
            continue;
        };
        if lock.try_lock().is_err() || !still_linked(&lock, &lock_path) {
            continue;
        }
        let dir = parent.join(dir_name);
        if crate::util::fs::remove_tree(&dir).is_ok() && std::fs::remove_file(&lock_path).is_ok() {
            let _ = lock.write_all(b"d");
            reclaimed += 1;
        }
    }
    reclaimed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_of_dead_builds_go_others_stay() {
        let parent = tempfile::tempdir().unwrap();
        let p = parent.path();
        let mk = |name: &str| {
            std::fs::create_dir_all(p.join(name).join("sub")).unwrap();
            std::fs::write(p.join(name).join("sub/f"), b"x").unwrap();
            p.join(name)
        };
        // A dead build's directory and lock file; a lock file alone; Nix's directory.
        let dead = mk("nix-build-a.drv-0");
        std::fs::write(p.join("nix-build-a.drv-0.lock"), b"").unwrap();
        std::fs::write(p.join("nix-build-b.drv-3.lock"), b"").unwrap();
        let nix = mk("nix-build-c.drv-0");
        // A live build: its lock is held.
        let drv = StorePath::from_base_name("110wni8ja3mn5bfyakpvaqmrjdb9b85p-d.drv").unwrap();
        let live = BuildDir::create(p, &drv).unwrap();
        assert!(live.path().is_dir());

        assert_eq!(reclaim(p), 0, "the creation reclaimed both already");
        assert!(!dead.exists());
        assert!(!p.join("nix-build-a.drv-0.lock").exists());
        assert!(!p.join("nix-build-b.drv-3.lock").exists());
        assert!(nix.exists() && live.path().exists());
        let live_path = live.path().to_owned();
        live.remove();
        drop(live);
        assert!(!live_path.exists() && !lock_path_of(&live_path).exists());
        let names: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("nix-build-c.drv-0")]);
    }
}
