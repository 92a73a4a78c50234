//! The process-wide interrupt flag (Nix's `_isInterrupted` and `checkInterrupt`, in the Nix
//! source's `src/libutil/signals.hh`), and the list of temporaries to remove if the process has
//! to leave without unwinding.
//!
//! SIGINT, SIGTERM and SIGHUP set the flag (the command line installs the signal thread, see
//! `cli::interrupt`). Long loops — downloads, unpacking, tree copies, NAR reads and writes,
//! waiting for a child process — call [`check`] and stop with [`Interrupted`]; the error then
//! unwinds to `main`, dropping (and so deleting) every temporary directory and file on the
//! way, and `main` prints Nix's `error: interrupted by the user` and exits with 1.
//!
//! A thread blocked where no check runs (a stalled connection, a lock held by another process)
//! cannot unwind. For that case every temporary that lives in a shared place (the store, a
//! registry's directory) is also listed here through a [`TempGuard`], and the signal thread
//! removes what is listed with [`remove_temporaries`] before it ends the process itself.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The flag, shared with the signal handlers that set it (`signal_hook::flag`).
static INTERRUPTED: std::sync::LazyLock<Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// Returns the flag itself, for signal handlers to set.
pub fn flag() -> Arc<AtomicBool> {
    Arc::clone(&INTERRUPTED)
}

/// The error of an operation stopped by SIGINT, SIGTERM or SIGHUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by the user")]
pub struct Interrupted;

impl From<Interrupted> for io::Error {
    fn from(e: Interrupted) -> io::Error {
        // Not `ErrorKind::Interrupted`: `read_exact`, `io::copy` and friends retry those.
        io::Error::other(e)
    }
}

/// Returns whether the process has been asked to stop.
pub fn is_interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Fails with [`Interrupted`] once the process has been asked to stop (Nix's
/// `checkInterrupt`). Cheap enough for every iteration of a loop: one relaxed atomic load.
pub fn check() -> Result<(), Interrupted> {
    if is_interrupted() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// [`check`] for code that reports `io::Error`s.
pub fn check_io() -> io::Result<()> {
    Ok(check()?)
}

/// Asks the process to stop: what the signal thread does on SIGINT, SIGTERM and SIGHUP.
pub fn trigger() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Returns whether `e` (or an error it wraps, also inside an `io::Error`) is [`Interrupted`].
pub fn is_interrupted_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let inner = err.downcast_ref::<io::Error>().and_then(|io| io.get_ref());
        if err.is::<Interrupted>() || inner.is_some_and(|i| i.is::<Interrupted>()) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Sleeps for `d`, waking up early with [`Interrupted`] when the process is asked to stop.
pub fn sleep(d: Duration) -> Result<(), Interrupted> {
    const SLICE: Duration = Duration::from_millis(20);
    let end = Instant::now() + d;
    loop {
        check()?;
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep(SLICE.min(end - now));
    }
}

/// How long a command has to stop by itself after the flag is set, once [`watch`] runs.
pub const GRACE: Duration = Duration::from_secs(3);

/// What the watchdog calls when the command did not stop within [`GRACE`] (set by the
/// command line: it removes the temporaries, prints Nix's message and exits).
static ON_STUCK: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets what [`watch`]'s watchdog calls when the command is stuck after a signal.
pub fn on_stuck(f: fn()) {
    let _ = ON_STUCK.set(f);
}

/// Starts (once per process) the watchdog that ends a command which does not stop within
/// [`GRACE`] of a signal. Called before the process may block where no [`check`] runs (on a
/// network connection, on another process's lock), so that commands which never block pay for
/// no thread.
pub fn watch() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("interrupt-watch".into())
            .stack_size(64 << 10)
            .spawn(|| {
                while !is_interrupted() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                std::thread::sleep(GRACE);
                if let Some(f) = ON_STUCK.get() {
                    f();
                }
            });
    });
}

/// Takes an exclusive `flock` on `file`; when another process holds it, starts the watchdog
/// first ([`watch`]): the wait may be long, and no [`check`] runs while it lasts.
pub fn lock_file(file: &std::fs::File) -> io::Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            watch();
            file.lock()
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

static NEXT_GUARD: AtomicU64 = AtomicU64::new(0);
static TEMPORARIES: Mutex<BTreeMap<u64, PathBuf>> = Mutex::new(BTreeMap::new());

fn temporaries() -> std::sync::MutexGuard<'static, BTreeMap<u64, PathBuf>> {
    TEMPORARIES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lists a temporary file or directory for [`remove_temporaries`] while it lives. The owner
/// still deletes it itself (on drop); the guard only covers a process that must end without
/// unwinding.
#[derive(Debug)]
pub struct TempGuard {
    id: u64,
}

impl TempGuard {
    /// Lists `path` until the guard is dropped.
    pub fn new(path: &Path) -> TempGuard {
        let id = NEXT_GUARD.fetch_add(1, Ordering::Relaxed);
        temporaries().insert(id, path.to_owned());
        TempGuard { id }
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        temporaries().remove(&self.id);
    }
}

/// Removes every listed temporary, whatever its permissions (store objects are read-only), and
/// empties the list. Errors are ignored: this is the last thing a process does.
pub fn remove_temporaries() {
    let paths: Vec<PathBuf> = std::mem::take(&mut *temporaries()).into_values().collect();
    for p in paths {
        let _ = super::fs::remove_tree(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupted_is_found_through_io_errors_and_chains() {
        let io: io::Error = Interrupted.into();
        assert_ne!(io.kind(), io::ErrorKind::Interrupted, "std would retry it");
        assert!(is_interrupted_error(&io));
        let other = io::Error::other("boom");
        assert!(!is_interrupted_error(&other));
        let any = anyhow::Error::new(io).context("downloading");
        assert!(any.chain().any(is_interrupted_error));
    }

    #[test]
    fn guards_list_and_unlist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listed");
        let guard = TempGuard::new(&path);
        // Other tests of this binary list temporaries concurrently: only ours are checked (and
        // nothing is removed here, which would remove theirs).
        assert!(temporaries().values().any(|p| p == &path));
        drop(guard);
        assert!(!temporaries().values().any(|p| p == &path));
    }

    #[test]
    fn sleep_wakes_up_when_interrupted() {
        assert_eq!(sleep(Duration::from_millis(1)), Ok(()));
    }
}
