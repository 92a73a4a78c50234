//! Writing NARs of trees on disk (`dumpPath` in the Nix source's `src/libutil/archive.cc`).
//!
//! Three things happen at once: a walker thread reads and sorts directories, which gives the
//! NAR's structure with a hole for each regular file ([`walk`]); loader threads open and read
//! the files in chunks ahead of the writer ([`load`]); and the writer fills the holes in order,
//! loading chunks itself when the next one is not ready ([`shared`]). Hashing (or writing) the
//! stream is the only serial work, so the NAR of a tree of many small files is produced at
//! close to the speed of sha256. [`copy_tree`] uses the same walk to copy the tree while
//! hashing its NAR, giving each object it creates its final metadata as it goes ([`meta`]):
//! files as soon as they are written, by the thread that wrote them, and directories once the
//! whole tree is there. No second pass over the copy is needed.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd as _, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};

use crate::hash::{Algo, Hash, Hasher};
use crate::store::nar::read::MAX_DEPTH;

mod load;
mod meta;
mod shared;
mod walk;

use load::{Chunk, Loaded, load, write_file};
use meta::Finish;
pub use meta::StoreMeta;
use shared::Shared;
use walk::{Walker, rio};

/// Errors while serialising a tree.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// An I/O error on `path`.
    #[error("{action} '{path}': {source}", source = crate::util::fs::strerror(source))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A FIFO, socket or device.
    #[error("file '{0}' has an unsupported type")]
    UnsupportedType(PathBuf),
    /// A file changed size while it was read.
    #[error("file '{0}' changed while it was being read")]
    Changed(PathBuf),
    /// Directories nested too deeply.
    #[error("path '{0}' exceeds maximum NAR directory depth of {MAX_DEPTH}")]
    TooDeep(PathBuf),
    /// Writing the NAR failed.
    #[error("writing the NAR: {0}")]
    Sink(io::Error),
    /// The process was asked to stop.
    #[error(transparent)]
    Interrupted(#[from] crate::util::interrupt::Interrupted),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DumpError + 'a {
    move |source| DumpError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Files up to this size are read whole by the workers; bigger ones are streamed by the
/// writer so memory stays bounded.
const SMALL_FILE: u64 = 256 * 1024;
/// How many files the workers may read ahead of the writer.
const WINDOW: usize = 256;
/// Chunk size for streaming big files.
const CHUNK: usize = 1 << 20;

/// Writes the NAR of `path` (not following a symlink at `path`) to `sink`.
pub fn dump(path: &Path, sink: &mut dyn Write) -> Result<(), DumpError> {
    run(path, None, None, false, sink).map(drop)
}

/// Returns what [`copy_tree`] would, without copying: the sha256 and size of the NAR of
/// `path` and the newest modification time in it, reading files in parallel.
pub fn hash_path_with_mtime(path: &Path) -> Result<Copied, DumpError> {
    let mut hasher = Hasher::new(Algo::Sha256);
    let walked = run(path, None, None, true, &mut hasher)?;
    let size = hasher.len();
    Ok(Copied {
        hash: hasher.finish(),
        size,
        newest_mtime: walked.newest_mtime,
    })
}

/// Returns the sha256 and size of the NAR of `path`, reading files in parallel.
pub fn hash_path(path: &Path) -> Result<(Hash, u64), DumpError> {
    let mut hasher = Hasher::new(Algo::Sha256);
    dump(path, &mut hasher)?;
    let size = hasher.len();
    Ok((hasher.finish(), size))
}

/// What [`copy_tree`] found out about the tree it copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The sha256 of the tree's NAR.
    pub hash: Hash,
    /// The size of the tree's NAR.
    pub size: u64,
    /// The largest modification time (seconds) of the source tree's objects, not following
    /// symlinks (the `lastModified` of a path input).
    pub newest_mtime: i64,
}

/// Copies the tree at `src` to `dest` (which must not exist), returning the sha256 and size of
/// its NAR and the newest modification time in it. Only what a NAR keeps is copied: contents,
/// the owner-execute bit, symlink targets. Every object created gets the metadata `meta`
/// describes: files mode 0444 (0555 if executable), directories 0555, all the same mtime and
/// no extended attributes but the kept ones.
///
/// The directory `dest` is created in must be new, made for this copy (a store's temporary
/// directory). When it lies inside `src` (a store inside the tree being added), the copy and
/// the NAR leave it out, as if the copy had been taken before that directory existed; so a
/// copy never walks into what it is writing.
pub fn copy_tree(src: &Path, dest: &Path, meta: &StoreMeta) -> Result<Copied, DumpError> {
    use std::os::unix::fs::MetadataExt as _;
    let mut hasher = Hasher::new(Algo::Sha256);
    let finish = Finish::new(meta).created_in(dest.parent());
    let skip = dest
        .parent()
        .and_then(|p| fs::symlink_metadata(p).ok())
        .map(|m| (m.dev(), m.ino()));
    let walked = run(src, Some((dest, &finish)), skip, true, &mut hasher)?;
    // Entries are all in place now, so the directories' times and modes are final.
    for dir in walked.dirs.iter().rev() {
        finish.dir(dir)?;
    }
    let size = hasher.len();
    Ok(Copied {
        hash: hasher.finish(),
        size,
        newest_mtime: walked.newest_mtime,
    })
}

/// What the walk leaves behind.
#[derive(Default)]
struct Walked {
    /// The directories a copy created, parents first.
    dirs: Vec<PathBuf>,
    /// The newest modification time seen (when asked for).
    newest_mtime: i64,
}

/// Walks `src` on one thread, loads files on worker threads and writes the NAR to `sink` on
/// this one, all at once; with `dest`, copies the tree there too. The directory `skip`
/// (device, inode) is left out wherever it is met.
fn run(
    src: &Path,
    dest: Option<(&Path, &Finish)>,
    skip: Option<(u64, u64)>,
    track_mtime: bool,
    sink: &mut dyn Write,
) -> Result<Walked, DumpError> {
    let shared = Shared::new(dest.map(|(_, f)| f), track_mtime);
    // The writer loads files too while it waits, so one worker fewer than cores.
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, 8)
        - 1;
    std::thread::scope(|s| {
        let walker = s.spawn(|| {
            let mut w = Walker {
                shared: &shared,
                ops: vec![Op::Bytes(Vec::new())],
                files: Vec::new(),
                skip,
                walked: Walked {
                    dirs: Vec::new(),
                    newest_mtime: i64::MIN,
                },
            };
            let result = w.walk(src, dest.map(|(d, _)| d));
            w.flush();
            shared.finish_walk(result.err());
            w.walked
        });
        for _ in 0..workers {
            s.spawn(|| shared.work());
        }
        let result = shared.consume(sink);
        shared.stop();
        let mut walked = walker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        walked.newest_mtime = walked
            .newest_mtime
            .max(shared.newest_mtime.load(Ordering::Relaxed));
        result.map(|()| walked)
    })
}

/// One step of the NAR stream: structural bytes, or the contents of the file with this index.
enum Op {
    Bytes(Vec<u8>),
    File(usize),
}

struct FileJob {
    /// The path, for messages (and for opening a root file).
    src: PathBuf,
    /// The directory it is in and its name there.
    at: Option<(Arc<OwnedFd>, CString)>,
    /// Where a copy goes (for messages, and for creating a root file).
    dest: Option<PathBuf>,
    /// The copy's directory, where it is created under the same name as in `at`.
    dest_dir: Option<Arc<OwnedFd>>,
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s);
    buf.resize(buf.len() + padding(s.len() as u64), 0);
}

fn padding(len: u64) -> usize {
    ((8 - len % 8) % 8) as usize
}
