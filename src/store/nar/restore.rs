//! Materialising a NAR on disk (`restorePath` in the Nix source's `src/libutil/archive.cc`).
//!
//! Every object is created fresh (`O_EXCL` for files, `mkdir`, `symlink`) under a directory
//! this restore created itself, and the parser has already refused names with `/`, `.` or
//! `..`; so a NAR can never write outside `dest` or through one of its own symlinks.
//!
//! The parser runs on the calling thread and creates directories and symlinks itself; small
//! files are read into memory and written by worker threads, so a NAR of many small files is
//! restored at close to the speed it is read. The workers start only when a NAR has more than
//! [`INLINE_FILES`] files: most NARs hold a few, and starting threads for them cost more than
//! writing them (a substituted closure of 500 one-file paths started 1,000 threads).

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};
use std::thread::Scope;

use super::read::{Entry, ParseError, Visitor, parse};

/// Errors while restoring.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The NAR is malformed or could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Writing a file failed.
    #[error("{0}")]
    Write(io::Error),
}

/// Files up to this size are handed to a worker thread.
const SMALL_FILE: u64 = 256 * 1024;

/// Small files written on the calling thread before the workers are started.
const INLINE_FILES: usize = 16;

/// Restores the NAR read from `reader` at `dest`, which must not exist. Files are created
/// mode 0444 (0555 if executable); symlinks are created, never followed.
pub fn restore(reader: &mut dyn Read, dest: &Path) -> Result<(), RestoreError> {
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, 4);
    let (tx, rx) = mpsc::sync_channel::<Job>(256);
    let pool = Pool {
        rx: Mutex::new(rx),
        failure: Mutex::new(None),
        workers,
    };
    let parsed = std::thread::scope(|s| {
        let mut v = Restorer {
            dest: dest.to_owned(),
            scope: s,
            pool: &pool,
            jobs: tx,
            inline_left: INLINE_FILES,
            started: false,
        };
        // Dropping the restorer closes the channel, so the workers finish.
        parse(reader, &mut v)
    });
    parsed?;
    match pool.failure.into_inner() {
        Ok(Some(e)) => Err(RestoreError::Write(e)),
        _ => Ok(()),
    }
}

/// What the file-writing workers share.
struct Pool {
    rx: Mutex<mpsc::Receiver<Job>>,
    failure: Mutex<Option<io::Error>>,
    workers: usize,
}

impl Pool {
    fn work(&self) {
        loop {
            let job = match self.rx.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return,
            };
            let Ok(job) = job else {
                return;
            };
            if let Err(e) = write_file(&job.path, job.executable, &job.data)
                && let Ok(mut f) = self.failure.lock()
            {
                f.get_or_insert(e);
            }
        }
    }
}

struct Job {
    path: PathBuf,
    executable: bool,
    data: Vec<u8>,
}

struct Restorer<'scope, 'env> {
    dest: PathBuf,
    scope: &'scope Scope<'scope, 'env>,
    pool: &'env Pool,
    jobs: mpsc::SyncSender<Job>,
    /// Small files still to be written on this thread.
    inline_left: usize,
    /// Whether the workers were started.
    started: bool,
}

fn context(e: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "{action} '{}': {}",
            path.display(),
            crate::util::fs::strerror(&e)
        ),
    )
}

fn create_file(path: &Path, executable: bool) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o555 } else { 0o444 })
        .open(path)
        .map_err(|e| context(e, "creating file", path))
}

fn write_file(path: &Path, executable: bool, data: &[u8]) -> io::Result<()> {
    create_file(path, executable)?
        .write_all(data)
        .map_err(|e| context(e, "writing to file", path))
}

impl Visitor for Restorer<'_, '_> {
    fn visit(&mut self, path: &[u8], entry: Entry<'_>) -> io::Result<()> {
        crate::util::interrupt::check_io()?;
        let target = if path.is_empty() {
            self.dest.clone()
        } else {
            self.dest.join(OsStr::from_bytes(path))
        };
        match entry {
            Entry::Directory => {
                fs::create_dir(&target).map_err(|e| context(e, "creating directory", &target))
            }
            Entry::Symlink { target: link } => {
                std::os::unix::fs::symlink(OsStr::from_bytes(link), &target)
                    .map_err(|e| context(e, "creating symlink", &target))
            }
            Entry::Regular {
                executable,
                size,
                contents,
            } if size <= SMALL_FILE => {
                let mut data = Vec::with_capacity(size as usize);
                contents.read_to_end(&mut data)?;
                if self.inline_left > 0 {
                    self.inline_left -= 1;
                    return write_file(&target, executable, &data);
                }
                if !self.started {
                    self.started = true;
                    let pool = self.pool;
                    for _ in 0..pool.workers {
                        self.scope.spawn(move || pool.work());
                    }
                }
                let job = Job {
                    path: target,
                    executable,
                    data,
                };
                self.jobs
                    .send(job)
                    .map_err(|_| io::Error::other("the file writers stopped"))
            }
            Entry::Regular {
                executable,
                contents,
                ..
            } => {
                let mut f = create_file(&target, executable)?;
                io::copy(contents, &mut f)?;
                Ok(())
            }
        }
    }
}
