//! Temporary GC roots: the paths this process is about to create, listed in
//! `<state>/temproots/<pid>` so that a concurrent garbage collector leaves them alone.
//!
//! Mirrors the Nix source's `src/libstore/gc.cc` (`createTempRootsFile`, `addTempRoot`): the
//! file is held under an exclusive `flock` for the life of the process (a collector that can
//! lock it knows the owner is dead); each root is appended as `<printed path>\0`. While a
//! collector runs it holds `gc.lock` exclusively, and roots are also sent to it through
//! `<state>/gc-socket/socket` (one line, acknowledged with the byte `1`).
//!
//! One file per process, shared by every [`super::LocalStore`] of the same state directory in
//! this process (Nix has one store object per process; two files named by the same pid would
//! clobber each other).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::Error;
use super::lock::open_lock_file;

/// The temporary roots file of this process for one state directory.
pub(super) struct TempRoots {
    path: PathBuf,
    state_dir: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    gc_lock: File,
    socket: Option<UnixStream>,
}

type Registry = Mutex<HashMap<PathBuf, Weak<TempRoots>>>;

impl TempRoots {
    /// Returns this process's temporary roots file for `state_dir`, creating it if needed.
    pub(super) fn for_state_dir(state_dir: &Path) -> Result<Arc<TempRoots>, Error> {
        static OPEN: OnceLock<Registry> = OnceLock::new();
        let mut open = OPEN
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = open.get(state_dir).and_then(Weak::upgrade) {
            return Ok(existing);
        }
        let path = state_dir
            .join("temproots")
            .join(std::process::id().to_string());
        let file = create_roots_file(&path)?;
        let gc_lock = open_lock_file(&state_dir.join("gc.lock"))?;
        let roots = Arc::new(TempRoots {
            path,
            state_dir: state_dir.to_owned(),
            inner: Mutex::new(Inner {
                file,
                gc_lock,
                socket: None,
            }),
        });
        open.insert(state_dir.to_owned(), Arc::downgrade(&roots));
        Ok(roots)
    }

    /// Registers `printed` (a full store path) as a temporary root.
    pub(super) fn add(&self, printed: &str) -> Result<(), Error> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let gc_lock_path = self.state_dir.join("gc.lock");
        loop {
            // A shared lock on gc.lock is only available while no collector runs.
            if inner.gc_lock.try_lock_shared().is_ok() {
                let written = inner.file.write_all(format!("{printed}\0").as_bytes());
                let _ = inner.gc_lock.unlock();
                return written.map_err(Error::io("writing file", &self.path));
            }
            if self.tell_collector(&mut inner, printed)? {
                return inner
                    .file
                    .write_all(format!("{printed}\0").as_bytes())
                    .map_err(Error::io("writing file", &self.path));
            }
            // The collector has exited or not yet opened its socket: wait for its lock.
            inner
                .gc_lock
                .lock_shared()
                .map_err(Error::io("acquiring lock", &gc_lock_path))?;
            let _ = inner.gc_lock.unlock();
        }
    }

    /// Sends a root to the running collector; `Ok(false)` if it cannot be reached.
    fn tell_collector(&self, inner: &mut Inner, printed: &str) -> Result<bool, Error> {
        let socket_path = self.state_dir.join("gc-socket/socket");
        if inner.socket.is_none() {
            match UnixStream::connect(&socket_path) {
                Ok(s) => inner.socket = Some(s),
                Err(_) => return Ok(false),
            }
        }
        let Some(socket) = inner.socket.as_mut() else {
            return Ok(false);
        };
        let mut ack = [0u8; 1];
        let sent = socket
            .write_all(format!("{printed}\n").as_bytes())
            .and_then(|()| socket.read_exact(&mut ack));
        match sent {
            Ok(()) => Ok(true),
            Err(_) => {
                inner.socket = None;
                Ok(false)
            }
        }
    }
}

impl Drop for TempRoots {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Creates `temproots/<pid>` and locks it exclusively. A leftover file of the same name must
/// be stale (pids are unique among running processes); a file found non-empty after locking
/// was deleted by a collector in between, so the loop starts over.
fn create_roots_file(path: &Path) -> Result<File, Error> {
    loop {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("deleting file", path)(e));
            }
            _ => {}
        }
        let file = open_lock_file(path)?;
        file.lock().map_err(Error::io("acquiring lock", path))?;
        let size = file
            .metadata()
            .map_err(Error::io("getting status of", path))?
            .len();
        if size == 0 {
            return Ok(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_appended_and_the_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("temproots")).unwrap();
        let roots = TempRoots::for_state_dir(dir.path()).unwrap();
        let same = TempRoots::for_state_dir(dir.path()).unwrap();
        assert!(Arc::ptr_eq(&roots, &same));
        roots.add("/nix/store/aaa-a").unwrap();
        same.add("/nix/store/bbb-b").unwrap();
        let file = dir
            .path()
            .join("temproots")
            .join(std::process::id().to_string());
        assert_eq!(
            std::fs::read(&file).unwrap(),
            b"/nix/store/aaa-a\0/nix/store/bbb-b\0"
        );
        // A collector cannot lock the file of a live process.
        assert!(File::open(&file).unwrap().try_lock().is_err());
        drop((roots, same));
        assert!(!file.exists());
    }
}
