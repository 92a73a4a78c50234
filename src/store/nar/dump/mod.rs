//! Writing NARs of trees on disk (`dumpPath` in the Nix source's `src/libutil/archive.cc`).
//!
//! Three things happen at once: a walker thread reads and sorts directories, which gives the
//! NAR's structure with a hole for each regular file ([`walk`]); loader threads open and read
//! the files in chunks ahead of the writer ([`load`]); and the writer fills the holes in order,
//! loading chunks itself when the next one is not ready ([`shared`]). Hashing (or writing) the
//! stream is the only serial work, so the NAR of a tree of many small files is produced at
//! close to the speed of sha256. [`copy_tree`] uses the same walk to copy the tree while
//! hashing its NAR.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd as _, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};

use crate::hash::{Algo, Hash, Hasher};
use crate::store::nar::read::MAX_DEPTH;

mod load;
mod shared;
mod walk;

use load::{Chunk, Loaded, load, write_file};
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
    run(path, None, sink)
}

/// Returns the sha256 and size of the NAR of `path`, reading files in parallel.
pub fn hash_path(path: &Path) -> Result<(Hash, u64), DumpError> {
    let mut hasher = Hasher::new(Algo::Sha256);
    dump(path, &mut hasher)?;
    let size = hasher.len();
    Ok((hasher.finish(), size))
}

/// Copies the tree at `src` to `dest` (which must not exist), returning the sha256 and size of
/// its NAR. Only what a NAR keeps is copied: contents, the owner-execute bit, symlink targets.
/// Files are created mode 0444 (0555 if executable) and directories 0755.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<(Hash, u64), DumpError> {
    let mut hasher = Hasher::new(Algo::Sha256);
    run(src, Some(dest), &mut hasher)?;
    let size = hasher.len();
    Ok((hasher.finish(), size))
}

/// Walks `src` on one thread, loads files on worker threads and writes the NAR to `sink` on
/// this one, all at once.
fn run(src: &Path, dest: Option<&Path>, sink: &mut dyn Write) -> Result<(), DumpError> {
    let shared = Shared::new();
    // The writer loads files too while it waits, so one worker fewer than cores.
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, 8)
        - 1;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut w = Walker {
                shared: &shared,
                ops: vec![Op::Bytes(Vec::new())],
                files: Vec::new(),
            };
            let result = w.walk(src, dest);
            w.flush();
            shared.finish_walk(result.err());
        });
        for _ in 0..workers {
            s.spawn(|| shared.work());
        }
        let result = shared.consume(sink);
        shared.stop();
        result
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
    dest: Option<PathBuf>,
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s);
    buf.resize(buf.len() + padding(s.len() as u64), 0);
}

fn padding(len: u64) -> usize {
    ((8 - len % 8) % 8) as usize
}
