//! Writing NARs of trees on disk (`dumpPath` in the Nix source's `src/libutil/archive.cc`).
//!
//! A tree is first walked (directories read and sorted, symlinks read), which gives the NAR's
//! structure with a hole for each regular file. Worker threads then open and read the files
//! ahead of the writer, which fills the holes in order. Hashing (or writing) the stream is the
//! only serial work, so the NAR of a tree of many small files is produced at close to the speed
//! of sha256. [`copy_tree`] uses the same walk to copy the tree while hashing its NAR.

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

use super::read::MAX_DEPTH;
use crate::hash::{Algo, Hash, Hasher};

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

/// The walk: produces the NAR's structure, with a hole per regular file, and hands it over in
/// batches.
///
/// Directories are opened once and their entries opened relative to them (`openat`), which
/// spares the kernel a path lookup per file.
struct Walker<'s> {
    shared: &'s Shared,
    ops: Vec<Op>,
    files: Vec<FileJob>,
}

/// How many files the walker collects before handing them over.
const FLUSH_FILES: usize = 64;

/// What a directory entry is, from its `d_type` (or `lstat` when the file system has none).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Symlink,
    Dir,
    Other,
}

impl From<fs::FileType> for Kind {
    fn from(ft: fs::FileType) -> Kind {
        if ft.is_file() {
            Kind::File
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Dir
        } else {
            Kind::Other
        }
    }
}

impl From<rfs::FileType> for Kind {
    fn from(ft: rfs::FileType) -> Kind {
        match ft {
            rfs::FileType::RegularFile => Kind::File,
            rfs::FileType::Symlink => Kind::Symlink,
            rfs::FileType::Directory => Kind::Dir,
            _ => Kind::Other,
        }
    }
}

/// Where an entry is: its directory's descriptor and its name there.
type At<'a> = Option<(&'a Arc<OwnedFd>, &'a CStr)>;

fn rio<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(rustix::io::Errno) -> DumpError + 'a {
    move |e| io_err(action, path)(io::Error::from(e))
}

impl Walker<'_> {
    fn walk(&mut self, src: &Path, dest: Option<&Path>) -> Result<(), DumpError> {
        self.tok(super::MAGIC.as_bytes());
        let meta = fs::symlink_metadata(src).map_err(io_err("getting status of", src))?;
        self.node(None, src, dest, meta.file_type().into(), 0)
    }

    fn flush(&mut self) {
        self.shared.push(
            std::mem::take(&mut self.ops),
            std::mem::take(&mut self.files),
        );
    }

    fn tok(&mut self, s: &[u8]) {
        if let Some(Op::Bytes(b)) = self.ops.last_mut() {
            put_str(b, s);
        } else {
            let mut b = Vec::new();
            put_str(&mut b, s);
            self.ops.push(Op::Bytes(b));
        }
    }

    fn node(
        &mut self,
        at: At<'_>,
        src: &Path,
        dest: Option<&Path>,
        kind: Kind,
        depth: usize,
    ) -> Result<(), DumpError> {
        self.tok(b"(");
        self.tok(b"type");
        match kind {
            Kind::File => {
                self.tok(b"regular");
                self.ops.push(Op::File(usize::MAX));
                self.files.push(FileJob {
                    src: src.to_owned(),
                    at: at.map(|(d, n)| (Arc::clone(d), n.to_owned())),
                    dest: dest.map(Path::to_owned),
                });
                if self.files.len() >= FLUSH_FILES {
                    self.flush();
                }
            }
            Kind::Symlink => {
                let target = match at {
                    Some((dir, name)) => {
                        let t = rfs::readlinkat(dir.as_fd(), name, Vec::new())
                            .map_err(rio("reading symbolic link", src))?;
                        PathBuf::from(std::ffi::OsString::from_vec(t.into_bytes()))
                    }
                    None => fs::read_link(src).map_err(io_err("reading symbolic link", src))?,
                };
                self.tok(b"symlink");
                self.tok(b"target");
                self.tok(target.as_os_str().as_bytes());
                if let Some(d) = dest {
                    std::os::unix::fs::symlink(&target, d)
                        .map_err(io_err("creating symlink", d))?;
                }
            }
            Kind::Dir => {
                if depth > MAX_DEPTH {
                    return Err(DumpError::TooDeep(src.to_owned()));
                }
                self.tok(b"directory");
                if let Some(d) = dest {
                    fs::create_dir(d).map_err(io_err("creating directory", d))?;
                }
                self.directory(at, src, dest, depth)?;
            }
            Kind::Other => return Err(DumpError::UnsupportedType(src.to_owned())),
        }
        self.tok(b")");
        Ok(())
    }

    fn directory(
        &mut self,
        at: At<'_>,
        src: &Path,
        dest: Option<&Path>,
        depth: usize,
    ) -> Result<(), DumpError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match at {
            Some((dir, name)) => rfs::openat(dir.as_fd(), name, flags, Mode::empty()),
            None => rfs::open(src, flags, Mode::empty()),
        }
        .map_err(rio("opening directory", src))?;
        let fd = Arc::new(fd);
        let mut entries = Vec::new();
        let dir = rfs::Dir::read_from(fd.as_fd()).map_err(rio("opening directory", src))?;
        for e in dir {
            let e = e.map_err(rio("reading directory", src))?;
            let name = e.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let mut kind = Kind::from(e.file_type());
            if e.file_type() == rfs::FileType::Unknown {
                let st = rfs::statat(fd.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(rio("getting status of", src))?;
                kind = rfs::FileType::from_raw_mode(st.st_mode).into();
            }
            entries.push((name.to_owned(), kind));
        }
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (name, kind) in entries {
            let os_name = OsStr::from_bytes(name.as_bytes());
            self.tok(b"entry");
            self.tok(b"(");
            self.tok(b"name");
            self.tok(name.as_bytes());
            self.tok(b"node");
            let child_dest = dest.map(|d| d.join(os_name));
            let child = src.join(os_name);
            self.node(
                Some((&fd, &name)),
                &child,
                child_dest.as_deref(),
                kind,
                depth + 1,
            )?;
            self.tok(b")");
        }
        Ok(())
    }
}

/// A file opened by a worker: its bytes if small, else the open file to stream.
struct Loaded {
    job: FileJob,
    executable: bool,
    size: u64,
    /// Where a small file's bytes are in its chunk's buffer.
    data: Option<std::ops::Range<usize>>,
    file: Option<File>,
    out: Option<File>,
}

/// Files loaded by one worker in one go: small files' bytes are concatenated in `buf`, which
/// goes back to a pool when the writer is done with it, so steady state allocates nothing.
struct Chunk {
    buf: Vec<u8>,
    files: Vec<Result<Loaded, DumpError>>,
}

fn write_file(
    l: Loaded,
    chunk_buf: &[u8],
    stream_buf: &mut [u8],
    sink: &mut dyn Write,
) -> Result<(), DumpError> {
    let job = &l.job;
    let mut head = Vec::with_capacity(64);
    if l.executable {
        put_str(&mut head, b"executable");
        put_str(&mut head, b"");
    }
    put_str(&mut head, b"contents");
    head.extend_from_slice(&l.size.to_le_bytes());
    sink.write_all(&head).map_err(DumpError::Sink)?;
    if let Some(range) = l.data {
        sink.write_all(&chunk_buf[range]).map_err(DumpError::Sink)?;
    } else if let Some(mut file) = l.file {
        let mut out = l.out;
        let buf = stream_buf;
        let mut total = 0u64;
        loop {
            let n = file.read(buf).map_err(io_err("reading file", &job.src))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > l.size {
                return Err(DumpError::Changed(job.src.clone()));
            }
            sink.write_all(&buf[..n]).map_err(DumpError::Sink)?;
            if let (Some(o), Some(d)) = (out.as_mut(), job.dest.as_deref()) {
                o.write_all(&buf[..n])
                    .map_err(io_err("writing to file", d))?;
            }
        }
        if total != l.size {
            return Err(DumpError::Changed(job.src.clone()));
        }
    }
    let pad = [0u8; 8];
    sink.write_all(&pad[..padding(l.size)])
        .map_err(DumpError::Sink)
}

/// Opens (and, if small, reads) a file; when copying, creates the destination and writes the
/// small file's bytes to it.
fn load(job: FileJob, buf: &mut Vec<u8>) -> Result<Loaded, DumpError> {
    let mut file = match &job.at {
        Some((dir, name)) => {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            File::from(
                rfs::openat(dir.as_fd(), name.as_c_str(), flags, Mode::empty())
                    .map_err(rio("opening file", &job.src))?,
            )
        }
        None => File::open(&job.src).map_err(io_err("opening file", &job.src))?,
    };
    // Plain `fstat`: cheaper than the `statx` behind `File::metadata`.
    let st = rfs::fstat(&file).map_err(rio("getting status of", &job.src))?;
    let executable = st.st_mode & 0o100 != 0;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let out = match &job.dest {
        Some(d) => Some(
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if executable { 0o555 } else { 0o444 })
                .open(d)
                .map_err(io_err("creating file", d))?,
        ),
        None => None,
    };
    if size > SMALL_FILE {
        return Ok(Loaded {
            job,
            executable,
            size,
            data: None,
            file: Some(file),
            out,
        });
    }
    // Exactly the size `fstat` gave, as Nix does: a file that shrinks fails, one that grows
    // is cut at its size at open.
    // (`take` stops at the size without another read, and reading into spare capacity
    // avoids zeroing the buffer first.)
    let start = buf.len();
    buf.reserve(size as usize);
    (&mut file)
        .take(size)
        .read_to_end(buf)
        .map_err(io_err("reading file", &job.src))?;
    if (buf.len() - start) as u64 != size {
        return Err(DumpError::Changed(job.src.clone()));
    }
    if let (Some(mut o), Some(d)) = (out, job.dest.as_deref()) {
        o.write_all(&buf[start..])
            .map_err(io_err("writing to file", d))?;
    }
    Ok(Loaded {
        job,
        executable,
        size,
        data: Some(start..buf.len()),
        file: None,
        out: None,
    })
}

/// What the walker, the workers and the writer share. Files go from the workers to the writer
/// in chunks of [`CHUNK_FILES`] (so threads synchronise once per chunk, not once per file), at
/// most [`WINDOW`] files ahead of the writer.
struct Shared {
    state: Mutex<State>,
    /// Signalled when the writer may have something new: ops, or a loaded chunk.
    ready: Condvar,
    /// Signalled when workers may have something new: files to load, or room in the window.
    work: Condvar,
}

/// The initial capacity of a chunk's buffer, so that it rarely grows.
const CHUNK_BUF: usize = 1 << 20;

/// The outcome of trying to claim a chunk.
enum Claim {
    Got(usize, Vec<FileJob>, Vec<u8>),
    Wait,
    Finished,
}

/// How many consecutive files a worker loads before handing them over.
const CHUNK_FILES: usize = 32;

struct State {
    ops: Vec<Op>,
    files: Vec<Option<FileJob>>,
    walk_done: bool,
    walk_error: Option<DumpError>,
    next_chunk: usize,
    taken_chunks: usize,
    stopped: bool,
    done: HashMap<usize, Chunk>,
    pool: Vec<Vec<u8>>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            state: Mutex::new(State {
                ops: Vec::new(),
                files: Vec::new(),
                walk_done: false,
                walk_error: None,
                next_chunk: 0,
                taken_chunks: 0,
                stopped: false,
                done: HashMap::new(),
                pool: Vec::new(),
            }),
            ready: Condvar::new(),
            work: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(
        cv: &Condvar,
        g: std::sync::MutexGuard<'a, State>,
    ) -> std::sync::MutexGuard<'a, State> {
        cv.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a batch of the walk over, numbering its files.
    fn push(&self, mut ops: Vec<Op>, files: Vec<FileJob>) {
        let mut st = self.lock();
        let mut index = st.files.len();
        for op in &mut ops {
            if let Op::File(i) = op {
                *i = index;
                index += 1;
            }
        }
        st.ops.append(&mut ops);
        st.files.extend(files.into_iter().map(Some));
        drop(st);
        self.ready.notify_all();
        self.work.notify_all();
    }

    fn finish_walk(&self, error: Option<DumpError>) {
        let mut st = self.lock();
        st.walk_done = true;
        st.walk_error = error;
        drop(st);
        self.ready.notify_all();
        self.work.notify_all();
    }

    /// Claims the next chunk of files to load, if one is ready and within the window.
    fn claim(st: &mut State) -> Claim {
        if st.stopped {
            return Claim::Finished;
        }
        let start = st.next_chunk * CHUNK_FILES;
        if st.walk_done && st.files.len() <= start {
            return Claim::Finished;
        }
        let available =
            st.files.len() >= start + CHUNK_FILES || (st.walk_done && st.files.len() > start);
        if !available || st.next_chunk >= st.taken_chunks + WINDOW / CHUNK_FILES {
            return Claim::Wait;
        }
        let c = st.next_chunk;
        st.next_chunk += 1;
        let end = st.files.len().min((c + 1) * CHUNK_FILES);
        let jobs = st.files[start..end]
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        let buf = st
            .pool
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK_BUF));
        Claim::Got(c, jobs, buf)
    }

    /// Loads a claimed chunk and hands it to the writer.
    fn load_chunk(&self, c: usize, jobs: Vec<FileJob>, mut buf: Vec<u8>) {
        buf.clear();
        let files = jobs.into_iter().map(|j| load(j, &mut buf)).collect();
        self.lock().done.insert(c, Chunk { buf, files });
        self.ready.notify_all();
    }

    /// Loads chunks of files until there are none left.
    fn work(&self) {
        loop {
            let claim = {
                let mut st = self.lock();
                loop {
                    match Self::claim(&mut st) {
                        Claim::Wait => st = Self::wait(&self.work, st),
                        other => break other,
                    }
                }
            };
            match claim {
                Claim::Got(c, jobs, buf) => self.load_chunk(c, jobs, buf),
                Claim::Wait | Claim::Finished => return,
            }
        }
    }

    /// Writes the NAR: the walk's structure with each file's contents in its place.
    fn consume(&self, sink: &mut dyn Write) -> Result<(), DumpError> {
        let mut files: std::vec::IntoIter<Result<Loaded, DumpError>> = Vec::new().into_iter();
        let mut chunk_buf = Vec::new();
        let mut stream_buf = vec![0u8; CHUNK];
        loop {
            let ops = {
                let mut st = self.lock();
                loop {
                    if let Some(e) = st.walk_error.take() {
                        return Err(e);
                    }
                    if !st.ops.is_empty() {
                        break std::mem::take(&mut st.ops);
                    }
                    if st.walk_done {
                        return Ok(());
                    }
                    st = Self::wait(&self.ready, st);
                }
            };
            for op in ops {
                match op {
                    Op::Bytes(b) => sink.write_all(&b).map_err(DumpError::Sink)?,
                    Op::File(i) => {
                        if i.is_multiple_of(CHUNK_FILES) {
                            let next = self.take_chunk(i / CHUNK_FILES);
                            let done = std::mem::replace(&mut chunk_buf, next.buf);
                            self.lock().pool.push(done);
                            files = next.files.into_iter();
                        }
                        let loaded = files
                            .next()
                            .expect("files are taken in order, one chunk at a time")?;
                        write_file(loaded, &chunk_buf, &mut stream_buf, sink)?;
                    }
                }
            }
        }
    }

    /// Returns chunk `c`; while it is not ready, the writer loads chunks itself rather than
    /// sleep (fewer context switches, and one more loader when loading is the bottleneck).
    fn take_chunk(&self, c: usize) -> Chunk {
        let mut st = self.lock();
        loop {
            if let Some(chunk) = st.done.remove(&c) {
                st.taken_chunks = c + 1;
                drop(st);
                self.work.notify_all();
                return chunk;
            }
            match Self::claim(&mut st) {
                Claim::Got(k, jobs, buf) => {
                    drop(st);
                    self.load_chunk(k, jobs, buf);
                    st = self.lock();
                }
                Claim::Wait | Claim::Finished => st = Self::wait(&self.ready, st),
            }
        }
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.work.notify_all();
    }
}
