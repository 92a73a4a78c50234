//! The worker threads that create an unpacked tree's files and symlinks while the archive is
//! read on (see [`super::tree`]), started only for archives of more than a few entries, and
//! the file helpers both use.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, mpsc};
use std::thread::Scope;

/// An entry for a worker to create.
pub enum Job {
    /// A regular file with its contents.
    File {
        /// Where.
        path: PathBuf,
        /// Whether the owner may execute it.
        executable: bool,
        /// The contents.
        data: Vec<u8>,
    },
    /// A symlink.
    Symlink {
        /// Where.
        path: PathBuf,
        /// The target, verbatim.
        target: Vec<u8>,
    },
}

impl Job {
    fn path(&self) -> &Path {
        match self {
            Job::File { path, .. } | Job::Symlink { path, .. } => path,
        }
    }

    fn run(&self) -> io::Result<()> {
        match self {
            Job::File {
                path,
                executable,
                data,
            } => {
                let mut f = create_file(path, *executable)?;
                f.write_all(data)
                    .map_err(|e| with_path(e, "writing to file", path))?;
                finish_file(&f, path)
            }
            Job::Symlink { path, target } => {
                std::os::unix::fs::symlink(OsStr::from_bytes(target), path)
                    .map_err(|e| with_path(e, "creating symlink", path))
            }
        }
    }
}

/// Small files and symlinks created on the reading thread before the workers are started:
/// most archives a fuzzer or a flake input brings hold a few, and starting eight threads for
/// them cost more than creating them (a fifth of the fuzzer's time went to context switches).
const INLINE_JOBS: usize = 16;

/// The workers' queues, started at the first job after `INLINE_JOBS`. All entries of one
/// directory go to the same worker: threads creating files in one directory only contend for
/// its lock (ext4 spins on it).
pub struct Queues<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    pending: &'env Pending,
    workers: usize,
    depth: usize,
    inline_left: usize,
    senders: Vec<mpsc::SyncSender<Job>>,
}

impl<'scope, 'env> Queues<'scope, 'env> {
    /// Queues for up to `workers` threads of `scope`, each with `depth` jobs waiting at most,
    /// counting their jobs in `pending`.
    pub fn new(
        scope: &'scope Scope<'scope, 'env>,
        pending: &'env Pending,
        workers: usize,
        depth: usize,
    ) -> Queues<'scope, 'env> {
        Queues {
            scope,
            pending,
            workers: workers.max(1),
            depth,
            inline_left: INLINE_JOBS,
            senders: Vec::new(),
        }
    }

    /// Creates `job` now or hands it to a worker; either way its result goes to `pending`,
    /// where [`Pending::add`] counted it.
    pub(super) fn send(&mut self, job: Job) -> anyhow::Result<()> {
        if self.senders.is_empty() {
            if self.inline_left > 0 {
                self.inline_left -= 1;
                self.pending.done(job.run());
                return Ok(());
            }
            for _ in 0..self.workers {
                let (tx, rx) = mpsc::sync_channel(self.depth);
                let pending = self.pending;
                self.scope.spawn(move || work(rx, pending));
                self.senders.push(tx);
            }
        }
        // FNV-1a of the parent directory.
        let parent = job.path().parent().unwrap_or(Path::new(""));
        let hash = parent
            .as_os_str()
            .as_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        let i = (hash % self.senders.len() as u64) as usize;
        self.senders[i]
            .send(job)
            .map_err(|_| anyhow::anyhow!("the file writers stopped"))
    }
}

/// Jobs handed to the workers and not finished yet, so that the builder can wait for them.
#[derive(Default)]
pub struct Pending {
    count: Mutex<u64>,
    idle: Condvar,
    failure: Mutex<Option<io::Error>>,
}

impl Pending {
    pub(super) fn add(&self) {
        if let Ok(mut c) = self.count.lock() {
            *c += 1;
        }
    }

    fn done(&self, result: io::Result<()>) {
        if let Err(e) = result
            && let Ok(mut f) = self.failure.lock()
        {
            f.get_or_insert(e);
        }
        if let Ok(mut c) = self.count.lock() {
            *c -= 1;
            if *c == 0 {
                self.idle.notify_all();
            }
        }
    }

    /// Waits until every job handed out so far is written; returns the first write error.
    pub(super) fn wait(&self) -> io::Result<()> {
        if let Ok(mut c) = self.count.lock() {
            while *c > 0 {
                c = match self.idle.wait(c) {
                    Ok(c) => c,
                    Err(_) => break,
                };
            }
        }
        match self.failure.lock().map(|mut f| f.take()) {
            Ok(Some(e)) => Err(e),
            _ => Ok(()),
        }
    }
}

/// Runs a worker: creates the entries it receives until its queue closes.
fn work(jobs: mpsc::Receiver<Job>, pending: &Pending) {
    for job in jobs {
        pending.done(job.run());
    }
}

/// Gives a written file the store's mtime now, so that canonicalising it later costs no write.
pub(super) fn finish_file(f: &fs::File, path: &Path) -> io::Result<()> {
    let one = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1);
    f.set_modified(one)
        .map_err(|e| with_path(e, "setting the time of", path))
}

pub(super) fn with_path(e: io::Error, action: &str, path: &Path) -> io::Error {
    let msg = format!(
        "{action} \"{}\": {}",
        path.display(),
        crate::util::fs::strerror(&e)
    );
    io::Error::new(e.kind(), msg)
}

pub(super) fn create_file(path: &Path, executable: bool) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .mode(if executable { 0o555 } else { 0o444 })
        .open(path)
        .map_err(|e| with_path(e, "creating file", path))
}
